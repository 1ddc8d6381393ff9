/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Revocation by the root task, as an appliance's supervisor uses it: take back from a running
 * driver the frames it maps for DMA, then its device, then kill it and start a fresh instance
 * that gets the device again. The order is what makes it safe: the IOMMU server confirms that no
 * device reaches the memory (strict unmap, or the client removed) before the root task revokes
 * the kernel capabilities and hands the memory out again; a revoke that was not confirmed keeps
 * the memory out of use (task_teardown keeps the arena).
 *
 * Chosen on the kernel command line, one step per signal of the driver's ready notification
 * (its role's GRANT_READY_SIGNAL grant: a shared notification the driver signals whenever it
 * reached a point where the next step may come):
 *   init.revoke=STEP[,STEP...]  frames   revoke_frames over the driver's RAM grant (its DMA
 *                                        buffers come from there)
 *                               pool     revoke_memory of its first DMA pool grant
 *                                        (GRANT_DMA_POOL: the grant index the server gave when
 *                                        the root task granted it); confirmed with no pins left,
 *                                        the pool is noted as the root task's again
 *                               device   revoke_device of the PCI function it drives
 *                               restart  kill it (task_teardown: suspended, client_remove, its
 *                                        capabilities revoked, its memory returned) and start
 *                                        its module again (`tag=rN restarted`)
 *   init.revoke_role=ROLE       the driver: the first running task of this role (default: the
 *                               first role of the policy with a ready signal)
 * Every step prints "init: revoke: ..." lines; the QEMU tests correlate them with QEMU's trace
 * of the invalidations (tests/qemu/drivers/revoke_check.py, tests/qemu/iommu/pool_revoke_check.py).
 */
#include <stdio.h>
#include <string.h>

#include <init/init.h>
#include <init/iommu_link.h>
#include <init/revoke.h>
#include <task/task.h>

#define REVOKE_STEPS 8u

enum step { STEP_FRAMES, STEP_POOL, STEP_DEVICE, STEP_RESTART };

static struct {
    uint8_t step[REVOKE_STEPS];
    unsigned n, next;
    char role[32];
    const init_role_t *policy; /* that role's entry of the policy */
    const char *ready;         /* the role's ready notification (shared object) */
    unsigned restarts;
} g_rv;

static bool parse_step(const char *w, size_t n, uint8_t *out)
{
    static const struct {
        const char *name;
        enum step step;
    } names[] = {{"frames", STEP_FRAMES},
                 {"pool", STEP_POOL},
                 {"device", STEP_DEVICE},
                 {"restart", STEP_RESTART}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i].name) == n && memcmp(names[i].name, w, n) == 0) {
            *out = (uint8_t)names[i].step;
            return true;
        }
    }
    return false;
}

void revoke_scenario_init(const char *kcmd)
{
    char steps[96];
    if (!task_cmdline_get(kcmd, "init.revoke", steps, sizeof(steps))) {
        return;
    }
    const init_role_t *r = NULL;
    if (task_cmdline_get(kcmd, "init.revoke_role", g_rv.role, sizeof(g_rv.role))) {
        r = init_policy_find(g_rv.role);
    } else {
        size_t count = 0;
        const init_role_t *roles = init_policy_roles(&count);
        for (size_t i = 0; i < count && r == NULL; i++) {
            r = init_role_grant(&roles[i], GRANT_READY_SIGNAL) != NULL ? &roles[i] : NULL;
        }
        snprintf(g_rv.role, sizeof(g_rv.role), "%s", r != NULL ? r->role : "");
    }
    const init_grant_t *ready = init_role_grant(r, GRANT_READY_SIGNAL);
    if (ready == NULL) {
        printf("init: revoke: role \"%s\" has no ready signal: scenario dropped\n", g_rv.role);
        return;
    }
    g_rv.policy = r;
    g_rv.ready = ready->object;
    for (const char *p = steps; *p != '\0' && g_rv.n < REVOKE_STEPS;) {
        size_t n = strcspn(p, ",");
        if (!parse_step(p, n, &g_rv.step[g_rv.n])) {
            printf("init: revoke: unknown step \"%.*s\": scenario dropped\n", (int)n, p);
            g_rv.n = 0;
            return;
        }
        g_rv.n++;
        p += n + (p[n] == ',');
    }
    printf("init: revoke: %u step(s) for the first %s task\n", g_rv.n, g_rv.role);
}

bool revoke_scenario_pending(void)
{
    return g_rv.next < g_rv.n;
}

