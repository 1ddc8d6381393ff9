/* SPDX-License-Identifier: BSD-2-Clause */
/* Encoding batch operations into queue descriptors (qi_desc.c), for the submission path. */
#ifndef VTD_QI_DESC_H
#define VTD_QI_DESC_H

#include <vtd/vtd.h>

/* The descriptor for op on unit u (128- or 256-bit layout is the ring's business). */
struct vtd_desc vtd_op_encode(const struct vtd_unit *u, const struct vtd_op *op);

#endif /* VTD_QI_DESC_H */
