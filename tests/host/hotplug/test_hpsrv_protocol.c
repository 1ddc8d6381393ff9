/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hotplug server's endpoint protocol (<hpsrv/protocol.h>) as its tables declare it: every
 * generated encoder's message decodes to its arguments, every malformed message is refused with
 * an error its method declares and leaves the request untouched, the labels and reply lengths
 * on the wire are the ones deployed clients speak, and next_event's replies are checked.
 */
#include <stdio.h>
#include <string.h>

#include <hotplug/gone.h>
#include <hotplug/hotplug.h>
#include <hpsrv/protocol.h>

static int failures;
static const char *current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s: %s:%d: %s\n", current, __FILE__, __LINE__, #cond);           \
            failures++;                                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define DRIVER (HPS_BADGE_DRIVER_BASE | 7u)

static struct hps_msg with_badge(struct hps_msg m, uint64_t badge)
{
    m.badge = badge;
    return m;
}

/* Decodes and checks that an error leaves the request as it was. */
static uint64_t decode(const struct hps_msg *m, struct hps_request *req, bool *untouched)
{
    struct hps_request before;
    memset(&before, 0xa5, sizeof(before));
    memset(req, 0xa5, sizeof(*req));
    uint64_t e = hps_decode(m, req);
    *untouched = e == 0 || memcmp(&before, req, sizeof(before)) == 0;
    return e;
}

static void test_wire_labels_and_reply_lengths_unchanged(void)
{
    CHECK(HPS_NEXT_EVENT == 0x20 && HP_GONE_DETACHED == 3);
    CHECK(HPS_SLOT_REQUEST == 0x30 && HPS_SLOT_STATUS == 0x31 && HPS_SLOT_FIND == 0x32 &&
          HPS_SERVER_STATS == 0x33 && HPS_IOMMU_COUNTS == 0x34);
    CHECK(HPS_EVENT_NONE == 0 && HPS_EVENT_DEVICE_NEW == 0x10);
    CHECK(HPS_STATUS_WORDS == 6 && HPS_STATS_WORDS == 8 && HPS_COUNTS_WORDS == 11);
    CHECK(HPS_SLOT_FIND_REPLY_WORDS == 2 && HPS_SLOT_REQUEST_REPLY_WORDS == 1);
    unsigned n;
    const struct hps_method_info *m = hps_methods(&n);
    CHECK(n == 6);
    for (unsigned i = 0; i < n; i++) {
        CHECK(hps_method_find(m[i].label) == &m[i]);
        CHECK(m[i].errors != 0 && (m[i].errors & 1) == 0); /* every method can fail; 0 is OK */
    }
    CHECK(hps_method_find(HP_GONE_DETACHED) == NULL); /* the device-gone table's */
}

static void test_every_encoded_request_decodes_to_its_arguments(void)
{
    struct hps_msg m;
    struct hps_request r;
    bool same;
    hps_encode_slot_request(&m, 0x0018, HP_REQ_REMOVE);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(m.len == 2 && m.w[0] == 0x0018 && m.w[1] == HP_REQ_REMOVE);
    CHECK(decode(&m, &r, &same) == 0 && r.label == HPS_SLOT_REQUEST &&
          r.caller == HPS_CALLER_CONTROL && r.a.slot_request.port == 0x18 &&
          r.a.slot_request.request == HP_REQ_REMOVE);
    hps_encode_slot_status(&m, 0xffff);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == 0 && r.a.slot_status.port == 0xffff);
    hps_encode_slot_find(&m, 0x0200);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == 0 && r.a.slot_find.device == 0x0200);
    hps_encode_server_stats(&m);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(m.len == 0 && decode(&m, &r, &same) == 0 && r.label == HPS_SERVER_STATS);
    hps_encode_iommu_counts(&m, 0x0100);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == 0 && r.a.iommu_counts.sid == 0x0100);
    hps_encode_next_event(&m);
    m = with_badge(m, DRIVER);
    CHECK(decode(&m, &r, &same) == 0 && r.label == HPS_NEXT_EVENT &&
          r.caller == HPS_CALLER_DRIVER && r.task == 7);

    /* detached: the device-gone protocol's encoder, the server's decoder. */
    struct hp_gone_msg g = {HP_GONE_DETACHED, HP_HANDLE(0x0200, 5)};
    unsigned len = 0;
    m = (struct hps_msg){.badge = DRIVER};
    CHECK(hp_gone_encode(&g, &m.label, m.w, HPS_MSG_WORDS, &len) == HP_GONE_OK);
    m.len = len;
    CHECK(decode(&m, &r, &same) == 0 && r.label == HP_GONE_DETACHED &&
          r.a.detached_handle == g.handle && r.task == 7);
}