static init_task_t *target(void)
{
    for (unsigned i = 0; i < g_task_count; i++) {
        init_task_t *t = &g_tasks[i];
        if (!t->reclaimed && (t->state == TASK_RUNNING || t->state == TASK_DONE) &&
            t->policy == g_rv.policy) {
            return t;
        }
    }
    return NULL;
}

/* Kill the driver and start its module again in the same task entry. Its memory is reused only
 * if the IOMMU server confirmed the removal (task_teardown keeps the arena otherwise). */
static bool restart(init_task_t *t)
{
    unsigned idx = t->id - 1, id = t->id;
    const pc_bootinfo_module_t *module = t->module;
    printf("init: revoke: killing task %u %s (its DMA may be in flight)\n", id, t->name);
    task_results_retire(t); /* its report counts; its entry is reused */
    bool ok = task_teardown(t);
    printf("init: revoke: task %u torn down%s: RAM free %llu KiB\n", id,
           ok ? ", its memory returned for reuse" : " (NOT everything came back: memory kept)",
           (unsigned long long)(ut_pool_ram_free(&g_pool) >> 10));
    if (!ok || module == NULL) {
        return false;
    }
    char words[32];
    snprintf(words, sizeof(words), "tag=r%u restarted", ++g_rv.restarts);
    init_task_t *n = spawn_module_again(module, idx, words);
    if (n == NULL || n->state != TASK_RUNNING) {
        printf("init: revoke: task %u could not be started again\n", id);
        return false;
    }
    iommu_link_send(); /* its device and memory grants, as for drivers started at boot */
    printf("init: revoke: task %u %s started again\n", n->id, n->name);
    return true;
}

static void run_step(init_task_t *t, enum step s)
{
    switch (s) {
    case STEP_FRAMES: {
        uint64_t left = 0;
        printf("init: revoke: taking back the frames of task %u %s\n", t->id, t->name);
        bool ok =
            t->ram_size != 0 && iommu_link_revoke_frames(t->id, t->ram_pa, t->ram_size, &left);
        /* The kernel capabilities of that RAM (the task's untyped and the frames made from it)
         * go with the task (restart); until the server confirmed, they must not. */
        printf("init: revoke: frames of task %u %s\n", t->id,
               ok ? "unreachable by its devices" : "NOT confirmed: kept out of use");
        break;
    }
    case STEP_POOL: {
        unsigned grant = 0;
        uint64_t pa = 0, size = 0, left = 0;
        if (!iommu_link_pool_granted(t->id, &grant, &pa, &size)) {
            printf("init: revoke: task %u %s holds no granted DMA pool\n", t->id, t->name);
            break;
        }
        printf("init: revoke: revoking pool %u of task %u %s ([%#llx, %#llx))\n", grant, t->id,
               t->name, (unsigned long long)pa, (unsigned long long)(pa + size));
        bool ok = iommu_link_revoke_memory(t->id, grant, &left);
        /* Only a confirmed revoke (error OK, no pins left) makes the pool the root task's again;
         * otherwise it stays out of use (the task's memory goes with the task, never earlier). */
        if (ok) {
            printf("init: revoke: pool %u of task %u unreachable by its devices: %llu KiB the root "
                   "task's again\n",
                   grant, t->id, (unsigned long long)(size >> 10));
        } else {
            printf("init: revoke: pool %u of task %u NOT confirmed (%llu pins left): kept out of "
                   "use\n",
                   grant, t->id, (unsigned long long)left);
        }
        break;
    }
    case STEP_DEVICE:
        printf("init: revoke: taking back the device of task %u %s\n", t->id, t->name);
        if (t->pci_sid < 0 || !iommu_link_revoke_device(t->id, (uint16_t)t->pci_sid)) {
            printf("init: revoke: device of task %u NOT taken back\n", t->id);
        }
        break;
    case STEP_RESTART:
        (void)restart(t);
        break;
    }
}

void revoke_scenario_poll(void)
{
    if (!revoke_scenario_pending()) {
        return;
    }
    pc_cptr_t ready = obj_shared_slot(g_rv.ready);
    pc_word_t word = 0;
    if (ready == 0 || pc_poll(ready, &word) != PC_OK) { /* not signalled since the last step */
        return;
    }
    init_task_t *t = target();
    if (t == NULL) {
        printf("init: revoke: no running %s task: scenario ends\n", g_rv.role);
        g_rv.next = g_rv.n;
        return;
    }
    run_step(t, (enum step)g_rv.step[g_rv.next++]);
}
