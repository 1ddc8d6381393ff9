/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A behavioural model of one Intel VT-d remapping unit and the PCIe devices behind it, for host
 * tests. It exists because QEMU never raises ITE/ICE, has no page request queue and no device
 * with a real ATC: the model can inject all of those, and its caches really cache, so a missing
 * or misordered invalidation makes a test fail.
 *
 * The model owns a block of simulated physical memory starting at physical address 0; libvtd
 * reaches registers, that memory and a virtual clock through the struct vtd_hw returned by
 * vtd_model_hw(). Time only moves when libvtd calls now_ns()/relax() or a test calls
 * vtd_model_advance(), so every test is deterministic.
 */
#ifndef VTD_MODEL_H
#define VTD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtd/hw.h>

#define VTD_MODEL_NO_PASID 0xffffffffu

struct vtd_model;

struct vtd_model_config {
    uint64_t cap;        /* CAP_REG as reported; 0 = QEMU 7.2 q35 default (0x00d2008c22260206) */
    uint64_t ecap;       /* ECAP_REG as reported; 0 = QEMU-like default with QI, DT, IR */
    size_t mem_bytes;    /* simulated physical memory; 0 = 64 MiB */
    uint64_t ite_timeout_ns;  /* an unresponsive device's device-TLB invalidation times out (ITE)
                                 after this long; 0 = 1 ms */
    unsigned iotlb_entries;   /* 0 = 64 */
};

struct vtd_model *vtd_model_create(const struct vtd_model_config *cfg);
void vtd_model_destroy(struct vtd_model *m);

/* The accessor libvtd uses: registers, simulated memory, virtual clock. */
const struct vtd_hw *vtd_model_hw(struct vtd_model *m);
/* Host pointer to simulated physical memory [pa, pa + len), or NULL if out of range. */
void *vtd_model_phys(struct vtd_model *m, uint64_t pa, size_t len);
/* Move the virtual clock forward and let the unit make progress. */
void vtd_model_advance(struct vtd_model *m, uint64_t ns);

/* Devices behind the unit, by source-id (bus << 8 | dev << 3 | fn). */
#define VTD_MODEL_DEV_ATS   (1u << 0) /* has an ATS capability and an ATC */
#define VTD_MODEL_DEV_PASID (1u << 1)
#define VTD_MODEL_DEV_PRI   (1u << 2)
int vtd_model_add_device(struct vtd_model *m, uint16_t sid, unsigned flags);
/* Absent/unresponsive: device-TLB invalidations to it end in ITE after ite_timeout_ns. */
void vtd_model_set_device_present(struct vtd_model *m, uint16_t sid, bool present);
/* The ATS Enable bit of the device's ATS control register (the server writes config space). */
void vtd_model_set_ats_enabled(struct vtd_model *m, uint16_t sid, bool enabled);

/*
 * A DMA by device `sid` (PASID or VTD_MODEL_NO_PASID) at `iova`. With ATS enabled, the device
 * first consults its ATC and fills it through a translation request; otherwise the unit
 * translates (IOTLB, context cache, then a table walk). Returns 0 and the physical address, or
 * a VT-d fault reason (> 0) which the unit has recorded in its fault registers.
 */
int vtd_model_translate(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t iova,
                        bool write, uint64_t *pa);
/* The same, moving `len` bytes between `buf` and simulated memory page by page. */
int vtd_model_dma(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t iova, void *buf,
                  size_t len, bool write);

/* Page requests (PRI): queued into the page request queue, or overflow (PRS.PRO) if full. */
struct vtd_model_page_request {
    uint16_t sid;
    uint32_t pasid;     /* VTD_MODEL_NO_PASID for none */
    uint64_t addr;      /* page address */
    uint16_t prgi;      /* page request group index */
    bool read, write, last;
};
int vtd_model_page_request(struct vtd_model *m, const struct vtd_model_page_request *req);

/* What the unit did, for assertions (the model's counterpart of QEMU's trace). */
struct vtd_model_desc_log {
    uint64_t qw[4];     /* the descriptor as executed (128-bit: qw[2], qw[3] are 0) */
    uint64_t time_ns;
};
struct vtd_model_stats {
    uint64_t tail_writes;       /* writes to IQT_REG */
    uint64_t descriptors;       /* descriptors executed */
    uint64_t waits;             /* invalidation wait descriptors executed */
    uint64_t iotlb_hits, iotlb_misses, walks;
    uint64_t atc_hits;
    uint64_t faults_recorded, faults_dropped;
    uint64_t page_responses;
};
void vtd_model_get_stats(const struct vtd_model *m, struct vtd_model_stats *st);
/* Executed descriptors, oldest first; returns how many were logged (up to max). */
size_t vtd_model_desc_log(const struct vtd_model *m, struct vtd_model_desc_log *out, size_t max);
void vtd_model_clear_log(struct vtd_model *m);

#endif /* VTD_MODEL_H */
