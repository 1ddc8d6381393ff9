/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Does exactly one bad thing, chosen by its command line, so the root task (its fault handler)
 * can report the fault and keep everything else running:
 *   fault=pf addr=A   write to the unmapped user address A           -> #PF at A
 *   fault=gp          execute a privileged instruction (cli)         -> #GP
 *   fault=de          divide by zero                                 -> #DE
 *   fault=ud          execute ud2                                    -> #UD
 *   fault=stack       recurse until the stack runs into its guard page -> #PF below the stack
 * If it survives the bad thing it reports instead, which the root task counts as a failure.
 */
#include <ktest/ktest.h>

static volatile uint64_t g_sink;

__attribute__((noinline)) static uint64_t recurse(uint64_t depth)
{
    volatile uint8_t pad[512];
    pad[0] = (uint8_t)depth;
    g_sink += pad[0];
    if (depth > (1u << 24)) { /* 8 GiB of stack: never reached, the guard page stops it first */
        return 0;
    }
    return recurse(depth + 1) + pad[0];
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    char kind[8];
    if (!task_cmdline_get(si->cmdline, "fault", kind, sizeof(kind))) {
        kt_result("fault_task_has_fault_kind", false, "(no fault= on the command line)");
        kt_finish();
    }
    if (kind[0] == 'p' && kind[1] == 'f') {
        uint64_t addr = 0;
        if (task_cmdline_get_u64(si->cmdline, "addr", &addr)) {
            *(volatile uint64_t *)(uintptr_t)addr = 1;
        }
    } else if (kind[0] == 'g' && kind[1] == 'p') {
        __asm__ volatile("cli");
    } else if (kind[0] == 'd' && kind[1] == 'e') {
        uint32_t zero = 0;
        __asm__ volatile("xorl %%edx, %%edx; movl $1, %%eax; divl %0" : : "r"(zero) : "eax", "edx");
    } else if (kind[0] == 'u' && kind[1] == 'd') {
        __asm__ volatile("ud2");
    } else if (kind[0] == 's') {
        g_sink = recurse(0);
    }
    kt_result("fault_task_survived_its_fault", false, "(fault=%s did not stop the task)", kind);
    kt_finish();
}
