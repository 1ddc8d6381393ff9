/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Queue error recovery (qi_error.c), called by the submission path (qi.c) when FSTS reports
 * IQE, ITE or ICE, and when a batch reaches its deadline.
 */
#ifndef VTD_QI_ERROR_H
#define VTD_QI_ERROR_H

#include <vtd/vtd.h>

/* Submissions per batch: each ITE removes at least one device, the last attempt sends no
   device-TLB work (qi.c drops it all), so it cannot time out again. */
#define VTD_QI_MAX_ATTEMPTS (VTD_REPORT_SIDS + 2u)

/* VT-d 6.5.2.9: record the rejected descriptor in u->last_iqe, neutralise it, restart. */
void vtd_qi_handle_iqe(struct vtd_unit *u);
/* VT-d 6.5.2.10: fence the timed-out source-id(s), neutralise their unfetched descriptors,
   clear ITE. Returns how many aborted batches were put in resubmit[] (out of the in-flight
   list, state unchanged): the caller submits them again. */
unsigned vtd_qi_handle_ite(struct vtd_unit *u, struct vtd_batch *resubmit[VTD_MAX_INFLIGHT]);
/* ICE: fence the source-id that answered badly and mark the batches that sent it work. */
void vtd_qi_handle_ice(struct vtd_unit *u);
/* The batch passed its deadline: finish it with VTD_ERR_TIMEOUT, its descriptors left queued
   and its device-TLB targets kept as suspects for a late ITE. */
void vtd_qi_abandon(struct vtd_batch *b);

#endif /* VTD_QI_ERROR_H */
