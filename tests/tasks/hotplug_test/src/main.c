/* SPDX-License-Identifier: BSD-2-Clause */
/* Entry of the hotplug test tasks: mode=standin or mode=control, and their result lines. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hptest.h"

static unsigned g_passed, g_failed;
static uint64_t g_tsc_hz;

bool hpt_result(const char *name, bool ok, const char *detail_fmt, ...)
{
    char detail[300];
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

int hpt_finish(void)
{
    fflush(stdout);
    (void)task_report_done(g_passed, g_failed);
    return g_failed ? 1 : 0;
}

uint64_t hpt_now_ms(void)
{
    uint64_t hz = g_tsc_hz ? g_tsc_hz : 1000000000ull;
    return task_rdtsc() / (hz / 1000u);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const task_start_info_t *si = task_start();
    if (si == NULL) {
        printf("TEST hotplug_test_has_start_info: FAIL\n");
        return 1;
    }
    g_tsc_hz = si->tsc_hz;
    char mode[16] = "";
    (void)task_cmdline_get(si->cmdline, "mode", mode, sizeof(mode));
    if (strcmp(mode, "standin") == 0) {
        return hpt_standin_main(si);
    }
    if (strcmp(mode, "control") == 0) {
        return hpt_control_main(si);
    }
    if (strcmp(mode, "cycler") == 0) {
        return hpt_cycler_main(si);
    }
    hpt_result("hotplug_test_mode_known", false, "(mode=%s)", mode);
    return hpt_finish();
}
