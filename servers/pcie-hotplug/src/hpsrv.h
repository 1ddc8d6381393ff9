/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the hotplug server's files share: its clock, its log line and its counters.
 */
#ifndef HPSRV_INTERNAL_H
#define HPSRV_INTERNAL_H

#include <stdint.h>

struct hps_stats {
    uint64_t messages, refused, irqs, foreign_irqs;
    uint64_t cfg_reads, cfg_writes;
    uint64_t fences, removed, added;
    uint64_t logs[32]; /* per enum hp_log_code */
};
extern struct hps_stats g_stats;

/* Guest time since boot (TSC scaled by the start info's tsc_hz). */
uint64_t hps_now_ns(void);
/* One console line "hotplug: [ms.us] <line>". */
void hps_log(const char *line);

#endif /* HPSRV_INTERNAL_H */
