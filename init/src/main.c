/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task. It starts with every capability the kernel hands out at boot (see
 * <portcullis/bootinfo.h>), checks the boot information, prints what the machine has, starts one
 * task per boot module as the policy table says (init/src/policy.c), prints what each task
 * received and cost, and then serves as the fault handler and report sink of every task it
 * started: faults are printed (`FAULT <task> <type> rip=... addr=...`) and the faulting task stays
 * stopped while the others run on; test results are collected into one SUMMARY line.
 *
 * Kernel command-line words it understands (QEMU -append):
 *   init.halt               when every task has reported (or the deadline passed), print the
 *                           SUMMARY line and end the run with status 0 (all passed) or 1
 *   init.deadline_ms=N      how long to wait for reports (default 60000)
 *   init.expect_skipped=N   how many modules are meant to be refused (default 0)
 *   init.expect_reclaimed=N how many refused modules had objects made for them before they
 *                           failed, all of which must come back (RAM and root slots as before)
 *   init.arena_shrink=N     tests: every task's first arena is 2^N times smaller than estimated
 *                           (N <= 3), so its build fails midway, is torn down and runs again
 *   init.ecam=ADDR          ECAM base for PCI config pages, 1 MiB aligned (default: from ACPI
 *                           MCFG, else 0xb0000000, q35's; platform.c owns the window)
 *   init.revoke=STEPS       a revocation scenario on a running driver (init/src/revoke.c)
 */
#include <stdio.h>
#include <string.h>

#include <init/init.h>
#include <init/iommu_link.h>
#include <init/revoke.h>
#include <pc_libc/runtime.h>
#include <task/protocol.h>
#include <task/task.h>

extern uint64_t g_arena_shrink;

static init_acct_t g_root_acct;
static unsigned g_passed, g_failed;

static void test_line(bool ok, const char *name, const char *detail)
{
    printf("TEST %s: %s%s%s\n", name, ok ? "PASS" : "FAIL", detail[0] ? " " : "", detail);
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
    }
}

static void print_bootinfo(const pc_bootinfo_t *bi)
{
    uint64_t ram = 0, dev = 0;
    unsigned nram = 0, ndev = 0;
    for (uint32_t i = 0; i < bi->untyped_count && i < PC_BOOTINFO_MAX_UNTYPED; i++) {
        if (bi->untyped[i].is_device) {
            dev += 1ull << bi->untyped[i].size_bits;
            ndev++;
        } else {
            ram += 1ull << bi->untyped[i].size_bits;
            nram++;
        }
    }
    printf("init: boot info v%u: %u CPU(s), TSC %llu Hz, timer %llu Hz, ACPI RSDP at %#llx\n",
           bi->version, bi->num_cpus, (unsigned long long)bi->tsc_hz,
           (unsigned long long)bi->timer_hz, (unsigned long long)bi->rsdp_paddr);
    printf("init: untyped: %u RAM regions (%llu KiB), %u device regions (%llu MiB)\n", nram,
           (unsigned long long)(ram >> 10), ndev, (unsigned long long)(dev >> 20));
    printf("init: root CNode 2^%u slots, free [%u, %u); %u boot module(s); cmdline \"%s\"\n",
           bi->cnode_size_bits, bi->first_free_slot, bi->end_free_slot, bi->module_count,
           bi->cmdline);
}

static bool bootinfo_sane(const pc_bootinfo_t *bi)
{
    return bi != NULL && bi->magic == PC_BOOTINFO_MAGIC && bi->version == PC_BOOTINFO_VERSION &&
           bi->size == sizeof(pc_bootinfo_t) && bi->untyped_count <= PC_BOOTINFO_MAX_UNTYPED &&
           bi->module_count <= PC_BOOTINFO_MAX_MODULES &&
           bi->first_free_slot <= bi->end_free_slot &&
           memchr(bi->cmdline, '\0', sizeof(bi->cmdline)) != NULL;
}

static const char *state_name(enum init_task_state s)
{
    switch (s) {
    case TASK_LOADED:
        return "loaded";
    case TASK_RUNNING:
        return "running";
    case TASK_DONE:
        return "done";
    case TASK_FAULTED:
        return "faulted";
    case TASK_SKIPPED:
        return "skipped";
    }
    return "?";
}

