/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Boot information handed to the root task. The kernel writes it into frames mapped read-only in
 * the root task's address space and passes its address in rdi at entry (crt0 stores it into
 * __pc_start_arg). It lists every capability the root task starts with: its own TCB, CNode,
 * VSpace, IPC buffer and boot-info frames, IRQControl, the full I/O port range, and one Untyped
 * capability per block of RAM and of device memory. Everything else is built from those.
 */
#ifndef PORTCULLIS_BOOTINFO_H
#define PORTCULLIS_BOOTINFO_H

#include <portcullis/types.h>

#define PC_BOOTINFO_MAGIC 0x6f666e49746f6f42ull /* "BootInfo" */
#define PC_BOOTINFO_VERSION 1

/* Fixed initial slots in the root task's CNode. Slot 0 is always empty. */
enum pc_root_slot {
    PC_SLOT_NULL = 0,
    PC_SLOT_TCB = 1,    /* the root task's thread */
    PC_SLOT_CNODE = 2,  /* its root CNode (2^PC_ROOT_CNODE_BITS slots) */
    PC_SLOT_VSPACE = 3, /* its PML4 */
    PC_SLOT_IRQ_CONTROL = 4,
    PC_SLOT_IOPORT = 5,         /* ports 0..0xffff */
    PC_SLOT_BOOTINFO_FRAME = 6, /* first frame of the boot information (read-only) */
    PC_SLOT_IPC_BUFFER = 7,     /* the root thread's IPC buffer frame */
    PC_SLOT_FIRST_UNTYPED = 8,  /* untyped caps follow, in bootinfo->untyped[] order */
};

#define PC_ROOT_CNODE_BITS 12
#define PC_BOOTINFO_MAX_UNTYPED 192
#define PC_BOOTINFO_MAX_MODULES 16
#define PC_BOOTINFO_CMDLINE_MAX 256
#define PC_BOOTINFO_MODULE_NAME_MAX 112

typedef struct pc_bootinfo_untyped {
    uint64_t paddr;
    uint8_t size_bits;
    uint8_t is_device; /* device memory: can only be retyped into frames; never zeroed */
    uint16_t reserved;
    uint32_t slot; /* cptr in the root CNode */
} pc_bootinfo_untyped_t;
_Static_assert(sizeof(pc_bootinfo_untyped_t) == 16, "pc_bootinfo_untyped_t layout");

/*
 * A boot module (QEMU -initrd "a.elf args,b.elf"): module 0 is the root task itself; the others
 * are mapped read-only, contiguously, at [vaddr, vaddr + size) in the root task's address space.
 * cmdline is the module's string ("b.elf args"), NUL-terminated and truncated to fit.
 */
typedef struct pc_bootinfo_module {
    uint64_t vaddr;
    uint64_t size;
    char cmdline[PC_BOOTINFO_MODULE_NAME_MAX];
} pc_bootinfo_module_t;
_Static_assert(sizeof(pc_bootinfo_module_t) == 128, "pc_bootinfo_module_t layout");

typedef struct pc_bootinfo {
    uint64_t magic;            /* PC_BOOTINFO_MAGIC */
    uint32_t version;          /* PC_BOOTINFO_VERSION */
    uint32_t size;             /* sizeof(pc_bootinfo_t) */
    uint64_t tsc_hz;           /* calibrated TSC frequency */
    uint64_t rsdp_paddr;       /* ACPI RSDP physical address, 0 if not found */
    uint64_t ipc_buffer_vaddr; /* the root thread's IPC buffer */
    uint32_t num_cpus;         /* CPUs the kernel runs on (1) */
    uint32_t cnode_size_bits;  /* PC_ROOT_CNODE_BITS */
    uint32_t first_free_slot;  /* first empty slot in the root CNode ... */
    uint32_t end_free_slot;    /* ... up to (excluding) this one */
    uint32_t untyped_count;
    uint32_t module_count;
    uint64_t timer_hz; /* preemption tick rate */
    uint64_t reserved[4];
    char cmdline[PC_BOOTINFO_CMDLINE_MAX]; /* kernel command line (QEMU -append) */
    pc_bootinfo_module_t module[PC_BOOTINFO_MAX_MODULES];
    pc_bootinfo_untyped_t untyped[PC_BOOTINFO_MAX_UNTYPED];
} pc_bootinfo_t;

#define PC_BOOTINFO_PAGES 2
_Static_assert(sizeof(pc_bootinfo_t) <= PC_BOOTINFO_PAGES * 4096, "boot info fits its frames");

/* Fixed user addresses of the root task's boot-time mappings. */
#define PC_ROOT_BOOTINFO_VADDR 0x00007f0000000000ull
#define PC_ROOT_IPC_BUFFER_VADDR 0x00007f0000010000ull
#define PC_ROOT_STACK_TOP 0x00007f0000200000ull /* rsp at entry: 16-byte aligned */
#define PC_ROOT_STACK_SIZE 0x40000ull           /* 256 KiB, guard page below */
#define PC_ROOT_MODULES_VADDR 0x00007e0000000000ull

#endif /* PORTCULLIS_BOOTINFO_H */
