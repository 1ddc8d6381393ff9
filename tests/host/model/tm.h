/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers for the model's self-tests: they play the part of software by hand - writing tables
 * and descriptors into simulated memory and registers - without libvtd, so the model's
 * behaviour is checked on its own. Register offsets and formats are written out here from the
 * spec again on purpose.
 */
#ifndef TM_H
#define TM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtd_model.h"

extern int tm_failures;
extern const char *tm_current;

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "FAIL %s: %s:%d: %s\n", tm_current, __FILE__, __LINE__, #cond);      \
            tm_failures++;                                                                        \
            return;                                                                               \
        }                                                                                         \
    } while (0)

#define CHECK_EQ(a, b)                                                                            \
    do {                                                                                          \
        unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b);            \
        if (_a != _b) {                                                                           \
            fprintf(stderr, "FAIL %s: %s:%d: %s == %s (0x%llx != 0x%llx)\n", tm_current,          \
                    __FILE__, __LINE__, #a, #b, _a, _b);                                          \
            tm_failures++;                                                                        \
            return;                                                                               \
        }                                                                                         \
    } while (0)

#define RUN(t)                                                                                    \
    do {                                                                                          \
        tm_current = #t;                                                                          \
        int _before = tm_failures;                                                                \
        t();                                                                                      \
        printf("%s %s\n", tm_failures == _before ? "ok  " : "FAIL", #t);                          \
    } while (0)

/* Register offsets (VT-d 11.4). */
enum {
    R_CAP = 0x08, R_ECAP = 0x10, R_GCMD = 0x18, R_GSTS = 0x1c, R_RTADDR = 0x20, R_CCMD = 0x28,
    R_FSTS = 0x34, R_FECTL = 0x38, R_IQH = 0x80, R_IQT = 0x88, R_IQA = 0x90, R_ICS = 0x9c,
    R_IECTL = 0xa0, R_IQERCD = 0xb0, R_PQH = 0xc0, R_PQT = 0xc8, R_PQA = 0xd0, R_PRS = 0xdc,
    R_PECTL = 0xe0,
};
#define GCMD_TE (1u << 31)
#define GCMD_SRTP (1u << 30)
#define GCMD_QIE (1u << 26)
#define FSTS_PFO (1u << 0)
#define FSTS_PPF (1u << 1)
#define FSTS_IQE (1u << 4)
#define FSTS_ICE (1u << 5)
#define FSTS_ITE (1u << 6)

/* Memory plan in the lower half (test-owned): structures from 1 MiB, DMA buffers from 16 MiB. */
#define TM_STRUCT_BASE 0x100000ull
#define TM_BUF_BASE 0x1000000ull

struct tm {
    struct vtd_model *m;
    const struct vtd_hw *hw;
    uint64_t next_struct;   /* bump allocator for tables */
    uint32_t gcmd;          /* software's copy of enabled GCMD bits */
    uint64_t iq_pa;
    bool iq_dw;
    uint32_t iq_tail;
    uint32_t iq_size;
    uint64_t root_pa;
    bool scalable;
};

bool tm_init(struct tm *t, const struct vtd_model_config *cfg);
void tm_fini(struct tm *t);
uint64_t tm_alloc(struct tm *t);   /* zeroed 4 KiB page */
void tm_w64(struct tm *t, uint64_t pa, uint64_t val);   /* write + flush */
uint64_t tm_r64(struct tm *t, uint64_t pa);
uint32_t tm_r32(struct tm *t, uint64_t pa);
/* GCMD write with the enabled bits, then poll GSTS for `bit` == want (bounded). */
bool tm_gcmd(struct tm *t, uint32_t bit, bool set);
/* Root table (legacy or scalable), SRTP, TE. */
bool tm_enable(struct tm *t, bool scalable);
/* Legacy context entry for sid. tt: 0/1/2; aw: 1 = 3-level, 2 = 4-level. Returns PT root. */
uint64_t tm_legacy_ctx(struct tm *t, uint16_t sid, uint16_t did, unsigned tt, unsigned aw);
void tm_legacy_ctx_raw(struct tm *t, uint16_t sid, uint64_t lo, uint64_t hi);
/* Map one page of 1 << shift (12, 21, 30) in a second-level table with `levels` levels. */
void tm_map(struct tm *t, uint64_t pt, unsigned levels, uint64_t iova, uint64_t pa,
            unsigned shift, bool r, bool w);
/* The leaf PTE address for iova (after tm_map). */
uint64_t tm_pte_addr(struct tm *t, uint64_t pt, unsigned levels, uint64_t iova, unsigned shift);
/* Scalable: context entry with a PASID directory; returns the directory. */
uint64_t tm_sm_ctx(struct tm *t, uint16_t sid, uint32_t rid_pasid, bool dte, bool paside);
/* Address of the scalable context entry of sid (after tm_sm_ctx). */
uint64_t tm_sm_ctx_addr(struct tm *t, uint16_t sid);
/* Scalable PASID entry; returns its address. */
uint64_t tm_sm_pasid(struct tm *t, uint64_t dir, uint32_t pasid, uint16_t did, unsigned pgtt,
                     unsigned aw, uint64_t slptptr);
/* Queued invalidation on (queue of one page). */
bool tm_qi_enable(struct tm *t, bool dw);
/* Append descriptors (qw[2], qw[3] used in 256-bit mode) and write IQT once. */
void tm_submit(struct tm *t, const uint64_t (*descs)[4], unsigned n);
/* Relax until *status == want or `limit_ns` of virtual time; true if reached. */
bool tm_poll32(struct tm *t, uint64_t status_pa, uint32_t want, uint64_t limit_ns);

/* Descriptors. */
static inline void tm_desc(uint64_t d[4], uint64_t q0, uint64_t q1)
{
    d[0] = q0;
    d[1] = q1;
    d[2] = 0;
    d[3] = 0;
}
#define D_CC_GLOBAL ((1ull << 4) | 1)
#define D_IOTLB_GLOBAL ((1ull << 4) | 2)
static inline uint64_t d_cc_dev(uint16_t sid, uint16_t did)
{
    return 1 | (3ull << 4) | ((uint64_t)did << 16) | ((uint64_t)sid << 32);
}
static inline uint64_t d_iotlb_dom(uint16_t did)
{
    return 2 | (2ull << 4) | ((uint64_t)did << 16);
}
static inline uint64_t d_iotlb_page(uint16_t did)
{
    return 2 | (3ull << 4) | ((uint64_t)did << 16);
}
static inline uint64_t d_devtlb(uint16_t sid)
{
    return 3 | ((uint64_t)sid << 32);
}
static inline uint64_t d_wait_sw(uint32_t data)
{
    return 5 | (1ull << 5) | ((uint64_t)data << 32);
}
#define D_WAIT_IF (5 | (1ull << 4))

#endif /* TM_H */