static void print_summary(void)
{
    printf("init: %-3s %-26s %-14s %-8s %6s %6s %10s %6s %6s %6s\n", "id", "task", "role", "state",
           "caps", "slots", "bytes", "frames", "tables", "device");
    for (unsigned i = 0; i < g_task_count; i++) {
        const init_task_t *t = &g_tasks[i];
        printf("init: %-3u %-26s %-14s %-8s %6u %6u %10llu %6u %6u %6u\n", t->id, t->name,
               t->role[0] ? t->role : "-", state_name(t->state), t->caps_granted,
               t->acct.task_slots, (unsigned long long)t->acct.untyped_bytes, t->acct.frames,
               t->acct.tables, t->acct.device_pages);
    }
    printf("init: root task: %u root-CNode slots in use (high water %u of %u), %llu bytes of its "
           "own objects,"
           " %llu KiB RAM free, %u device-untyped nodes, %u task(s) torn down\n",
           g_slots.used, g_slots.high_water, g_slots.end - g_slots.first,
           (unsigned long long)g_root_acct.untyped_bytes,
           (unsigned long long)(ut_pool_ram_free(&g_pool) >> 10), obj_device_nodes(),
           g_tasks_reclaimed);
}

/* ---- faults and reports ---- */

static const char *fault_name(uint64_t type, uint64_t vector)
{
    if (type == PC_FAULT_VM) {
        return "page-fault(#PF)";
    }
    switch (vector) {
    case 0:
        return "divide-error(#DE)";
    case 6:
        return "invalid-opcode(#UD)";
    case 13:
        return "general-protection(#GP)";
    case 14:
        return "page-fault(#PF)";
    default:
        return "exception";
    }
}

/* The cmdline's fault=pf|gp|de|ud as the vector expected. */
static bool expected_vector(const char *cmdline, uint64_t *vector, char *kind, size_t kind_size)
{
    if (!task_cmdline_get(cmdline, "fault", kind, kind_size)) {
        return false;
    }
    static const struct {
        const char *k;
        uint64_t v;
    } map[] = {{"pf", 14}, {"gp", 13}, {"de", 0}, {"ud", 6}, {"stack", 14}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(kind, map[i].k) == 0) {
            *vector = map[i].v;
            return true;
        }
    }
    return false;
}

static char g_cmdlines[INIT_MAX_TASKS][PC_BOOTINFO_MODULE_NAME_MAX + 1];

static void handle_fault(init_task_t *t, const pc_msg_t *m)
{
    uint64_t mr[PC_FAULT_LENGTH] = {0};
    (void)pc_msg_get_words(m, mr, PC_FAULT_LENGTH);
    uint64_t vector = mr[PC_FAULT_MR_TYPE] == PC_FAULT_VM ? 14 : mr[PC_FAULT_MR_VECTOR];
    printf("FAULT %s %s rip=%#llx addr=%#llx vector=%llu error=%#llx rsp=%#llx\n", t->name,
           fault_name(mr[PC_FAULT_MR_TYPE], vector), (unsigned long long)mr[PC_FAULT_MR_RIP],
           (unsigned long long)mr[PC_FAULT_MR_ADDR], (unsigned long long)vector,
           (unsigned long long)mr[PC_FAULT_MR_ERROR], (unsigned long long)mr[PC_FAULT_MR_RSP]);
    t->state = TASK_FAULTED;
    t->fault_vector = vector;
    (void)pc_tcb_suspend(t->tcb); /* stays stopped; everything else runs on */

    const char *cmdline = g_cmdlines[t->id - 1];
    char name[64], detail[96], kind[8];
    if (t->policy != NULL && (t->policy->flags & ROLE_EXPECT_FAULT)) {
        uint64_t want = 0, want_addr = 0;
        bool known = expected_vector(cmdline, &want, kind, sizeof(kind));
        bool addr_ok = true;
        if (known && strcmp(kind, "stack") == 0) {
            /* a stack overflow must land in the guard page below the runtime's stack */
            addr_ok = t->guard != 0 && mr[PC_FAULT_MR_ADDR] >= t->guard &&
                      mr[PC_FAULT_MR_ADDR] < t->guard + 4096;
        } else if (known && want == 14 && task_cmdline_get_u64(cmdline, "addr", &want_addr)) {
            addr_ok = mr[PC_FAULT_MR_ADDR] == want_addr;
        }
        snprintf(name, sizeof(name), "fault_%s_reported_and_task_stopped",
                 known ? kind : "unknown");
        snprintf(detail, sizeof(detail), "(%s: vector %llu, expected %llu%s)", t->name,
                 (unsigned long long)vector, (unsigned long long)want,
                 addr_ok ? "" : ", wrong address");
        test_line(known && vector == want && addr_ok && mr[PC_FAULT_MR_RIP] >= TASK_ELF_MIN &&
                      mr[PC_FAULT_MR_RIP] < TASK_ELF_MAX,
                  name, detail);
    } else if (t->policy != NULL && (t->policy->flags & ROLE_TEST)) {
        snprintf(name, sizeof(name), "%s_runs_without_faulting", t->name);
        test_line(false, name, "(unexpected fault)");
    }
}

