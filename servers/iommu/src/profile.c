/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-phase cost of the server's message path, built only with -DIOMMU_SRV_PROFILE=ON (never
 * in the default image). The TSC is read around the glue's phases (main.c's PROF_MARK) and,
 * through the linker's --wrap, around the libiommu/libvtd entry points the hot path calls
 * (decode, page-table map/unmap, queue submission, table release, pin release). Under QEMU
 * -icount shift=0 a TSC tick is one guest instruction, so the printed averages are
 * instructions per call (each includes the two rdtsc of its own measurement, ~4).
 */
#include <stdio.h>

#include <iommu/server.h>
#include <task/task.h>
#include <vtd/vtd.h>

#include "internal.h" /* libiommu's private declarations: the wrapped entry points */
#include "iommu_srv.h"

/* One set of sums per kind of message: fault_read (the null call), map, unmap, the rest. */
#define PROF_BUCKETS 4u
static struct prof_slot g_prof[PROF_BUCKETS][PROF_N];
static unsigned g_bucket;
static const char *const g_bucket_name[PROF_BUCKETS] = {"other", "fault_read", "map", "unmap"};

static const char *const g_prof_name[PROF_N] = {
#define PROF_NAME_(id, name) [id] = name,
    PROF_IDS(PROF_NAME_)
#undef PROF_NAME_
};

void prof_message(uint64_t label)
{
    g_bucket = label == IOMMU_LABEL_FAULT_READ                             ? 1u
               : label == IOMMU_LABEL_MAP || label == IOMMU_LABEL_MAP_POOL ? 2u
               : label == IOMMU_LABEL_UNMAP                                ? 3u
                                                                           : 0u;
}

void prof_add(unsigned id, uint64_t cycles)
{
    struct prof_slot *p = &g_prof[g_bucket][id];
    p->sum += cycles;
    p->n++;
    if (id != PROF_LOOP || p->n < 1000u) {
        return;
    }
    /* Every 1000 messages of a kind: one line of averages, then start again. */
    printf("PROF %s:", g_bucket_name[g_bucket]);
    for (unsigned i = 0; i < PROF_N; i++) {
        struct prof_slot *q = &g_prof[g_bucket][i];
        if (q->n != 0) {
            printf(" %s=%llu", g_prof_name[i], (unsigned long long)(q->sum / q->n));
        }
        q->sum = 0;
        q->n = 0;
    }
    printf("\n");
    fflush(stdout);
}

#define WRAP_(id, ret, fn, params, args)                                                           \
    ret __real_##fn params;                                                                        \
    ret __wrap_##fn params;                                                                        \
    ret __wrap_##fn params                                                                         \
    {                                                                                              \
        uint64_t t0 = task_rdtsc();                                                                \
        ret v_ = __real_##fn args;                                                                 \
        prof_add(id, task_rdtsc() - t0);                                                           \
        return v_;                                                                                 \
    }
#define WRAP_VOID_(id, fn, params, args)                                                           \
    void __real_##fn params;                                                                       \
    void __wrap_##fn params;                                                                       \
    void __wrap_##fn params                                                                        \
    {                                                                                              \
        uint64_t t0 = task_rdtsc();                                                                \
        __real_##fn args;                                                                          \
        prof_add(id, task_rdtsc() - t0);                                                           \
    }

WRAP_(PROF_DECODE, enum iommu_err, iommu_decode_client,
      (const struct iommu_server *s, const struct iommu_msg *m, struct iommu_request *req),
      (s, m, req))
WRAP_(PROF_VTD_MAP, enum vtd_err, vtd_domain_map,
      (struct vtd_domain * d, uint64_t iova, uint64_t pa, uint64_t size, unsigned rights),
      (d, iova, pa, size, rights))
WRAP_(PROF_VTD_UNMAP, enum vtd_err, vtd_domain_unmap,
      (struct vtd_domain * d, uint64_t iova, uint64_t size, struct vtd_unmap_result *res),
      (d, iova, size, res))
WRAP_(PROF_SUBMIT, enum vtd_err, vtd_batch_submit, (struct vtd_batch * b, uint64_t t), (b, t))
WRAP_VOID_(PROF_LIST_RELEASE, vtd_page_list_release, (struct vtd_unit * u, struct vtd_page_list *l),
           (u, l))
WRAP_VOID_(PROF_PIN_RELEASE, iommu_release_pin,
           (struct iommu_server * s, int client, const struct iommu_mapping *m), (s, client, m))
