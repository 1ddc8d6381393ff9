/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The global command/status handshakes (VT-d 10.4.4, 10.4.5). GCMD is write-only, so the unit
 * keeps its own copy of the persistent enable bits and writes every one-shot command together
 * with them. Every handshake polls GSTS against a deadline.
 */
#include "gcmd.h"

enum vtd_err vtd_gcmd_handshake(struct vtd_unit *u, uint32_t cmd_bits, uint32_t sts_bit,
                                bool want_set)
{
    wr32(u, VTD_GCMD_REG, (u->gcmd & VTD_GCMD_PERSISTENT) | cmd_bits);
    uint64_t deadline = deadline_after(u, 0);
    for (;;) {
        uint32_t sts = rd32(u, VTD_GSTS_REG);
        if (((sts & sts_bit) != 0) == want_set) {
            return VTD_OK;
        }
        if (deadline_passed(u, deadline)) {
            u->stats.timeouts++;
            return VTD_ERR_TIMEOUT;
        }
        relax(u);
    }
}

enum vtd_err vtd_gcmd_set(struct vtd_unit *u, uint32_t bit, bool on)
{
    uint32_t old = u->gcmd;
    u->gcmd = on ? (u->gcmd | bit) : (u->gcmd & ~bit);
    enum vtd_err e = vtd_gcmd_handshake(u, 0, bit, on);
    if (e != VTD_OK) {
        u->gcmd = old;
    }
    return e;
}
