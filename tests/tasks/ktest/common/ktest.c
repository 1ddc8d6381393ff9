/* SPDX-License-Identifier: BSD-2-Clause */
/* Result lines, counters and the final report of a kernel test task (see ktest.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <ktest/ktest.h>

static unsigned g_passed, g_failed;

bool kt_result(const char *name, bool ok, const char *detail_fmt, ...)
{
    char detail[160];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);
    task_test_line(name, ok, detail);
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
    }
    return ok;
}

const task_start_info_t *kt_start(void)
{
    const task_start_info_t *si = task_start();
    if (si == NULL) {
        printf("TEST task_has_start_info: FAIL (%s)\n", task_start_strerror(task_start_status()));
        exit(1);
    }
    return si;
}

pc_cptr_t kt_cap(const char *name, uint32_t kind)
{
    uint32_t s = task_cap_slot(kt_start(), name, kind);
    if (s == 0) {
        kt_result("task_has_its_granted_caps", false, "(no %s cap named '%s')",
                  task_cap_kind_name(kind), name);
    }
    return s;
}

void kt_finish(void)
{
    fflush(stdout);
    pc_word_t err = task_report_done(g_passed, g_failed);
    if (err != PC_OK) {
        printf("TEST report_to_init: FAIL (%s)\n", kt_err(err));
    }
    fflush(stdout);
    exit(g_failed ? 1 : 0);
}

const char *kt_err(pc_word_t err)
{
    static const char *const names[] = {
#define KT_ERR_NAME_(name, value, text) [value] = #name,
        PC_ERRORS(KT_ERR_NAME_)
#undef KT_ERR_NAME_
    };
    return err < sizeof(names) / sizeof(names[0]) && names[err] ? names[err] : "PC_ERR_?";
}

uint64_t kt_us_to_tsc(uint64_t us)
{
    uint64_t hz = kt_start()->tsc_hz;
    if (hz == 0) {
        hz = 1000000000ull;
    }
    return us * (hz / 1000000u);
}
