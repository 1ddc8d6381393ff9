/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a task started by the root task uses at run time (target only): its validated start
 * information, its IPC buffer (set up before main() runs), reporting to the root task, and
 * starting a second thread in its own address space.
 *
 * IPC buffer: libportcullis' invocation wrappers read the global __pc_ipc_buffer. Linking this
 * library sets it before main() from the start information (or, for the root task, from the
 * kernel's boot information), so pc_invoke() works from the first line of main().
 */
#ifndef TASK_TASK_H
#define TASK_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include <portcullis/types.h>
#include <task/layout.h>
#include <task/protocol.h>
#include <task/start_info.h>

/* The task's start information, or NULL if the start argument is not a valid one. */
const task_start_info_t *task_start(void);

/* Why task_start() returned NULL (TASK_START_OK otherwise). */
task_start_error_t task_start_status(void);

/*
 * Tells the root task this task has finished with `passed` and `failed` test results
 * (TASK_LABEL_DONE on the cap named "init"). Returns a pc_error (PC_ERR_FAILED_LOOKUP if the task
 * has no "init" cap).
 */
pc_word_t task_report_done(unsigned passed, unsigned failed);

/*
 * Prints one line through the root task (TASK_LABEL_LOG on the "init" cap), so it cannot be
 * interleaved with other tasks' output; longer lines are cut at TASK_LOG_MAX bytes. Without an
 * "init" cap the line goes straight to the console. Uses the IPC buffer: call it from the thread
 * that owns pc_ipc_buffer().
 */
pc_word_t task_log(const char *line);

/*
 * One on-target result line, `TEST <name>[_<tag>]: PASS|FAIL[ <detail>]`, through task_log (the
 * guest protocol of docs/testing.md). `tag=` on the task's command line is appended to the name.
 */
void task_test_line(const char *name, bool ok, const char *detail);

/*
 * A second thread in the caller's own address space, built from the caller's untyped memory.
 * The caller provides: an untyped cap, its own CNode, VSpace and TCB caps (the TCB is the
 * authority for the priority), free slots starting at *next_slot (advanced past those used: a
 * TCB, a frame for the IPC buffer, and any paging structures needed to map it), an IPC buffer
 * address in [TASK_SELF_MIN, TASK_SELF_MAX) aligned to 4 KiB, the entry point, the stack top and
 * one argument (in rdi). The thread starts at `priority` at once.
 * Returns a pc_error; *tcb_slot receives the new thread's TCB slot.
 */
typedef struct task_thread_spec {
    pc_cptr_t untyped;
    pc_cptr_t cnode;
    pc_cptr_t vspace;
    pc_cptr_t authority;
    uint64_t ipc_buffer_vaddr;
    void (*entry)(uint64_t arg);
    uint64_t stack_top;
    uint64_t arg;
    unsigned priority;
} task_thread_spec_t;
pc_word_t task_thread_create(const task_thread_spec_t *spec, uint32_t *next_slot, uint32_t end_slot,
                             pc_cptr_t *tcb_slot);

/* rdtsc with ordering against earlier instructions (lfence). */
static inline uint64_t task_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

#endif /* TASK_TASK_H */
