/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fixture for the IOMMU server's host tests: one VT-d model unit with devices behind it, a fake
 * config space whose ATS Enable bit is wired to the model's devices (so disabling ATS really
 * empties a device's ATC) and which has the root ports above them, QEMU's ATS policy (an ATSR
 * with ALL_PORTS), the real libvtd and libiommu on top, and helpers that speak the
 * protocol through the generated encoders exactly as a driver or the hotplug server would.
 * Config-space ATS writes are logged with the model's descriptor-log position, so tests can
 * check the order of config writes against invalidation descriptors.
 */
#ifndef IOMMU_TEST_FIXTURE_H
#define IOMMU_TEST_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommu/server.h>
#include <vtd_model.h>

extern int fx_failures;
extern const char *fx_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s: %s:%d: %s\n", fx_current, __FILE__, __LINE__, #cond);        \
            fx_failures++;                                                                         \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b);             \
        if (_a != _b) {                                                                            \
            fprintf(stderr, "FAIL %s: %s:%d: %s == %s (0x%llx != 0x%llx)\n", fx_current, __FILE__, \
                    __LINE__, #a, #b, _a, _b);                                                     \
            fx_failures++;                                                                         \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#define RUN(t)                                                                                     \
    do {                                                                                           \
        fx_current = #t;                                                                           \
        int _before = fx_failures;                                                                 \
        t();                                                                                       \
        printf("%s %s\n", fx_failures == _before ? "ok  " : "FAIL", #t);                           \
    } while (0)

#define FX_DEVS 16
#define FX_EVENTS 256
#define HP_BADGE 0x4850ull /* the hotplug server's badge */
#define CLIENT_A 0xa1ull
#define CLIENT_B 0xb2ull
/* Client memory pools in the lower half of simulated memory (the model allocates above). */
#define POOL_A 0x0200000ull
#define POOL_B 0x0800000ull
#define POOL_SIZE 0x0400000ull
#define ATS_CAP_OFF 0x100

struct fx_cfg_dev {
    uint16_t sid;
    bool used, present;
    uint8_t cfg[4096];
};

struct fx_event {
    uint16_t sid;
    bool ats_enabled;
    uint64_t desc_pos; /* descriptors the model had executed when the write happened */
};

struct fx {
    struct vtd_model *m;
    const struct vtd_hw *hw;
    struct iommu_server *s;
    struct fx_cfg_dev dev[FX_DEVS];
    struct pci_mmio mmio;
    struct pci_ecam ecam;
    struct fx_event ev[FX_EVENTS];
    unsigned n_ev;
    unsigned notifies;
    uint64_t last_notified;
    unsigned releases;
    uint64_t last_released;
    unsigned ats_refusals; /* env.ats_refused calls */
    uint16_t last_ats_refused;
    const char *last_ats_why;
};

/* Model with mc (NULL = QEMU-like legacy unit), server with one unit covering everything. */
bool fx_init(struct fx *f, const struct vtd_model_config *mc, const struct vtd_unit_config *uc);
void fx_fini(struct fx *f);
/* A device in the model and in config space (ATS capability if flags has VTD_MODEL_DEV_ATS),
   announced to the server as found at boot (boot = true) or not at all. As in QEMU's topology,
   a device on bus N (1..31) sits below root port 00:N.0, added with it if missing. */
void fx_add_device(struct fx *f, uint16_t sid, unsigned model_flags, bool boot);
/* A PCIe Root Port in config space (bus 0) with the bus range secondary..subordinate. */
void fx_add_root_port(struct fx *f, uint16_t port, uint8_t secondary, uint8_t subordinate);
/* Device leaves/returns: model presence and config space (reads all-ones when absent). */
void fx_set_present(struct fx *f, uint16_t sid, bool present);
/* A second remapping unit (model with mc, NULL = default) whose scope is [first, last]: unit 1.
   The caller destroys the model after fx_fini. NULL if it could not be added. */
struct vtd_model *fx_second_unit(struct fx *f, const struct vtd_model_config *mc, uint16_t first,
                                 uint16_t last);
/* Register a client with a 4 MiB RW pool (grant 0) and device grants. */
void fx_client(struct fx *f, uint64_t badge, uint64_t pool, const uint16_t *sids, unsigned n);

/* Protocol helpers (generated encoders). Return the error; results through pointers. */
uint64_t fx_call(struct fx *f, uint64_t badge, struct iommu_msg *m, struct iommu_reply *r);
uint64_t fx_hp(struct fx *f, struct iommu_msg *m, struct iommu_reply *r);
uint64_t fx_attach(struct fx *f, uint64_t badge, uint16_t sid, uint64_t *handle);
uint64_t fx_detach(struct fx *f, uint64_t badge, uint64_t handle, uint64_t *status);
uint64_t fx_map(struct fx *f, uint64_t badge, uint64_t iova, uint64_t mem, uint64_t off,
                uint64_t size, uint64_t rights);
uint64_t fx_unmap(struct fx *f, uint64_t badge, uint64_t iova, uint64_t size, uint64_t *status);
uint64_t fx_fence(struct fx *f, uint16_t sid, uint64_t mode, uint64_t *status);
uint64_t fx_removed(struct fx *f, uint16_t sid);
uint64_t fx_added(struct fx *f, uint16_t sid, uint64_t *generation);

/* Fill simulated memory at pa with a pattern derived from seed; compare. */
void fx_fill(struct fx *f, uint64_t pa, size_t len, unsigned seed);
bool fx_same(struct fx *f, uint64_t pa, const void *buf, size_t len);
/* Descriptors in the model's log since index `from`: count those of type `type` for `sid`
   (sid 0xffffffff = any). Types: 1 context-cache, 2 IOTLB, 3 device-TLB, 5 wait, 8 PASID dev-TLB.
 */
size_t fx_log(struct fx *f, struct vtd_model_desc_log *out, size_t max);
unsigned fx_desc_type(const struct vtd_model_desc_log *d);
/* Source-id a context-cache / device-TLB / PASID device-TLB descriptor names (else ~0). */
uint32_t fx_desc_sid(const struct vtd_model_desc_log *d);
unsigned fx_count_desc(struct fx *f, size_t from, unsigned type, uint32_t sid);

int fx_report(void);

#endif /* IOMMU_TEST_FIXTURE_H */
