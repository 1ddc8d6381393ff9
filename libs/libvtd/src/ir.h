/* SPDX-License-Identifier: BSD-2-Clause */
/* Interrupt remapping internals other sources need (ir.c): unit teardown frees the table. */
#ifndef VTD_IR_H
#define VTD_IR_H

/* Pages of an interrupt remapping table of 2^order entries. */
unsigned vtd_irt_pages(unsigned order);

#endif /* VTD_IR_H */
