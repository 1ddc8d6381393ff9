/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal interfaces of the IOMMU server task (drivers/iommu): the hardware callbacks libvtd
 * runs on (hw.c), config-space access through the pages the root task granted (config.c), the
 * ATS policy from the DMAR (ats.c), and the slot allocator the event loop uses for received
 * capabilities (main.c).
 */
#ifndef IOMMU_SRV_INTERNAL_H
#define IOMMU_SRV_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <pci/pci.h>
#include <portcullis/portcullis.h>
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
    pc_cptr_t fault_irq;
    pc_cptr_t fault_ntfn;
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

/* main.c: a free slot of our CNode (0 when none is left), and giving one back. */
pc_cptr_t srv_slot_alloc(void);
void srv_slot_free(pc_cptr_t slot);

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
