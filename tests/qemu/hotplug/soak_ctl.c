/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The in-guest sequencer of the hotplug soak (role drivers_surprise_ctl; tests/qemu/hotplug,
 * soak.py, docs/testing.md "Soak"). The edu driver serves edu0 in rp2 (mode=serve cycles=N) and
 * signals "ready" whenever its device works. N times this task waits for that signal, then picks
 * the removal (seeded): orderly (it asks QEMU, through the console line the QMP script follows,
 * for device_del: the attention button) or surprise (it powers the populated slot off through
 * the hotplug server's control endpoint: the card vanishes inside that write). Then the QMP script
 * inserts a new card, the driver attaches it under a new generation, checks its old handles are
 * refused, maps its buffers again, moves data through the IOMMU and signals ready: one cycle.
 *
 * It measures each cycle in guest time, from the removal request to the ready signal, and compares
 * the IOMMU server's accounting (domains, mappings, table pages, pins, stuck, interrupt entries)
 * with that of the start every `every` cycles and at the end (which must match exactly, with the
 * generation advanced by N). Every wait has a deadline.
 *
 * Command line: n=N (cycles), seed=S, surprise=P (percent of surprise removals, default 50),
 * port=<root port sid> (default 0x10, rp2), dev=<device sid> (default 0x0200), every=K (100).
 * Console protocol with the QMP script (soak.py):
 *   "soak: start ..."                         the driver works; counts at start
 *   "soak: cycle K orderly: device_del"       the script does device_del + device_add
 *   "soak: cycle K surprise: power-off"       this task asks the hotplug server to power off
 *   "soak: cycle K surprise: off"             the slot is off and the card gone: device_add
 *   "soak: cycle K done (...) us=T"           the driver works again T us after the request
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hotplug/hotplug.h>
#include <hpsrv/client.h>
#include <hpsrv/protocol.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

#define SOAK_MAX 2048u
#define STEP_TIMEOUT_MS 30000u

static unsigned g_passed, g_failed;
static pc_cptr_t g_ctl, g_ready;
static const task_start_info_t *g_si;
static uint64_t g_lat[2][SOAK_MAX]; /* [orderly, surprise] cycle latencies, us */
static unsigned g_nlat[2];
static bool g_ready_pending; /* a ready signal seen while sleeping */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    task_log(line);
}

static void result(const char *name, bool ok, const char *detail)
{
    say("TEST soak_%s: %s %s", name, ok ? "PASS" : "FAIL", detail);
    ok ? g_passed++ : g_failed++;
}

static uint64_t now_us(void)
{
    uint64_t hz = g_si->tsc_hz >= 1000000 ? g_si->tsc_hz : 1000000000ull;
    return task_rdtsc() / (hz / 1000000u);
}

/* Sleeps up to `us` on the ready notification; remembers a signal that arrives meanwhile. */
static void nap(uint64_t us)
{
    pc_word_t word = 0;
    if (pc_wait(g_ready, us, &word) == PC_OK) {
        g_ready_pending = true;
    }
}

/* Waits (bounded) for the driver's ready signal; consumes it. */
static bool wait_ready(uint64_t timeout_ms)
{
    uint64_t end = now_us() + timeout_ms * 1000u;
    while (!g_ready_pending && now_us() < end) {
        nap(100000);
    }
    bool got = g_ready_pending;
    g_ready_pending = false;
    return got;
}

static struct hps_slot_status slot_status(uint64_t port)
{
    return hps_slot_status(g_ctl, port);
}

/* The IOMMU server's leak accounting (its counts method, through the hotplug server). */
struct counts {
    uint64_t err;
    struct hps_iommu_counts_rets c;
};

static struct counts iommu_counts(uint64_t dev)
{
    struct counts c;
    c.err = hps_iommu_counts(g_ctl, dev, &c.c);
    return c;
}

/* Equal accounting, the generation aside. */
static bool counts_equal(const struct counts *a, const struct counts *b)
{
    return a->err == 0 && b->err == 0 && hps_counts_same(&a->c, &b->c);
}

static void counts_str(const struct counts *k, char *out, size_t cap)
{
    const struct hps_iommu_counts_rets *c = &k->c;
    snprintf(out, cap,
             "err %llu dom %llu map %llu pt %llu pin %llu stuck %llu dev %llu/%llu/%llu irte %llu "
             "gen %llu",
             (unsigned long long)k->err, (unsigned long long)c->domains,
             (unsigned long long)c->mappings, (unsigned long long)c->table_pages,
             (unsigned long long)c->pins, (unsigned long long)c->stuck,
             (unsigned long long)c->present, (unsigned long long)c->fenced,
             (unsigned long long)c->quarantined, (unsigned long long)c->irtes,
             (unsigned long long)c->generation);
}

