/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hotplug server's test tasks: a stand-in for the IOMMU server's hotplug role (standin.c)
 * the control client that drives the scenarios from inside the guest (control.c) and an edu
 * client that lives through many re-plugs (cycler.c), one ELF started under three roles.
 */
#ifndef HPTEST_H
#define HPTEST_H

#include <stdbool.h>
#include <stdint.h>

#include <task/task.h>

/* Badge of the control test's copy of the stand-in's endpoint: "the scenario is over". */
#define HPT_BADGE_REPORT 0x7e57ull

bool hpt_result(const char *name, bool ok, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
int hpt_finish(void);
uint64_t hpt_now_ms(void);

int hpt_standin_main(const task_start_info_t *si);
int hpt_control_main(const task_start_info_t *si);
int hpt_cycler_main(const task_start_info_t *si);

#endif /* HPTEST_H */
