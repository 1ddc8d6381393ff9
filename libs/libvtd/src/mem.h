/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pages for tables and queues (mem.c), taken from the accessor of struct vtd_hw. Used by the
 * table code, the queues and interrupt remapping; calls nothing above internal.h.
 */
#ifndef VTD_MEM_H
#define VTD_MEM_H

#include "internal.h"

/* One zeroed, page-aligned page; NULL when the pool is empty or the accessor broke alignment. */
void *vtd_alloc_table(struct vtd_unit *u, uint64_t *pa);
/* `pages` physically and virtually contiguous pages (queues); VTD_ERR_NOMEM when the pool is
   empty, VTD_ERR_UNSUPPORTED when the accessor cannot give a contiguous run. */
enum vtd_err vtd_alloc_contiguous(struct vtd_unit *u, unsigned pages, void **va, uint64_t *pa);
void vtd_free_contiguous(struct vtd_unit *u, unsigned pages, void *va, uint64_t pa);

#endif /* VTD_MEM_H */
