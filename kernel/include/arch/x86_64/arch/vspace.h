/* SPDX-License-Identifier: BSD-2-Clause */
/* x86_64 4-level paging: entry formats (SDM Vol. 3 4.5) and the kernel's address-space setup. */
#ifndef ARCH_VSPACE_H
#define ARCH_VSPACE_H

#include <kernel/memmap.h>
#include <kernel/object.h>

#define PTE_P (1ull << 0)   /* Present */
#define PTE_RW (1ull << 1)  /* Read/Write */
#define PTE_US (1ull << 2)  /* User/Supervisor */
#define PTE_PWT (1ull << 3) /* Page Write-Through */
#define PTE_PCD (1ull << 4) /* Page Cache Disable */
#define PTE_PS (1ull << 7)  /* Page Size (2 MiB / 1 GiB leaf) */
#define PTE_G (1ull << 8)   /* Global */
#define PTE_NX (1ull << 63) /* Execute Disable */
#define PTE_ADDR 0x000FFFFFFFFFF000ull

/* Build the kernel's page tables (direct map of 0..16 GiB, WB where `ram` covers a 2 MiB chunk,
 * UC elsewhere; the kernel image) and switch to them. */
void k_vspace_boot_init(const k_memmap_t *ram);
/* Map a 4 KiB page into a boot-time address space, allocating tables from `alloc`. */
void k_vspace_boot_map(uint64_t *pml4, uint64_t va, uint64_t pa, uint64_t flags,
                       uint64_t (*alloc)(void));
/* Existing leaf entry for va in a boot-time address space, or NULL. */
uint64_t *k_vspace_boot_lookup(uint64_t *pml4, uint64_t va);

#endif
