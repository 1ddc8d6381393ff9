/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal interfaces of the IOMMU server task (servers/iommu). Who calls whom, one way only:
 *
 *   main.c      start-up: capabilities, DMAR table, units, devices, interrupt events
 *     -> transport.c  the event loop: kernel message <-> struct iommu_msg, iommu_begin /
 *                     iommu_complete, saved replies of pending requests, interrupts
 *     -> hw.c         the hardware callbacks libvtd runs on, the table page pool
 *     -> config.c     config space through the pages the root task granted
 *     -> ats.c        the ATS policy from the DMAR's ATSR/SATC
 *   all -> slots.c    free slots of our CNode
 *
 * Every decision about a message is libiommu's; the transport reads a request only to print the
 * root task's registrations and removals (console lines the tests follow).
 */
#ifndef IOMMU_SRV_INTERNAL_H
#define IOMMU_SRV_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <pci/pci.h>
#include <portcullis/portcullis.h>
#include <iommu/server.h>
#include <task/task.h>
#include <vtd/vtd.h>

#define SRV_LARGE_PAGE (2ull << 20)
#define SRV_PAGES_PER_FRAME 512u
#define SRV_POOL_FRAMES 4u                   /* at most 8 MiB of table memory */
#define SRV_POOL_VADDR 0x0000100040000000ull /* in [TASK_SELF_MIN, TASK_SELF_MAX) */
#define SRV_MAX_CFG_PAGES 24u

/* The capabilities the server works with (slots in its own CNode). */
struct srv_caps {
    pc_cptr_t ep;      /* the endpoint every client, the hotplug server and init call */
    pc_cptr_t untyped; /* memory for the page pool */
    pc_cptr_t cnode;   /* its own CNode: delete received capabilities */
    pc_cptr_t vspace;  /* its own VSpace: map the pool */
    pc_cptr_t tcb;     /* its own TCB: bind the fault notification */
};

/* A DRHD's register frames as mapped by the root task. */
struct srv_unit_regs {
    volatile uint8_t *base;
    uint64_t paddr, size;
};

/* hw.c */
void srv_hw_init(struct vtd_hw *hw, struct srv_unit_regs *regs);
pc_word_t srv_pool_init(struct srv_caps *caps, uint64_t tsc_hz, uint64_t untyped_bytes);
void srv_pool_stats(unsigned *in_use, unsigned *high_water, unsigned *total);
uint64_t srv_now_ns(void);

/* config.c: config space = the granted ECAM pages; anything else reads as absent. */
bool srv_cfg_add_page(uint16_t sid, volatile void *va);
const struct pci_ecam *srv_cfg_ecam(void);
unsigned srv_cfg_count(void);
uint16_t srv_cfg_sid(unsigned i);

/* ats.c: the ATS policy from the DMAR (before devices are indexed), and env.ats_refused. */
struct acpi_dmar;
struct iommu_server;
void srv_ats_start(struct iommu_server *s, const struct acpi_dmar *d);
void srv_ats_refused(void *ctx, uint16_t sid, const char *why);

/* slots.c: a free slot of our CNode (0 when none is left), and giving one back (emptied). */
void srv_slots_init(pc_cptr_t cnode, uint32_t first_free, uint32_t end_free);
pc_cptr_t srv_slot_alloc(void);
void srv_slot_free(pc_cptr_t slot);
extern uint32_t srv_slot_end;
/* A slot of ours (a cookie libiommu gave back). */
static inline bool srv_slot_owned(uint64_t slot)
{
    return slot != 0 && slot < srv_slot_end;
}

/* Bits of the notification word bound to the server thread (badges of the interrupt copies). */
#define SRV_NTFN_FAULT 0x1u /* fault events */
#define SRV_NTFN_QI 0x2u    /* invalidation-completion events */

/* transport.c */
/* Before the table pool takes the untyped: one notification for the fault and completion IRQs
 * (needs the `qi_msi` grant; without it requests complete synchronously). */
void srv_transport_prepare(const task_start_info_t *si, struct srv_caps *caps);
/* After the units are up: program the completion event; requests may stay pending if it works. */
void srv_transport_start(const task_start_info_t *si, struct iommu_server *s);
/* The event loop; never returns. */
void srv_serve(struct iommu_server *s, uint64_t tsc_hz);

/* ---- profile.c: per-phase TSC sums, only with IOMMU_SRV_PROFILE (see profile.c) ---------- */
#define PROF_IDS(X)                                                                                \
    X(PROF_COPY_IN, "copy_in")                                                                     \
    X(PROF_RESOLVE, "resolve_cap")                                                                 \
    X(PROF_HANDLE, "handle_client")                                                                \
    X(PROF_CAP_DONE, "cap_slot")                                                                   \
    X(PROF_COPY_OUT, "copy_out")                                                                   \
    X(PROF_LOOP, "loop")                                                                           \
    X(PROF_DECODE, "decode")                                                                       \
    X(PROF_VTD_MAP, "vtd_map")                                                                     \
    X(PROF_VTD_UNMAP, "vtd_unmap")                                                                 \
    X(PROF_SUBMIT, "submit")                                                                       \
    X(PROF_LIST_RELEASE, "list_release")                                                           \
    X(PROF_PIN_RELEASE, "pin_release")
enum prof_id {
#define PROF_ENUM_(id, name) id,
    PROF_IDS(PROF_ENUM_)
#undef PROF_ENUM_
        PROF_N
};
struct prof_slot {
    uint64_t sum, n;
};
void prof_message(uint64_t label);
void prof_add(unsigned id, uint64_t cycles);
#ifdef IOMMU_SRV_PROFILE
#define PROF_T(var) uint64_t var = task_rdtsc()
#define PROF_ADD(id, t0, t1) prof_add((id), (t1) - (t0))
#else
#define PROF_T(var) ((void)0)
#define PROF_ADD(id, t0, t1) ((void)0)
#endif

#endif /* IOMMU_SRV_INTERNAL_H */
