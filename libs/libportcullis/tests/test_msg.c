// SPDX-License-Identifier: BSD-2-Clause
//
// Host tests for <portcullis/msg.h>: a message's words land in the registers (MR0..MR3) and the
// IPC buffer (MR4..) at the right indices for every length around the split, nothing else is
// written, and a length the message cannot carry is refused (send) or clamped (receive) as the
// header documents; the IPC-failure result encodes and decodes every pc_error and never collides
// with a server's own error.
#include <stdio.h>
#include <string.h>

#include <portcullis/msg.h>

pc_ipc_buffer_t *__pc_ipc_buffer;

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("  check failed: %s (line %d)\n", #cond, __LINE__);                             \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define POISON 0x5a5a5a5a5a5a5a5aull

static pc_ipc_buffer_t g_buf;

static void poison(pc_msg_t *m)
{
    memset(&g_buf, 0x5a, sizeof(g_buf));
    memset(m, 0x5a, sizeof(*m));
    __pc_ipc_buffer = &g_buf;
}

static uint64_t word(unsigned i)
{
    return 0x1000000000000000ull + i * 0x10001ull;
}

/* Everything outside w[0..n) as written by pc_msg_set_words still holds the poison. */
static bool only_words_written(const pc_msg_t *m, unsigned n)
{
    bool ok = m->info == POISON && m->badge == POISON;
    for (unsigned i = 0; i < PC_MSG_REG_COUNT; i++) {
        ok = ok && m->mr[i] == (i < n ? word(i) : POISON);
        ok = ok && g_buf.mr[i] == POISON; /* the buffer's MR0..MR3 are never used */
    }
    for (unsigned i = PC_MSG_REG_COUNT; i < PC_MSG_MAX_LENGTH; i++) {
        ok = ok && g_buf.mr[i] == (i < n ? word(i) : POISON);
    }
    ok = ok && g_buf.tag == POISON && g_buf.user_data == POISON && g_buf.receive_index == POISON;
    for (unsigned i = 0; i < PC_MSG_MAX_EXTRA_CAPS; i++) {
        ok = ok && g_buf.caps_or_badges[i] == POISON;
    }
    return ok;
}

static void test_set_words_splits_registers_and_buffer_at_every_length(void)
{
    static const unsigned lens[] = {0, 1, 3, 4, 5, 8, 63, 64};
    uint64_t w[PC_MSG_MAX_LENGTH];
    for (unsigned i = 0; i < PC_MSG_MAX_LENGTH; i++) {
        w[i] = word(i);
    }
    for (unsigned k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        pc_msg_t m;
        poison(&m);
        CHECK(pc_msg_set_words(&m, w, lens[k]) == PC_OK);
        if (!only_words_written(&m, lens[k])) {
            printf("  set_words with %u words wrote the wrong places\n", lens[k]);
            failures++;
        }
    }
}

static void test_set_words_refuses_what_a_message_cannot_carry(void)
{
    uint64_t w[128];
    for (unsigned i = 0; i < 128; i++) {
        w[i] = word(i);
    }
    pc_msg_t m;
    static const unsigned too_long[] = {PC_MSG_MAX_LENGTH + 1, 127, 128, ~0u};
    for (unsigned k = 0; k < sizeof(too_long) / sizeof(too_long[0]); k++) {
        poison(&m);
        CHECK(pc_msg_set_words(&m, w, too_long[k]) == PC_ERR_INVALID_ARGUMENT);
        CHECK(only_words_written(&m, 0));
    }
    /* Without an IPC buffer only the register words can travel. */
    poison(&m);
    __pc_ipc_buffer = NULL;
    CHECK(pc_msg_set_words(&m, w, PC_MSG_REG_COUNT + 1) == PC_ERR_INVALID_ARGUMENT);
    CHECK(only_words_written(&m, 0));
    CHECK(pc_msg_set_words(&m, w, PC_MSG_REG_COUNT) == PC_OK);
    CHECK(only_words_written(&m, PC_MSG_REG_COUNT));
}

/* A received message of `len` words: registers and buffer as the kernel leaves them. */
static void receive(pc_msg_t *m, unsigned len)
{
    poison(m);
    m->info = pc_msginfo(0x33, 0, 0, len);
    for (unsigned i = 0; i < PC_MSG_MAX_LENGTH; i++) {
        if (i < PC_MSG_REG_COUNT) {
            m->mr[i] = word(i);
        } else {
            g_buf.mr[i] = word(i);
        }
    }
}

static bool got(const uint64_t *w, unsigned n, unsigned cap)
{
    bool ok = true;
    for (unsigned i = 0; i < cap; i++) {
        ok = ok && w[i] == (i < n ? word(i) : POISON);
    }
    return ok;
}

static void test_get_words_reads_the_received_length_from_both_places(void)
{
    static const unsigned lens[] = {0, 1, 3, 4, 5, 8, 63, 64};
    for (unsigned k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        pc_msg_t m;
        uint64_t w[PC_MSG_MAX_LENGTH + 8];
        receive(&m, lens[k]);
        memset(w, 0x5a, sizeof(w));
        unsigned n = pc_msg_get_words(&m, w, PC_MSG_MAX_LENGTH + 8);
        CHECK(n == lens[k]);
        if (!got(w, lens[k], PC_MSG_MAX_LENGTH + 8)) {
            printf("  get_words of a %u-word message read the wrong words\n", lens[k]);
            failures++;
        }
    }
}

static void test_get_words_clamps_to_the_caller_the_abi_and_the_buffer(void)
{
    pc_msg_t m;
    uint64_t w[PC_MSG_MAX_LENGTH + 8];
    /* at most max words, the rest of w untouched */
    receive(&m, 64);
    memset(w, 0x5a, sizeof(w));
    CHECK(pc_msg_get_words(&m, w, 5) == 5);
    CHECK(got(w, 5, PC_MSG_MAX_LENGTH + 8));
    memset(w, 0x5a, sizeof(w));
    CHECK(pc_msg_get_words(&m, w, 3) == 3);
    CHECK(got(w, 3, PC_MSG_MAX_LENGTH + 8));
    memset(w, 0x5a, sizeof(w));
    CHECK(pc_msg_get_words(&m, w, 0) == 0);
    CHECK(got(w, 0, PC_MSG_MAX_LENGTH + 8));
    /* an info word claiming more than the ABI's 64 words never reads past the buffer's MRs */
    receive(&m, 64);
    m.info = pc_msginfo(0x33, 0, 0, 127);
    memset(w, 0x5a, sizeof(w));
    CHECK(pc_msg_get_words(&m, w, PC_MSG_MAX_LENGTH + 8) == PC_MSG_MAX_LENGTH);
    CHECK(got(w, PC_MSG_MAX_LENGTH, PC_MSG_MAX_LENGTH + 8));
    /* without an IPC buffer only the register words are there to read */
    receive(&m, 10);
    __pc_ipc_buffer = NULL;
    memset(w, 0x5a, sizeof(w));
    CHECK(pc_msg_get_words(&m, w, PC_MSG_MAX_LENGTH) == PC_MSG_REG_COUNT);
    CHECK(got(w, PC_MSG_REG_COUNT, PC_MSG_MAX_LENGTH + 8));
}

static void test_words_round_trip_through_one_message(void)
{
    uint64_t in[PC_MSG_MAX_LENGTH], out[PC_MSG_MAX_LENGTH];
    for (unsigned n = 0; n <= PC_MSG_MAX_LENGTH; n++) {
        pc_msg_t m;
        poison(&m);
        for (unsigned i = 0; i < n; i++) {
            in[i] = ~word(i) ^ n;
        }
        m.info = pc_msginfo(1, 0, 0, n);
        CHECK(pc_msg_set_words(&m, in, n) == PC_OK);
        memset(out, 0, sizeof(out));
        CHECK(pc_msg_get_words(&m, out, PC_MSG_MAX_LENGTH) == n);
        CHECK(memcmp(in, out, n * sizeof(in[0])) == 0);
    }
}

static void test_ipc_failure_result_encodes_every_error_apart_from_server_errors(void)
{
    for (pc_word_t e = PC_ERR_INVALID_ARGUMENT; e < PC_ERR_COUNT_; e++) {
        uint64_t r = pc_call_ipc_failed(e);
        CHECK(pc_call_is_ipc_failure(r));
        CHECK(pc_call_ipc_error(r) == e);
        CHECK(r == (0x1000u | e)); /* the value on the wire (hotplug iommu_counts) */
    }
    /* A server's own errors (below the base) and values past the pc_error range are answers. */
    static const uint64_t answers[] = {0, 1, 14, 0xfff, 0x1000 + PC_ERR_COUNT_, 0x2000, ~0ull};
    for (unsigned i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        CHECK(!pc_call_is_ipc_failure(answers[i]));
        CHECK(pc_call_ipc_error(answers[i]) == PC_OK);
    }
}

int main(void)
{
    test_set_words_splits_registers_and_buffer_at_every_length();
    test_set_words_refuses_what_a_message_cannot_carry();
    test_get_words_reads_the_received_length_from_both_places();
    test_get_words_clamps_to_the_caller_the_abi_and_the_buffer();
    test_words_round_trip_through_one_message();
    test_ipc_failure_result_encodes_every_error_apart_from_server_errors();
    printf("libportcullis msg: %s (%d failed checks)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