/* One line of text from a task (TASK_LABEL_LOG), printed whole. */
static void print_log(const pc_msg_t *m)
{
    const pc_ipc_buffer_t *buf = pc_ipc_buffer();
    unsigned len = pc_msginfo_length(m->info);
    if (len < 1) {
        return;
    }
    uint64_t n = m->mr[0];
    if (n > TASK_LOG_MAX || (n + 7) / 8 > len - 1) {
        n = (uint64_t)(len - 1) * 8 < TASK_LOG_MAX ? (uint64_t)(len - 1) * 8 : TASK_LOG_MAX;
    }
    char line[TASK_LOG_MAX + 1];
    for (uint64_t i = 0; i < n; i++) {
        unsigned w = 1 + (unsigned)(i / 8);
        pc_word_t word = w < PC_MSG_REG_COUNT ? m->mr[w] : buf->mr[w];
        char ch = (char)(word >> (8 * (i % 8)));
        line[i] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
    }
    line[n] = '\0';
    printf("%s\n", line);
}

static bool all_finished(void)
{
    if (revoke_scenario_pending()) {
        return false; /* the scenario still has to run (it restarts a driver that reported) */
    }
    for (unsigned i = 0; i < g_task_count; i++) {
        const init_task_t *t = &g_tasks[i];
        if (t->state != TASK_RUNNING || t->policy == NULL) {
            continue;
        }
        if (t->policy->flags & (ROLE_TEST | ROLE_EXPECT_FAULT)) {
            return false;
        }
    }
    return true;
}

/* Handles one received message; returns whether to reply with *m. */
static bool handle_message(pc_msg_t *m)
{
    init_task_t *t = task_by_id(m->badge);
    uint64_t label = pc_msginfo_label(m->info);
    if (label == PC_LABEL_FAULT && t != NULL) {
        handle_fault(t, m);
        return false; /* no reply: the faulting thread stays blocked */
    }
    if (t != NULL && label == TASK_LABEL_DONE && pc_msginfo_length(m->info) >= 2) {
        t->passed = (uint32_t)m->mr[0];
        t->failed = (uint32_t)m->mr[1];
        if (t->state == TASK_RUNNING) {
            t->state = TASK_DONE;
        }
        printf("init: %s finished: %u passed, %u failed\n", t->name, t->passed, t->failed);
        m->info = pc_msginfo(0, 0, 0, 1);
        m->mr[0] = PC_OK;
        if (t->hp_fresh && t->state == TASK_DONE && !t->reclaimed) {
            /* a driver started for a hot-added device has finished: it goes (no reply: its
             * thread is stopped), its results stay counted */
            task_results_retire(t);
            bool ok = task_teardown(t);
            printf("init: task %u %s torn down%s: RAM free %llu KiB, root slots free %u, %u "
                   "task(s) torn down\n",
                   t->id, t->name, ok ? "" : " (NOT everything came back)",
                   (unsigned long long)(ut_pool_ram_free(&g_pool) >> 10), init_free_slots(),
                   g_tasks_reclaimed);
            return false;
        }
    } else if (t != NULL && label == TASK_LABEL_LOG) {
        print_log(m);
        m->info = pc_msginfo(0, 0, 0, 1);
        m->mr[0] = PC_OK;
    } else if (t != NULL && label == TASK_LABEL_HP_ASSIGN) {
        hp_assign(t, m);
    } else if (t != NULL && label == TASK_LABEL_ECHO) {
        pc_word_t a = m->mr[0], b = m->mr[1], c = m->mr[2], d = m->mr[3];
        m->info = pc_msginfo(0, 0, 0, 4);
        m->mr[0] = d;
        m->mr[1] = c;
        m->mr[2] = b;
        m->mr[3] = a;
    } else {
        m->info = pc_msginfo(0, 0, 0, 1);
        m->mr[0] = PC_ERR_INVALID_ARGUMENT;
    }
    return true;
}

