/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The task table: every task the root task built, by id (index + 1, also the badge of its fault
 * and report endpoint), and the results of tasks whose entries were reused. It sits below
 * everything that works on tasks (spawn.c fills it; the IOMMU link, hot-plug, revocation and
 * main.c look tasks up here), so none of those has to call the task builder to find one.
 */
#include <init/init.h>

init_task_t g_tasks[INIT_MAX_TASKS];
unsigned g_task_count;

static uint32_t g_retired_passed, g_retired_failed;

init_task_t *task_by_id(uint64_t id)
{
    return (id >= 1 && id <= g_task_count) ? &g_tasks[id - 1] : NULL;
}

init_task_t *task_running_with(uint32_t role_flag)
{
    for (unsigned i = 0; i < g_task_count; i++) {
        init_task_t *t = &g_tasks[i];
        if (t->policy != NULL && (t->policy->flags & role_flag) && t->state == TASK_RUNNING) {
            return t;
        }
    }
    return NULL;
}

void task_results_retire(init_task_t *t)
{
    g_retired_passed += t->passed;
    g_retired_failed += t->failed;
    t->passed = t->failed = 0;
}

void task_results_retired(uint32_t *passed, uint32_t *failed)
{
    *passed = g_retired_passed;
    *failed = g_retired_failed;
}
