/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Global command/status handshakes (gcmd.c, VT-d 10.4.4, 10.4.5), used by unit bring-up, the
 * invalidation queue (QIE) and interrupt remapping (SIRTP, IRE). Calls nothing above internal.h.
 */
#ifndef VTD_GCMD_H
#define VTD_GCMD_H

#include "internal.h"

/* The enable bits GCMD must carry on every write (GCMD is write-only: the unit keeps a copy). */
#define VTD_GCMD_PERSISTENT                                                                        \
    (VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI | VTD_GCMD_EAFL)

/* Write the persistent bits plus the one-shot `cmd_bits`, then wait until `sts_bit` in GSTS is
   set (want_set) or clear; VTD_ERR_TIMEOUT after the unit timeout. */
enum vtd_err vtd_gcmd_handshake(struct vtd_unit *u, uint32_t cmd_bits, uint32_t sts_bit,
                                bool want_set);
/* A one-shot command waiting for its status bit to be set. */
static inline enum vtd_err vtd_gcmd_one_shot(struct vtd_unit *u, uint32_t cmd_bit, uint32_t sts_bit)
{
    return vtd_gcmd_handshake(u, cmd_bit, sts_bit, true);
}
/* Set or clear a persistent bit in the unit's GCMD copy and wait for its GSTS twin (same bit
   position); the copy is restored when the handshake fails. */
enum vtd_err vtd_gcmd_set(struct vtd_unit *u, uint32_t bit, bool on);

#endif /* VTD_GCMD_H */