static void test_wrong_word_count_refused_with_a_declared_error(void)
{
    unsigned n;
    const struct hps_method_info *mi = hps_methods(&n);
    for (unsigned i = 0; i < n; i++) {
        uint64_t badge = mi[i].caller == HPS_CALLER_DRIVER ? DRIVER : HPS_BADGE_CONTROL;
        for (unsigned len = 0; len <= HPS_MSG_WORDS + 3; len++) {
            if (len == mi[i].nargs) {
                continue;
            }
            struct hps_msg m = {.label = mi[i].label, .badge = badge, .len = len};
            struct hps_request r;
            bool same;
            uint64_t e = decode(&m, &r, &same);
            CHECK(e != 0 && e < 64 && (mi[i].errors & (1ull << e)) && same);
        }
    }
    const struct hp_gone_method_info *det = hp_gone_method_find(HP_GONE_DETACHED);
    for (unsigned len = 0; len <= HPS_MSG_WORDS + 3; len++) {
        struct hps_msg m = {
            .label = HP_GONE_DETACHED, .badge = DRIVER, .len = len, .w = {HP_HANDLE(1, 1), 0}};
        struct hps_request r;
        bool same;
        uint64_t e = decode(&m, &r, &same);
        CHECK(len == det->nargs ? e == 0 : e == HP_GONE_ERR_LENGTH && same);
    }
}

static void test_labels_of_another_caller_are_refused(void)
{
    struct hps_msg m;
    struct hps_request r;
    bool same;
    hps_encode_next_event(&m);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    m = (struct hps_msg){.label = HP_GONE_DETACHED,
                         .badge = HPS_BADGE_CONTROL,
                         .len = 1,
                         .w = {HP_HANDLE(0x0100, 1)}};
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    hps_encode_slot_request(&m, 0x10, HP_REQ_POWER_OFF);
    m = with_badge(m, DRIVER);
    CHECK(decode(&m, &r, &same) == HP_GONE_ERR_LABEL && same);
    m = (struct hps_msg){
        .label = HP_GONE_DEVICE_GOING, .badge = DRIVER, .len = 1, .w = {HP_HANDLE(0x0100, 1)}};
    CHECK(decode(&m, &r, &same) == HP_GONE_ERR_LABEL && same); /* server -> driver only */
    m = (struct hps_msg){.label = 0x7777, .badge = HPS_BADGE_CONTROL};
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    m = (struct hps_msg){.label = 0x7777, .badge = DRIVER};
    CHECK(decode(&m, &r, &same) == HP_GONE_ERR_LABEL && same);
    /* Neither a driver nor the control badge: task id 0, a foreign badge. */
    hps_encode_server_stats(&m);
    m = with_badge(m, HPS_BADGE_DRIVER_BASE);
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    m = with_badge(m, 0x40000000ull);
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
}