static uint64_t remaining_us(uint64_t deadline_tsc)
{
    uint64_t now = task_rdtsc();
    if (now >= deadline_tsc) {
        return 0;
    }
    uint64_t per_us = g_tsc_hz / 1000000u;
    if (per_us == 0) {
        per_us = 1000; /* no calibration: assume 1 GHz */
    }
    uint64_t us = (deadline_tsc - now) / per_us;
    return us ? us : 1;
}

#define REVOKE_POLL_US 10000u

static void serve(bool halt, uint64_t deadline_ms)
{
    uint64_t per_ms = g_tsc_hz ? g_tsc_hz / 1000u : 1000000u;
    uint64_t deadline = task_rdtsc() + deadline_ms * per_ms;
    bool reported = false;
    bool reply = false;
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    for (;;) {
        if (!reported && all_finished()) {
            reported = true;
            break;
        }
        uint64_t tmo = remaining_us(deadline);
        if (tmo == 0) {
            break;
        }
        if (revoke_scenario_pending() && tmo > REVOKE_POLL_US) {
            tmo = REVOKE_POLL_US; /* look at the driver's "ready" signal that often */
        }
        pc_word_t err = reply ? pc_reply_recv(g_init_ep, &m, tmo) : pc_recv(g_init_ep, &m, tmo);
        reply = false;
        if (err == PC_ERR_TIMEOUT) {
            /* nobody waits for a reply now: the step's own calls cannot disturb one */
            revoke_scenario_poll();
            continue;
        }
        if (err != PC_OK) {
            printf("init: receive failed: error %llu\n", (unsigned long long)err);
            memset(&m, 0, sizeof(m));
            continue;
        }
        reply = handle_message(&m);
    }

    /* Results: tasks that never reported are failures. */
    for (unsigned i = 0; i < g_task_count; i++) {
        init_task_t *t = &g_tasks[i];
        if (t->policy == NULL || t->state == TASK_SKIPPED) {
            continue;
        }
        char name[64];
        if ((t->policy->flags & ROLE_TEST) && t->state == TASK_RUNNING) {
            snprintf(name, sizeof(name), "%s_reports_before_deadline", t->name);
            test_line(false, name, "(no report)");
        } else if ((t->policy->flags & ROLE_EXPECT_FAULT) && t->state != TASK_FAULTED) {
            snprintf(name, sizeof(name), "%s_faults_as_expected", t->name);
            test_line(false, name,
                      t->state == TASK_DONE ? "(finished without faulting)" : "(no fault seen)");
        }
        g_passed += t->passed;
        g_failed += t->failed;
    }
    uint32_t retired_passed = 0, retired_failed = 0;
    task_results_retired(&retired_passed, &retired_failed);
    g_passed += retired_passed;
    g_failed += retired_failed;
    print_summary();
    printf("SUMMARY: %u passed, %u failed\n", g_passed, g_failed);
    if (halt) {
        fflush(stdout);
        pc_debug_halt(g_failed ? 1 : 0);
    }
    /* Not halting: keep serving faults and echoes for whatever still runs. */
    for (;;) {
        pc_word_t err = reply ? pc_reply_recv(g_init_ep, &m, PC_TIMEOUT_FOREVER)
                              : pc_recv(g_init_ep, &m, PC_TIMEOUT_FOREVER);
        reply = false;
        if (err != PC_OK) {
            continue;
        }
        reply = handle_message(&m);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const pc_bootinfo_t *bi = pc_start_arg();
    if (!bootinfo_sane(bi)) {
        printf("init: boot information missing or malformed; nothing started\n");
        printf("SUMMARY: 0 passed, 1 failed\n");
        pc_debug_halt(1);
    }
    pc_set_ipc_buffer((pc_ipc_buffer_t *)(uintptr_t)bi->ipc_buffer_vaddr);
    g_tsc_hz = bi->tsc_hz;
    print_bootinfo(bi);

    char kcmd[PC_BOOTINFO_CMDLINE_MAX + 8];
    snprintf(kcmd, sizeof(kcmd), "kernel %s", bi->cmdline); /* the first word is skipped */
    bool halt = task_cmdline_has(kcmd, "init.halt");
    uint64_t deadline_ms = 60000, expect_skipped = 0, expect_reclaimed = 0;
    bool check_reclaimed = task_cmdline_get_u64(kcmd, "init.expect_reclaimed", &expect_reclaimed);
    (void)task_cmdline_get_u64(kcmd, "init.deadline_ms", &deadline_ms);
    (void)task_cmdline_get_u64(kcmd, "init.expect_skipped", &expect_skipped);
    uint64_t ecam = 0;
    bool ecam_set = task_cmdline_get_u64(kcmd, "init.ecam", &ecam);
    (void)task_cmdline_get_u64(kcmd, "init.arena_shrink", &g_arena_shrink);
    if (g_arena_shrink > 3) {
        g_arena_shrink = 3; /* a task is built at most four times */
    }

    revoke_scenario_init(kcmd);

    const char *bad = init_policy_check();
    if (bad != NULL) {
        printf("init: policy table rejected: %s; nothing started\n", bad);
        printf("SUMMARY: 0 passed, 1 failed\n");
        pc_debug_halt(1);
    }

    obj_init(bi);
    pc_word_t err = obj_new(PC_OBJ_ENDPOINT, 0, 1, &g_root_acct, &g_init_ep);
    if (err != PC_OK) {
        printf("init: cannot create its endpoint (error %llu); nothing started\n",
               (unsigned long long)err);
        printf("SUMMARY: 0 passed, 1 failed\n");
        pc_debug_halt(1);
    }
    platform_discover(bi->rsdp_paddr, &g_root_acct);
    if (ecam_set && !platform_ecam_override(ecam)) {
        printf("init: init.ecam=%#llx is not 1 MiB aligned: ignored\n", (unsigned long long)ecam);
    }
    unsigned npci = pci_port_scan();
    printf("init: PCI: %u function(s)\n", npci);
    for (unsigned i = 0; i < npci; i++) {
        const init_pci_dev_t *d = pci_port_dev(i);
        printf("init:   %02x:%02x.%x %04x:%04x%s\n", d->sid >> 8, (d->sid >> 3) & 0x1f, d->sid & 7,
               d->vendor, d->device, d->header_type == 1 ? " (bridge)" : "");
    }

    /* Module 0 is the root task itself. An IOMMU server among the modules means every device
     * interrupt is remapped through it (spawn.c hands out vector grants, not address/data). */
    for (uint32_t i = 1; i < bi->module_count; i++) {
        char role[32];
        const init_role_t *r = init_policy_of_cmdline(bi->module[i].cmdline, role, sizeof(role));
        if (r != NULL && (r->flags & ROLE_IOMMU_SERVER)) {
            iommu_link_expect_server();
        }
    }
    unsigned loaded = 0, skipped = 0;
    for (uint32_t i = 1; i < bi->module_count; i++) {
        unsigned idx = g_task_count;
        spawn_module(&bi->module[i], i);
        if (idx < INIT_MAX_TASKS) {
            memcpy(g_cmdlines[idx], bi->module[i].cmdline, PC_BOOTINFO_MODULE_NAME_MAX);
        }
        if (g_task_count > idx && g_tasks[idx].state == TASK_SKIPPED) {
            skipped++;
        } else if (g_task_count > idx) {
            loaded++;
        }
    }
    iommu_link_send(); /* drivers' device grants, before any of them runs */
    printf("init: %u task(s) started, %u module(s) skipped\n", loaded, skipped);
    print_summary();
    char detail[64];
    snprintf(detail, sizeof(detail), "(%u started, %u skipped, %llu skip(s) expected)", loaded,
             skipped, (unsigned long long)expect_skipped);
    test_line(skipped == expect_skipped && loaded + skipped + 1 == bi->module_count,
              "init_starts_every_valid_module", detail);
    if (g_arena_shrink > 0) {
        snprintf(detail, sizeof(detail), "(%u rebuild(s), %u started, %u skipped)", g_rebuilds,
                 loaded, skipped);
        test_line(g_rebuilds > 0 && skipped == expect_skipped,
                  "init_tasks_rebuilt_after_arena_too_small", detail);
    }
    if (check_reclaimed) {
        snprintf(detail, sizeof(detail), "(%u of %llu failed modules: RAM and slots back)",
                 g_modules_reclaimed_exactly, (unsigned long long)expect_reclaimed);
        test_line(g_modules_reclaimed_exactly == expect_reclaimed,
                  "init_module_failing_midway_reclaimed", detail);
    }
    serve(halt, deadline_ms);
    return 0;
}
