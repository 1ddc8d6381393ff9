/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The address-space layout the root task gives every task it starts. Fixed addresses, so that a
 * task knows which part of its own address space it may use for mappings it makes itself.
 *
 *   [TASK_ELF_MIN, TASK_ELF_MAX)            the program's segments (checked by the loader)
 *   [TASK_SELF_MIN, TASK_SELF_MAX)          never touched by the root task: the task's own mappings
 *   [TASK_DEVICE_VADDR, +TASK_DEVICE_SPAN)  device regions granted by policy (MMIO, uncached)
 *   TASK_START_INFO_VADDR                   the start information page (read-only)
 *   TASK_IPC_BUFFER_VADDR                   the initial thread's IPC buffer
 */
#ifndef TASK_LAYOUT_H
#define TASK_LAYOUT_H

#define TASK_ELF_MIN 0x0000000000400000ull
#define TASK_ELF_MAX 0x0000010000000000ull /* 1 TiB */
#define TASK_SELF_MIN 0x0000100000000000ull
#define TASK_SELF_MAX 0x0000200000000000ull
#define TASK_DEVICE_VADDR 0x00007e0000000000ull
#define TASK_DEVICE_SPAN 0x0000008000000000ull /* 512 GiB */
#define TASK_START_INFO_VADDR 0x00007f0000000000ull
#define TASK_IPC_BUFFER_VADDR 0x00007f0000010000ull

#endif /* TASK_LAYOUT_H */
