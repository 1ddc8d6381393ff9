/* SPDX-License-Identifier: BSD-2-Clause */
/* The little protocol between ktest_ping and ktest_pong. */
#ifndef KTEST_PINGPONG_H
#define KTEST_PINGPONG_H

enum pp_label {
    PP_HELLO =
        1, /* MR0 = the badge the client was given, MR1 = x -> MR0 = x + 1, MR1 = badge seen */
    PP_TAKE_CAP =
        2, /* one cap (a notification): the server signals MR0's bits on it -> MR0 = its type */
    PP_ADD = 3,      /* MR0..3 -> MR0 = their sum */
    PP_SUM_LONG = 4, /* MR0..n-1 -> MR0 = their sum */
    PP_BYE = 5,      /* the client is done */
};

#define PP_SIGNAL_BITS 0x5a0ull

#endif