/* Polls (bounded) until the accounting equals `want`: the driver may still be re-mapping. */
static struct counts counts_settled(uint64_t dev, const struct counts *want, uint64_t timeout_ms)
{
    uint64_t end = now_us() + timeout_ms * 1000u;
    struct counts c;
    for (;;) {
        c = iommu_counts(dev);
        if (counts_equal(want, &c) || now_us() >= end) {
            return c;
        }
        nap(10000);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median and p99 (nearest rank) of a sorted copy. */
static void percentiles(const uint64_t *v, unsigned n, uint64_t *med, uint64_t *p99, uint64_t *max)
{
    static uint64_t s[2 * SOAK_MAX];
    memcpy(s, v, n * sizeof(s[0]));
    qsort(s, n, sizeof(s[0]), cmp_u64);
    *med = n ? s[(n - 1) / 2] : 0;
    unsigned r = (99u * n + 99u) / 100u; /* ceil(0.99 n) */
    *p99 = n ? s[r - 1] : 0;
    *max = n ? s[n - 1] : 0;
}

static void bench_line(const char *what, const uint64_t *v, unsigned n)
{
    uint64_t med, p99, max;
    percentiles(v, n, &med, &p99, &max);
    say("BENCH soak_cycle_guest_us %s n=%u median=%llu p99=%llu max=%llu", what, n,
        (unsigned long long)med, (unsigned long long)p99, (unsigned long long)max);
}

static uint64_t g_rng;

static uint64_t rng(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* One cycle: the removal of the kind chosen, the re-insertion by the script, the driver ready
 * with a new occupant. Returns false (after a FAIL line) when a step misses its deadline. */
static bool cycle(uint64_t k, uint64_t port, bool surprise)
{
    char detail[160];
    struct hps_slot_status s0 = slot_status(port);
    if (s0.err != HP_OK || s0.state != HP_ST_ON) {
        snprintf(detail, sizeof(detail), "(cycle %llu: slot err %llu state %llu before removal)",
                 (unsigned long long)k, (unsigned long long)s0.err, (unsigned long long)s0.state);
        result("slot_on_before_each_cycle", false, detail);
        return false;
    }
    say("soak: cycle %llu %s", (unsigned long long)k,
        surprise ? "surprise: power-off" : "orderly: device_del");
    uint64_t t0 = now_us();
    if (surprise) {
        uint64_t e = hps_slot_request(g_ctl, port, HP_REQ_POWER_OFF);
        if (e != HP_OK) {
            snprintf(detail, sizeof(detail), "(cycle %llu: power-off request: error %llu)",
                     (unsigned long long)k, (unsigned long long)e);
            result("power_off_accepted", false, detail);
            return false;
        }
    }
    /* the removal, counted (the script may insert the next card at once) */
    uint64_t end = now_us() + STEP_TIMEOUT_MS * 1000u;
    struct hps_slot_status s = s0;
    while (s.removed <= s0.removed && now_us() < end) {
        nap(5000);
        s = slot_status(port);
    }
    if (s.removed <= s0.removed) {
        snprintf(detail, sizeof(detail), "(cycle %llu %s: %llu removal(s), state %llu)",
                 (unsigned long long)k, surprise ? "surprise" : "orderly",
                 (unsigned long long)s.removed, (unsigned long long)s.state);
        result("removal_within_deadline", false, detail);
        return false;
    }
    if (surprise) {
        say("soak: cycle %llu surprise: off", (unsigned long long)k);
    }
    /* a ready signal before the removal completed belongs to no new occupant */
    g_ready_pending = false;
    bool ready = wait_ready(STEP_TIMEOUT_MS);
    uint64_t t1 = now_us();
    s = slot_status(port);
    bool ok = ready && s.err == HP_OK && s.state == HP_ST_ON &&
              HP_HANDLE_GEN(s.handle) > HP_HANDLE_GEN(s0.handle) && s.added > s0.added;
    if (!ok) {
        snprintf(detail, sizeof(detail),
                 "(cycle %llu %s: ready %d, state %llu, handle %#llx after %#llx)",
                 (unsigned long long)k, surprise ? "surprise" : "orderly", ready,
                 (unsigned long long)s.state, (unsigned long long)s.handle,
                 (unsigned long long)s0.handle);
        result("new_occupant_ready_within_deadline", false, detail);
        return false;
    }
    unsigned kind = surprise ? 1 : 0;
    if (g_nlat[kind] < SOAK_MAX) {
        g_lat[kind][g_nlat[kind]++] = t1 - t0;
    }
    say("soak: cycle %llu done (%s, handle %#llx) us=%llu", (unsigned long long)k,
        surprise ? "surprise" : "orderly", (unsigned long long)s.handle,
        (unsigned long long)(t1 - t0));
    return true;
}

int main(void)
{
    g_si = task_start();
    if (g_si == NULL) {
        return 1;
    }
    g_ctl = task_cap_slot(g_si, "hotplug_ctl", TASK_CAP_ENDPOINT);
    g_ready = task_cap_slot(g_si, "ready", TASK_CAP_NOTIFICATION);
    uint64_t n = 20, seed = 1, pct = 50, port = 0x10, dev = 0x0200, every = 100;
    (void)task_cmdline_get_u64(g_si->cmdline, "n", &n);
    (void)task_cmdline_get_u64(g_si->cmdline, "seed", &seed);
    (void)task_cmdline_get_u64(g_si->cmdline, "surprise", &pct);
    (void)task_cmdline_get_u64(g_si->cmdline, "port", &port);
    (void)task_cmdline_get_u64(g_si->cmdline, "dev", &dev);
    (void)task_cmdline_get_u64(g_si->cmdline, "every", &every);
    g_rng = seed * 0x9e3779b97f4a7c15ull + 1u;
    char detail[200], b[120], a[120];

    bool ok = g_ctl != 0 && g_ready != 0 && n <= SOAK_MAX && wait_ready(60000);
    struct hps_slot_status s = slot_status(port);
    snprintf(detail, sizeof(detail), "(slot %#llx err %llu state %llu handle %#llx)",
             (unsigned long long)port, (unsigned long long)s.err, (unsigned long long)s.state,
             (unsigned long long)s.handle);
    ok = ok && s.err == HP_OK && s.state == HP_ST_ON;
    result("driver_ready_at_start", ok, detail);

    /* the driver has attached and mapped its buffers: the state every cycle returns to */
    struct counts start = iommu_counts(dev);
    counts_str(&start, b, sizeof(b));
    say("soak: start: n=%llu seed=%llu surprise=%llu%% counts: %s", (unsigned long long)n,
        (unsigned long long)seed, (unsigned long long)pct, b);

    uint64_t done = 0, drift_at = 0, by_kind[2] = {0, 0};
    uint64_t t_start = now_us();
    for (uint64_t k = 1; ok && k <= n; k++) {
        bool surprise = rng() % 100u < pct;
        ok = cycle(k, port, surprise);
        if (!ok) {
            break;
        }
        done++;
        by_kind[surprise]++;
        if (every != 0 && k % every == 0 && k < n) {
            struct counts want = start;
            struct counts c = counts_settled(dev, &want, 3000);
            counts_str(&c, a, sizeof(a));
            say("soak: after %llu cycles: counts: %s", (unsigned long long)k, a);
            if (!counts_equal(&start, &c) && drift_at == 0) {
                drift_at = k;
            }
        }
    }
    uint64_t t_total = now_us() - t_start;
    snprintf(detail, sizeof(detail), "(%llu of %llu cycles: %llu orderly, %llu surprise; %llu ms)",
             (unsigned long long)done, (unsigned long long)n, (unsigned long long)by_kind[0],
             (unsigned long long)by_kind[1], (unsigned long long)(t_total / 1000u));
    result("cycles_completed", done == n, detail);

    struct counts end = counts_settled(dev, &start, 3000);
    counts_str(&start, b, sizeof(b));
    counts_str(&end, a, sizeof(a));
    snprintf(detail, sizeof(detail), "(start: %s; end: %s)", b, a);
    result("iommu_counts_back_to_start",
           counts_equal(&start, &end) && end.c.generation == start.c.generation + n, detail);
    snprintf(detail, sizeof(detail), "(first drift seen after %llu cycles; checked every %llu)",
             (unsigned long long)drift_at, (unsigned long long)every);
    result("iommu_counts_never_drift", drift_at == 0, detail);

    struct hps_server_stats_rets st;
    bool have = hps_server_stats(g_ctl, &st) == HP_OK;
    snprintf(detail, sizeof(detail),
             "(%llu fences, %llu removed, %llu added; %llu failed IOMMU calls, %llu timeouts)",
             (unsigned long long)st.fences, (unsigned long long)st.removed,
             (unsigned long long)st.added, (unsigned long long)(have ? st.iommu_failed : ~0ull),
             (unsigned long long)(have ? st.timeouts : ~0ull));
    result("no_failed_iommu_calls_or_deadlines", have && st.iommu_failed == 0 && st.timeouts == 0,
           detail);

    static uint64_t all[2 * SOAK_MAX];
    memcpy(all, g_lat[0], g_nlat[0] * sizeof(all[0]));
    memcpy(all + g_nlat[0], g_lat[1], g_nlat[1] * sizeof(all[0]));
    bench_line("all", all, g_nlat[0] + g_nlat[1]);
    bench_line("orderly", g_lat[0], g_nlat[0]);
    bench_line("surprise", g_lat[1], g_nlat[1]);
    (void)task_report_done(g_passed, g_failed);
    return g_failed ? 1 : 0;
}
