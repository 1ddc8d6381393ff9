// SPDX-License-Identifier: BSD-2-Clause
//
// Host tests for the start information and command-line helpers every task and the root task
// share: a start info built by the root task's calls validates and reads back; each way a
// corrupted one can be wrong is refused with its own error; command-line keys, flags and numbers
// parse exactly and reject malformed values.
#include <stdio.h>
#include <string.h>

#include <task/start_info.h>

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("  check failed: %s (line %d)\n", #cond, __LINE__);                             \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static task_start_info_t info;

static void build_valid(void)
{
    task_start_init(&info);
    info.cnode_size_bits = 8;
    info.first_free_slot = 40;
    info.end_free_slot = 256;
    strcpy(info.name, "ktest_ping.elf");
    strcpy(info.cmdline, "ktest_ping.elf role=ping rounds=0x10");
    task_cap_t *c = task_start_add_cap(&info, "ep", 1);
    c->slot = 5;
    c->badge = 0x11;
}

static void test_built_info_validates_and_finds_caps_by_name(void)
{
    build_valid();
    CHECK(task_start_validate(&info) == TASK_START_OK);
    const task_cap_t *c = task_cap_find(&info, "ep");
    CHECK(c != NULL && c->slot == 5 && c->badge == 0x11 && c->count == 1);
    CHECK(task_cap_slot(&info, "ep", 1) == 5);
    CHECK(task_cap_slot(&info, "ep", 2) == 0); /* wrong kind: null cptr */
    CHECK(task_cap_find(&info, "missing") == NULL);
    CHECK(task_cap_find(NULL, "ep") == NULL);
}

static void test_add_cap_refuses_duplicates_long_names_and_overflow(void)
{
    build_valid();
    CHECK(task_start_add_cap(&info, "ep", 1) == NULL);
    CHECK(task_start_add_cap(&info, "", 1) == NULL);
    CHECK(task_start_add_cap(&info, "a_name_that_is_far_too_long_to_fit", 1) == NULL);
    char name[8];
    for (unsigned i = 1; i < TASK_MAX_CAPS; i++) {
        snprintf(name, sizeof(name), "c%u", i);
        CHECK(task_start_add_cap(&info, name, 2) != NULL);
    }
    CHECK(info.cap_count == TASK_MAX_CAPS);
    CHECK(task_start_add_cap(&info, "one_more", 2) == NULL);
    CHECK(task_start_validate(&info) == TASK_START_OK);
}

static void test_corrupted_info_is_refused_with_its_reason(void)
{
    CHECK(task_start_validate(NULL) == TASK_START_ERR_NULL);
    build_valid();
    info.magic ^= 1;
    CHECK(task_start_validate(&info) == TASK_START_ERR_MAGIC);
    build_valid();
    info.version = 2;
    CHECK(task_start_validate(&info) == TASK_START_ERR_VERSION);
    build_valid();
    info.size = 8;
    CHECK(task_start_validate(&info) == TASK_START_ERR_SIZE);
    build_valid();
    info.cap_count = TASK_MAX_CAPS + 1;
    CHECK(task_start_validate(&info) == TASK_START_ERR_COUNT);
    build_valid();
    memset(info.cmdline, 'x', sizeof(info.cmdline));
    CHECK(task_start_validate(&info) == TASK_START_ERR_STRING);
    build_valid();
    memset(info.cap[0].name, 'x', sizeof(info.cap[0].name));
    CHECK(task_start_validate(&info) == TASK_START_ERR_STRING);
    build_valid();
    info.end_free_slot = 257;
    CHECK(task_start_validate(&info) == TASK_START_ERR_SLOTS);
    build_valid();
    info.first_free_slot = 200;
    info.end_free_slot = 100;
    CHECK(task_start_validate(&info) == TASK_START_ERR_SLOTS);
    build_valid();
    info.cap[0].slot = 250;
    info.cap[0].count = 7; /* 250..256: one past the CNode */
    CHECK(task_start_validate(&info) == TASK_START_ERR_SLOTS);
    build_valid();
    info.cnode_size_bits = 17;
    CHECK(task_start_validate(&info) == TASK_START_ERR_SLOTS);
    CHECK(strcmp(task_start_strerror(TASK_START_ERR_MAGIC), "bad magic") == 0);
}

static void test_cmdline_keys_flags_and_numbers(void)
{
    const char *cl = "/boot/ktest_fault.elf role=faulter fault=pf addr=0x1000dead000 verbose n=42";
    char out[32];
    CHECK(task_cmdline_get(cl, "role", out, sizeof(out)) && strcmp(out, "faulter") == 0);
    CHECK(task_cmdline_get(cl, "verbose", out, sizeof(out)) && strcmp(out, "") == 0);
    CHECK(task_cmdline_has(cl, "verbose"));
    CHECK(task_cmdline_has(cl, "fault"));
    CHECK(!task_cmdline_has(cl, "faul"));       /* prefixes do not match */
    CHECK(!task_cmdline_has("role=x", "role")); /* first word is the program */
    CHECK(!task_cmdline_get(cl, "missing", out, sizeof(out)) && out[0] == '\0');
    CHECK(!task_cmdline_get(cl, "role", out, 4) && out[0] == '\0'); /* does not fit */
    uint64_t v = 0;
    CHECK(task_cmdline_get_u64(cl, "addr", &v) && v == 0x1000dead000ull);
    CHECK(task_cmdline_get_u64(cl, "n", &v) && v == 42);
    CHECK(!task_cmdline_get_u64(cl, "role", &v));
    CHECK(!task_cmdline_get_u64(cl, "verbose", &v));
    CHECK(!task_cmdline_get_u64("p x=0x", "x", &v));
    CHECK(!task_cmdline_get_u64("p x=18446744073709551616", "x", &v)); /* 2^64 */
    CHECK(task_cmdline_get_u64("p x=18446744073709551615", "x", &v) && v == UINT64_MAX);
    CHECK(!task_cmdline_get_u64("p x=0x10000000000000000", "x", &v));
    CHECK(!task_cmdline_get(NULL, "x", out, sizeof(out)));
    task_cmdline_program(cl, out, sizeof(out));
    CHECK(strcmp(out, "ktest_fault.elf") == 0);
    task_cmdline_program("  a.elf", out, 3);
    CHECK(strcmp(out, "a.") == 0);
}

static void test_cap_family_names(void)
{
    char out[TASK_CAP_NAME_MAX];
    CHECK(task_cap_name_nth(out, sizeof(out), "fault_msi", 0) && strcmp(out, "fault_msi") == 0);
    CHECK(task_cap_name_nth(out, sizeof(out), "fault_msi", 1) && strcmp(out, "fault_msi1") == 0);
    CHECK(task_cap_name_nth(out, sizeof(out), "qi_msi", 12) && strcmp(out, "qi_msi12") == 0);
    char small[6];
    CHECK(!task_cap_name_nth(small, sizeof(small), "qi_msi", 0) && small[0] == 0);
    CHECK(!task_cap_name_nth(small, sizeof(small), "qi_m", 10) && small[0] == 0);
}

int main(void)
{
    test_cap_family_names();
    test_built_info_validates_and_finds_caps_by_name();
    test_add_cap_refuses_duplicates_long_names_and_overflow();
    test_corrupted_info_is_refused_with_its_reason();
    test_cmdline_keys_flags_and_numbers();
    printf("libtask start info: %s (%d failed checks)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
