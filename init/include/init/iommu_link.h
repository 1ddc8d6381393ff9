/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task registers the IOMMU server's clients (init/src/iommu_link.c): the device a
 * driver may attach and the notification its DMA faults are signalled on. See
 * <iommu/protocol.h> (IOMMU_ROOT_METHODS) for the protocol and docs/iommu-server.md for the design.
 */
#ifndef INIT_IOMMU_LINK_H
#define INIT_IOMMU_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include <portcullis/types.h>

/*
 * Note client `badge` of task `task` (id): PCI function `sid` (-1: none) and a notification in
 * root-CNode slot `ntfn` (0: none; the link takes it over). False when the table is full or the
 * badge is not a client badge.
 */
bool iommu_link_note(unsigned task, uint64_t badge, int sid, pc_cptr_t ntfn);
/*
 * Note memory [pa, pa + size) (IOMMU_READ | IOMMU_WRITE `rights`) for the client noted for task
 * `task`: granted with grant_memory right after its registration. *index = the grant index the
 * server will give it (grants of a fresh client are numbered from 0 in order; the link checks the
 * answer). False when the task has no client note or too many pools.
 */
bool iommu_link_pool(unsigned task, uint64_t pa, uint64_t size, unsigned rights, unsigned *index);
/*
 * Note a remapped-interrupt vector for the device of the client noted for task `task` (the
 * root task holds the IRQ handler for `vector`): granted with irq_grant after the client's
 * registration. *index = the vector grant index the client's irq_alloc will name (numbered from
 * 0 in order; the link checks the answer). False without a client note with a device, or when
 * the task has too many.
 */
bool iommu_link_vector(unsigned task, unsigned vector, unsigned *index);
/* Note that hotplug port `sid` gets its interrupt on `vector` (granted to the hotplug badge;
 * the hotplug server's port_irq writes the entry). False when the table is full. */
bool iommu_link_port_vector(uint16_t sid, unsigned vector);
/* An I/O APIC line (the root task's copy of its IRQHandler, taken over by the link; its vector
 * and ISA IRQ): once the server runs it writes an entry for the I/O APIC's source-id and the
 * line is moved to the remappable format (IRQHandler_SetRemap). False when the table is full. */
bool iommu_link_ioapic_line(pc_cptr_t handler, unsigned vector, unsigned irq);
/* The boot modules include an IOMMU server (role=iommu): device interrupts are then remapped.
 * Said once before the first module is built. */
void iommu_link_expect_server(void);
bool iommu_link_server_expected(void);

/*
 * Register every noted client not registered yet with the running IOMMU server: once after all
 * boot modules started, and again after a task is built at run time (a driver for a hot-added
 * device). The server never calls the root task, so this call cannot deadlock.
 */
void iommu_link_send(void);
/*
 * Task `task` is being torn down: if it was registered, client_remove at the IOMMU server
 * (returns once the server let go of everything of that client); its note is dropped. True
 * if there was nothing to remove or the server removed it.
 */
bool iommu_link_remove(unsigned task);

/*
 * Revocation (docs/iommu-server.md "Revocation"): what the root task granted task `task`'s client
 * it takes back. Each returns once the server answered, and is true only when the server
 * confirmed that nothing of it is reachable by the client's devices any more: only then may the
 * root task revoke the kernel capabilities of that memory and reuse it.
 *   revoke_memory: memory grant `grant` (a DMA pool); *pins_left (may be NULL) = mappings whose
 *     invalidation was not confirmed (not 0: keep the memory out of use, call again later).
 *   revoke_frames: physical memory [pa, pa + size) the client mapped through frame capabilities
 *     (its own RAM grant); *pins_left as above; a later map of a frame in it is refused.
 *   revoke_device: PCI function `sid`: detached (blocked and flushed), its interrupts and PASIDs
 *     gone, its grant dropped; another client may be granted it afterwards.
 * Every call prints one line "init: revoke: ...".
 */
bool iommu_link_revoke_memory(unsigned task, unsigned grant, uint64_t *pins_left);
/* The first DMA pool of task `task` the server accepted (grant_memory) and no confirmed
 * revoke_memory took back: its grant index at the server and its physical range. False if none.
 * A pool whose revocation was confirmed is noted as the root task's again. */
bool iommu_link_pool_granted(unsigned task, unsigned *grant, uint64_t *pa, uint64_t *size);
bool iommu_link_revoke_frames(unsigned task, uint64_t pa, uint64_t size, uint64_t *pins_left);
bool iommu_link_revoke_device(unsigned task, uint16_t sid);

#endif /* INIT_IOMMU_LINK_H */
