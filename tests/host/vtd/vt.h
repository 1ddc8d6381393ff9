/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A tiny test harness for the libvtd host tests: CHECK records a failure with its location and
 * keeps going; RUN executes one named test; the process exit code says whether all passed.
 */
#ifndef VT_H
#define VT_H

#include <stdio.h>
#include <stdlib.h>

extern int vt_failures;
extern const char *vt_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, vt_current,       \
                    #cond);                                                                        \
            vt_failures++;                                                                         \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b);           \
        if (va_ != vb_) {                                                                          \
            fprintf(stderr, "%s:%d: %s: %s == %s failed: 0x%llx != 0x%llx\n", __FILE__, __LINE__,  \
                    vt_current, #a, #b, va_, vb_);                                                 \
            vt_failures++;                                                                         \
        }                                                                                          \
    } while (0)

/* enum vtd_err comparisons print the error names. */
#define CHECK_ERR(e, want)                                                                         \
    do {                                                                                           \
        enum vtd_err ge_ = (e), we_ = (want);                                                      \
        if (ge_ != we_) {                                                                          \
            fprintf(stderr, "%s:%d: %s: %s returned %s, expected %s\n", __FILE__, __LINE__,        \
                    vt_current, #e, vtd_errname(ge_), vtd_errname(we_));                           \
            vt_failures++;                                                                         \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = vt_failures;                                                                 \
        vt_current = #fn;                                                                          \
        fn();                                                                                      \
        printf("%s %s\n", vt_failures == before_ ? "PASS" : "FAIL", #fn);                          \
    } while (0)

#define VT_MAIN_END()                                                                              \
    do {                                                                                           \
        printf("%s: %d failure(s)\n", vt_failures ? "FAILED" : "OK", vt_failures);                 \
        return vt_failures ? 1 : 0;                                                                \
    } while (0)

#define VT_GLOBALS                                                                                 \
    int vt_failures;                                                                               \
    const char *vt_current

#endif /* VT_H */
