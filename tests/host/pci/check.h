/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Minimal assertion macros for the libacpi/libpci host tests: a failing check reports the test,
 * file, line and both values, and the program exits non-zero at the end if anything failed.
 */
#ifndef PC_TEST_CHECK_H
#define PC_TEST_CHECK_H

#include <stdio.h>

static const char *check_test = "";
static unsigned check_failures, check_count, check_tests;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, check_test,       \
                    #cond);                                                                        \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b);           \
        check_count++;                                                                             \
        if (va_ != vb_) {                                                                          \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s: %s == %s failed: 0x%llx != 0x%llx\n", __FILE__, __LINE__,  \
                    check_test, #a, #b, va_, vb_);                                                 \
        }                                                                                          \
    } while (0)

#define RUN(t)                                                                                     \
    do {                                                                                           \
        unsigned before_ = check_failures;                                                         \
        check_test = #t;                                                                           \
        check_tests++;                                                                             \
        t();                                                                                       \
        printf("%s %s\n", check_failures == before_ ? "PASS" : "FAIL", #t);                        \
    } while (0)

#define CHECK_SUMMARY()                                                                            \
    (printf("%u tests, %u checks, %u failures\n", check_tests, check_count, check_failures),       \
     check_failures ? 1 : 0)

#endif /* PC_TEST_CHECK_H */
