/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the queue (qi.c) and its error recovery (qi_error.c) need from batch building (batch.c):
 * the meaning of an operation and the batch's record of failed source-ids. batch.c calls
 * nothing in libvtd.
 */
#ifndef VTD_BATCH_H
#define VTD_BATCH_H

#include "internal.h"

#define VTD_ALL_END UINT64_MAX /* range end meaning "whole address space" */

static inline bool vtd_op_is_devtlb(unsigned kind)
{
    return kind == VTD_OP_DEVTLB || kind == VTD_OP_PDEVTLB;
}

/* Does the batch hold a device-TLB operation for sid? */
bool vtd_batch_has_devtlb(const struct vtd_batch *b, uint16_t sid);
/* Is sid among the batch's failed source-ids? */
bool vtd_batch_failed_has(const struct vtd_batch *b, uint16_t sid);
/* Record sid as failed (once; at most VTD_REPORT_SIDS are kept). */
void vtd_batch_failed_add(struct vtd_batch *b, uint16_t sid);

#endif /* VTD_BATCH_H */