static void test_out_of_range_arguments_are_invalid(void)
{
    struct hps_msg m;
    struct hps_request r;
    bool same;
    hps_encode_slot_request(&m, 0x10000 | 0x10, HP_REQ_POWER_OFF);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    hps_encode_slot_request(&m, 0x10, HP_REQ_POWER_ON + 1);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    hps_encode_slot_status(&m, 1ull << 63);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    hps_encode_slot_find(&m, 0x10000);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    hps_encode_iommu_counts(&m, 0x10000);
    m = with_badge(m, HPS_BADGE_CONTROL);
    CHECK(decode(&m, &r, &same) == HP_ERR_INVALID && same);
    m = (struct hps_msg){
        .label = HP_GONE_DETACHED, .badge = DRIVER, .len = 1, .w = {HP_HANDLE(0x0100, 0)}};
    CHECK(decode(&m, &r, &same) == HP_GONE_ERR_HANDLE && same);
    m.w[0] = 1ull << 48 | HP_HANDLE(0x0100, 1);
    CHECK(decode(&m, &r, &same) == HP_GONE_ERR_HANDLE && same);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random messages: accepted ones have every argument in range, refused ones an error their
 * method declares (or the caller's bad-label error), and never a changed request. */
static void test_random_messages_get_only_declared_errors(void)
{
    static const uint64_t labels[] = {0x20, 3, 1, 2, 0x30, 0x31, 0x32, 0x33, 0x34, 0x10, 0, 0x35};
    const struct hp_gone_method_info *det = hp_gone_method_find(HP_GONE_DETACHED);
    unsigned accepted = 0;
    for (unsigned i = 0; i < 200000; i++) {
        uint64_t x = next();
        struct hps_msg m = {0};
        switch (x & 3) {
        case 0:
            m.badge = HPS_BADGE_CONTROL;
            break;
        case 1:
            m.badge = HPS_BADGE_DRIVER_BASE | ((x >> 2) & 0xffff);
            break;
        default:
            m.badge = x & 4 ? next() : DRIVER;
            break;
        }
        m.label = x & 0x80 ? next() & 0xff : labels[(x >> 8) % (sizeof(labels) / 8)];
        m.len = (unsigned)((x >> 16) % 5);
        for (unsigned k = 0; k < HPS_MSG_WORDS; k++) {
            uint64_t v = next();
            m.w[k] = v & 1 ? v : v & 2 ? (v >> 2) & 0x3ffff : (v >> 2) & 3;
        }
        struct hps_request r;
        bool same;
        uint64_t e = decode(&m, &r, &same);
        unsigned caller = hps_caller_of(m.badge, NULL);
        const struct hps_method_info *mi = hps_method_find(m.label);
        CHECK(same);
        if (caller == HPS_CALLER_NONE) {
            CHECK(e == HP_ERR_INVALID);
        } else if (caller == HPS_CALLER_DRIVER && m.label == HP_GONE_DETACHED) {
            CHECK(e == 0 || (det->errors & (1u << e)));
        } else if (mi == NULL || mi->caller != caller) {
            CHECK(e == (caller == HPS_CALLER_DRIVER ? HP_GONE_ERR_LABEL : HP_ERR_INVALID));
        } else {
            CHECK(e == 0 || (e < 64 && (mi->errors & (1ull << e))));
        }
        if (e == 0) {
            accepted++;
            CHECK(r.caller == caller && r.label == m.label);
            if (r.label == HPS_SLOT_REQUEST) {
                CHECK(r.a.slot_request.port <= 0xffff &&
                      r.a.slot_request.request <= HP_REQ_POWER_ON);
            } else if (r.label == HPS_SLOT_STATUS || r.label == HPS_SLOT_FIND ||
                       r.label == HPS_IOMMU_COUNTS) {
                CHECK(m.w[0] <= 0xffff);
            }
        }
    }
    CHECK(accepted > 1000); /* the generator reaches the accepting paths too */
}

static void test_reply_decoders_and_completeness(void)
{
    struct hps_reply r = {.len = HPS_STATUS_WORDS, .w = {HP_OK, HP_ST_ON, 0x0200, 0x30200, 4, 3}};
    struct hps_slot_status_rets st;
    CHECK(hps_reply_slot_status(&r, &st) == HP_OK && st.state == HP_ST_ON && st.device == 0x0200 &&
          st.handle == 0x30200 && st.added == 4 && st.removed == 3);
    CHECK(hps_reply_complete(HPS_SLOT_STATUS, &r));
    r.len = 3; /* a success reply without all its results */
    CHECK(!hps_reply_complete(HPS_SLOT_STATUS, &r));
    CHECK(hps_reply_slot_status(&r, &st) == HP_OK && st.device == 0x0200 && st.added == 0);
    r = (struct hps_reply){.len = 1, .w = {HP_ERR_NOT_OWNED}};
    CHECK(hps_reply_complete(HPS_SLOT_STATUS, &r)); /* an error is MR0 alone */
    CHECK(hps_reply_slot_status(&r, &st) == HP_ERR_NOT_OWNED && st.state == 0);
    r = (struct hps_reply){.len = HPS_COUNTS_WORDS, .w = {0, 1, 2, 3, 2, 0, 5, 0, 0, 9, 4}};
    struct hps_iommu_counts_rets c;
    CHECK(hps_reply_iommu_counts(&r, &c) == 0 && c.domains == 1 && c.mappings == 2 &&
          c.generation == 9 && c.irtes == 4);
    r.len = 0;
    CHECK(!hps_reply_complete(HPS_SERVER_STATS, &r));
    CHECK(hps_reply_complete(HPS_NEXT_EVENT, &r)); /* not a control reply: nothing to check */
}

static void test_next_event_replies_are_checked(void)
{
    struct hps_event ev = {0x55, 0x55}, before = ev;
    uint64_t w[2] = {HP_HANDLE(0x0200, 3), 0};
    CHECK(hps_event_decode(HPS_EVENT_NONE, w, 0, &ev) == HP_GONE_OK && ev.label == HPS_EVENT_NONE &&
          ev.handle == 0);
    ev = before;
    CHECK(hps_event_decode(HPS_EVENT_DEVICE_NEW, w, 1, &ev) == HP_GONE_OK &&
          ev.label == HPS_EVENT_DEVICE_NEW && ev.handle == w[0]);
    CHECK(hps_event_decode(HP_GONE_DEVICE_GOING, w, 1, &ev) == HP_GONE_OK &&
          ev.label == HP_GONE_DEVICE_GOING);
    CHECK(hps_event_decode(HP_GONE_DEVICE_GONE, w, 1, &ev) == HP_GONE_OK &&
          ev.label == HP_GONE_DEVICE_GONE);
    ev = before;
    /* refused: a refusal (NONE with the error), wrong lengths, bad handles, unknown labels */
    CHECK(hps_event_decode(HPS_EVENT_NONE, w, 1, &ev) == HP_GONE_ERR_LENGTH);
    CHECK(hps_event_decode(HPS_EVENT_DEVICE_NEW, w, 0, &ev) == HP_GONE_ERR_LENGTH);
    CHECK(hps_event_decode(HPS_EVENT_DEVICE_NEW, w, 2, &ev) == HP_GONE_ERR_LENGTH);
    CHECK(hps_event_decode(HP_GONE_DEVICE_GONE, w, 2, &ev) == HP_GONE_ERR_LENGTH);
    w[0] = HP_HANDLE(0x0200, 0);
    CHECK(hps_event_decode(HPS_EVENT_DEVICE_NEW, w, 1, &ev) == HP_GONE_ERR_HANDLE);
    w[0] = 1ull << 50 | HP_HANDLE(0x0200, 1);
    CHECK(hps_event_decode(HP_GONE_DEVICE_GOING, w, 1, &ev) == HP_GONE_ERR_HANDLE);
    w[0] = HP_HANDLE(0x0200, 1);
    CHECK(hps_event_decode(HP_GONE_DETACHED, w, 1, &ev) == HP_GONE_ERR_LABEL);
    CHECK(hps_event_decode(0x11, w, 1, &ev) == HP_GONE_ERR_LABEL);
    CHECK(ev.label == before.label && ev.handle == before.handle);
}

static void test_gone_table_declares_shape_and_errors(void)
{
    unsigned n;
    const struct hp_gone_method_info *m = hp_gone_methods(&n);
    CHECK(n == 3);
    for (unsigned i = 0; i < n; i++) {
        CHECK(m[i].nargs == HP_GONE_MSG_LENGTH && strcmp(m[i].arg_names[0], "handle") == 0);
        CHECK(m[i].dir == HP_GONE_TO_SERVER ? m[i].errors != 0 : m[i].errors == 0);
        CHECK(hp_gone_label_errors(m[i].label) == m[i].errors);
    }
    CHECK(strcmp(hp_gone_err_name(HP_GONE_ERR_STALE), "HP_GONE_ERR_STALE") == 0);
    CHECK(strcmp(hp_gone_err_name(-1), "HP_GONE_ERR_?") == 0);
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
#define T(fn) {#fn, fn}
        T(test_wire_labels_and_reply_lengths_unchanged),
        T(test_every_encoded_request_decodes_to_its_arguments),
        T(test_wrong_word_count_refused_with_a_declared_error),
        T(test_labels_of_another_caller_are_refused),
        T(test_out_of_range_arguments_are_invalid),
        T(test_random_messages_get_only_declared_errors),
        T(test_reply_decoders_and_completeness),
        T(test_next_event_replies_are_checked),
        T(test_gone_table_declares_shape_and_errors),
#undef T
    };
    unsigned n = sizeof(tests) / sizeof(tests[0]);
    for (unsigned i = 0; i < n; i++) {
        int before = failures;
        current = tests[i].name;
        tests[i].fn();
        printf("%s %s\n", failures == before ? "ok  " : "FAIL", tests[i].name);
    }
    printf("%u tests, %d failed\n", n, failures);
    return failures == 0 ? 0 : 1;
}
