/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task's side of the IOMMU server: the badges on the server's one endpoint and the
 * small protocol through which the root task hands the server its policy decisions. Policy
 * (which device and which memory belong to which driver) stays in the root task; the server
 * only records it. A driver's "device capability" is therefore the pair (its badge, a
 * source-id) that the root task registered here: the client protocol's attach refuses any
 * source-id the root task did not grant to that badge.
 *
 * Badges: the root task mints every copy of the server's endpoint. Drivers get
 * IOMMU_SRV_BADGE_CLIENT_BASE | task id, the hotplug server IOMMU_SRV_BADGE_HOTPLUG, and only
 * the root task holds IOMMU_SRV_BADGE_ROOT. The server answers the root protocol for the root
 * badge only, the hotplug protocol (libiommu) for the hotplug badge only, and the client
 * protocol for registered client badges only.
 *
 * The root protocol is declared once here (X-macro) like libiommu's; errors are enum iommu_err
 * values (sent as the reply label).
 */
#ifndef IOMMU_SRV_ROOT_H
#define IOMMU_SRV_ROOT_H

#include <stdint.h>

#define IOMMU_SRV_BADGE_CLIENT_BASE 0x10000ull /* | task id: one client per driver task */
#define IOMMU_SRV_BADGE_HOTPLUG 0x40000000ull  /* the hotplug server */
#define IOMMU_SRV_BADGE_ROOT 0x80000000ull     /* the root task */

/* A client badge the root task may register: the client range, not a system badge. */
static inline int iommu_srv_badge_is_client(uint64_t badge)
{
    return (badge & ~0xffffull) == IOMMU_SRV_BADGE_CLIENT_BASE && (badge & 0xffffull) != 0;
}

#define IOMMU_SRV_NO_SID 0xffffffffull

/*
 * R(NAME, label, nargs, ncaps, doc). Arguments are message words in the order the doc gives.
 *
 * client_add(badge, sid, notify): register client `badge` (a client badge) with one domain on the
 *   unit covering `sid` (IOMMU_SRV_NO_SID: unit 0) and grant it device `sid`. One capability:
 *   a notification the server signals when a fault of the client's devices is waiting
 *   (optional: without it the client has to poll fault_read). Errors: BAD_MSG, BAD_ARG (not a
 *   client badge, sid > 0xffff, already registered), NO_SLOTS, NO_MEMORY, UNIT.
 * grant_device(badge, sid): grant one more device to a registered client. Errors: BAD_MSG,
 *   BAD_ARG, NO_SLOTS, UNIT.
 * grant_memory(badge, pa, size, rights): memory the root task gave the client (physically
 *   contiguous, 4 KiB aligned); result word 0 = the grant index `map` names it by. Errors:
 *   BAD_MSG, BAD_ARG, ALIGN, RANGE, RIGHTS, NO_SLOTS.
 * client_remove(badge): the client's task is being torn down (its threads are stopped). The
 *   server detaches every device of the client (blocked and flushed at the hardware first),
 *   unmaps all its mappings strictly, unbinds its PASIDs, releases its pins, destroys its domain,
 *   withdraws its memory grants and drops its fault notification, all before it replies: once
 *   the reply is in, no device can reach the client's memory and the root task may reuse it.
 *   Errors: BAD_MSG, BAD_ARG (not a registered client badge); any other error is the first
 *   failure of a detach or unmap (the client is removed all the same; stuck pins stay with the
 *   server).
 * irq_grant(badge, sid, vector): the client may have remapped interrupts on `vector` (one the
 *   root task holds an IRQ handler for) for its granted device `sid`; result word 0 = the vector
 *   grant index the client's irq_alloc names. With the hotplug badge: port `sid` of the hotplug
 *   server gets its interrupt on `vector` (its port_irq writes the entry; result word 0 = 0).
 *   Errors: BAD_MSG, BAD_ARG (badge not a registered client or the hotplug badge, sid not
 *   granted to it or granted twice, vector < 0x20 or > 0xff), NO_SLOTS.
 * irq_route(sid, vector): an interrupt-remapping entry written at once for a device no driver or
 *   server asks for itself: results irq handle, MSI address, MSI data (remappable format,
 *   source-id validated for sid). Errors: BAD_MSG, BAD_ARG, UNIT (no unit covers sid),
 *   UNSUPPORTED (the unit has no interrupt remapping), NO_IRTE, HW.
 * revoke_memory(badge, grant): take memory grant `grant` back from the client: every mapping of
 *   it unmapped strictly (a device that does not answer quarantined) before the reply; results
 *   status (IOMMU_STATUS_*), pins left (mappings whose invalidation was not confirmed: the
 *   memory must not be reused while this is not 0). Later maps naming it get REVOKED. Errors:
 *   BAD_MSG, BAD_ARG, DEVICE_TIMEOUT, HW.
 * revoke_device(badge, sid): take device `sid` back: detached first if attached (blocked and
 *   flushed, interrupts and PASIDs gone), then its device and vector grants dropped; result
 *   status. Errors: BAD_MSG, BAD_ARG, DEVICE_TIMEOUT, HW.
 * revoke_frames(badge, pa, size): take physical memory [pa, pa + size) back from the client's
 *   frame-capability mappings (iommu_client_revoke_frames): every mapping of a frame intersecting
 *   it unmapped strictly before the reply, the server's copy of each such capability deleted
 *   once its invalidation completed, the range recorded (later maps of a frame in it get
 *   REVOKED); results status, pins left (not 0: the root task must neither revoke the kernel
 *   capabilities of that memory nor reuse it; retry the same call later). Errors: BAD_MSG,
 *   BAD_ARG, ALIGN, RANGE, NO_SLOTS, DEVICE_TIMEOUT, HW.
 */
#define IOMMU_ROOT_METHODS(R)                                                                      \
    R(CLIENT_ADD, 96, 3, 1, "badge, sid, notification cap")                                        \
    R(GRANT_DEVICE, 97, 2, 0, "badge, sid")                                                        \
    R(GRANT_MEMORY, 98, 4, 0, "badge, pa, size, rights -> grant index")                            \
    R(CLIENT_REMOVE, 99, 1, 0, "badge")                                                            \
    R(IRQ_GRANT, 100, 3, 0, "badge, sid, vector -> vector grant index")                            \
    R(IRQ_ROUTE, 101, 2, 0, "sid, vector -> irq handle, MSI address, MSI data")                    \
    R(REVOKE_MEMORY, 102, 2, 0, "badge, grant -> status, pins left")                               \
    R(REVOKE_DEVICE, 103, 2, 0, "badge, sid -> status")                                            \
    R(REVOKE_FRAMES, 104, 3, 0, "badge, pa, size -> status, pins left")

#define IOMMU_ROOT_LABEL_(name, label, nargs, ncaps, doc) IOMMU_ROOT_##name = label,
enum iommu_root_label { IOMMU_ROOT_METHODS(IOMMU_ROOT_LABEL_) };
#undef IOMMU_ROOT_LABEL_

#endif /* IOMMU_SRV_ROOT_H */
