/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the IOMMU server's QEMU test tasks share: calling the server with libiommu's generated
 * stubs (one optional capability per message), DMA buffers made from the task's own untyped
 * memory (retyped into frames, mapped into its own address space, their capabilities handed to
 * the server to map), QEMU's edu DMA engine, and config space through one granted ECAM page.
 */
#ifndef IOMMU_TEST_H
#define IOMMU_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include <iommu/protocol.h>
#include <ktest/ktest.h>
#include <pci/pci.h>

/* One call to the IOMMU server through endpoint `ep`; cap != 0 is transferred with it.
 * Returns the reply's error (IOMMU_ERR_* / IOMMU_HP_ERR_*), or pc_call_ipc_failed(pc_error) if
 * the IPC itself failed. */
uint64_t it_call(pc_cptr_t ep, const struct iommu_msg *m, pc_cptr_t cap, struct iommu_reply *r);
/* A raw message: any label, `len` words (the hostile client's tool). */
uint64_t it_call_raw(pc_cptr_t ep, uint64_t label, unsigned len, const uint64_t *w, pc_cptr_t cap,
                     struct iommu_reply *r);

/* A frame of 2^bits bytes (12 or 21) from the "untyped" grant, mapped read-write. */
struct it_frame {
    pc_cptr_t cap;
    volatile uint8_t *va;
    uint64_t pa;
    uint64_t size;
};
bool it_frame_new(unsigned bits, struct it_frame *f);

/* Buffer contents: a pattern from `seed`, two buffers equal, every byte `v`. */
void it_fill(volatile uint8_t *p, unsigned n, uint8_t seed);
bool it_same(volatile const uint8_t *a, volatile const uint8_t *b, unsigned n);
bool it_all_byte(volatile const uint8_t *p, unsigned n, uint8_t v);

/* QEMU's edu device through BAR0 ("bar0"). */
bool it_edu_init(const task_start_info_t *si);
/* One transfer of `len` (< 4096) bytes; to_ram: device buffer -> RAM. Waits with a deadline
 * (virtual time: edu completes 100 ms later); false on time-out. */
bool it_edu_dma(uint64_t ram_addr, uint32_t dev_off, uint32_t len, bool to_ram);
/* One "BENCH <name> median=.. min=.. p90=.. iters=n" line (tools/qemu/bench.py); sorts s. */
void it_bench_report(const char *name, uint64_t *s, unsigned n);

/* edu's interrupt: raise status bits (an MSI when MSI is enabled); acknowledge all of them. */
void it_edu_raise(uint32_t bits);
void it_edu_ack(void);
/* Config space of the task's own function ("config" page). */
const struct pci_ecam *it_config(const task_start_info_t *si, pci_sid_t *sid);

/* Sleep on the task's "iommu_fault" notification; true if it was signalled in time. */
bool it_wait_fault(uint64_t timeout_us);

#define IT_EDU_BUF 0x40000u /* edu's internal buffer, 4 KiB */

#endif /* IOMMU_TEST_H */
