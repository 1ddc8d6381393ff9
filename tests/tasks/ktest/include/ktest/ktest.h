/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What every kernel test task shares: one result line per check in the guest result protocol
 * (`TEST <name>: PASS|FAIL <detail>`, see docs/testing.md), counters, and the final report to the
 * root task, which adds the counts into the run's SUMMARY line.
 */
#ifndef KTEST_KTEST_H
#define KTEST_KTEST_H

#include <stdbool.h>
#include <stdint.h>

#include <portcullis/portcullis.h>
#include <task/task.h>

/* Prints `TEST <name>: PASS|FAIL <detail>` and counts it. Returns ok. */
bool kt_result(const char *name, bool ok, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The start info, or a FAIL line and exit if there is none. */
const task_start_info_t *kt_start(void);

/* The slot of a granted cap of that kind; prints a FAIL line (and returns 0) if missing. */
pc_cptr_t kt_cap(const char *name, uint32_t kind);

/* Reports the counts to the root task and ends the task. */
void kt_finish(void) __attribute__((noreturn));

/* Name of a pc_error, e.g. "PC_ERR_RANGE". */
const char *kt_err(pc_word_t err);

/* Microseconds -> TSC ticks with the start info's calibration (1 GHz if unknown). */
uint64_t kt_us_to_tsc(uint64_t us);

#endif /* KTEST_KTEST_H */
