/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * QEMU's `edu` educational PCI device (hw/misc/edu.c, docs/specs/edu.rst): BAR0 register table
 * and the DMA engine's rules, and the small driver-side API over it. The engine copies between a
 * 4 KiB buffer inside the device (at EDU_DMA_BUF) and a bus address; one transfer completes about
 * 100 ms of virtual time after it was started and raises EDU_IRQ_DMA if asked to.
 */
#ifndef EDU_H
#define EDU_H

#include <stdbool.h>
#include <stdint.h>

#include <drv/drv.h>
#include <drv/events.h>

/* BAR0 registers */
#define EDU_ID_REG 0x00 /* Identification: 0xRRrr00ed (major, minor) */
#define EDU_ID_MAGIC_MASK 0xffffu
#define EDU_ID_MAGIC 0x00edu
#define EDU_LIVENESS_REG 0x04        /* reads back the bitwise inverse of the value written */
#define EDU_STATUS_REG 0x20          /* factorial status (unused here) */
#define EDU_IRQ_STATUS_REG 0x24      /* Interrupt status: raised bits */
#define EDU_IRQ_RAISE_REG 0x60       /* Interrupt raise */
#define EDU_IRQ_ACK_REG 0x64         /* Interrupt acknowledge: clears the bits written */
#define EDU_IRQ_DMA 0x100u           /* the value the DMA engine raises */
#define EDU_DMA_SRC_REG 0x80         /* DMA source address (64-bit) */
#define EDU_DMA_DST_REG 0x88         /* DMA destination address (64-bit) */
#define EDU_DMA_COUNT_REG 0x90       /* DMA transfer count in bytes */
#define EDU_DMA_CMD_REG 0x98         /* DMA command */
#define EDU_DMA_CMD_RUN (1u << 0)    /* start; cleared by the device when done */
#define EDU_DMA_CMD_TO_RAM (1u << 1) /* direction: 1 = device buffer -> RAM, 0 = RAM -> device */
#define EDU_DMA_CMD_IRQ (1u << 2)    /* raise EDU_IRQ_DMA on completion */

#define EDU_DMA_BUF 0x40000u /* the device's DMA buffer, as a device-side address */
#define EDU_DMA_SIZE 0x1000u
/* QEMU 7.2 aborts on a transfer of the full 4096 bytes (off-by-one in its bounds check) */
#define EDU_DMA_MAX_COUNT (EDU_DMA_SIZE - 1u)

#define EDU_BAR_MIN_SIZE 0x100u /* registers used here lie below */

enum edu_err {
    EDU_OK = 0,
    EDU_ERR_ARG,     /* count 0 or above EDU_DMA_MAX_COUNT, or window overflow */
    EDU_ERR_BUSY,    /* a transfer is still running */
    EDU_ERR_TIMEOUT, /* no completion interrupt before the deadline */
    EDU_ERR_GONE,    /* registers read all-ones: the device is not there */
};

struct edu {
    struct drv_region bar;
    pc_cptr_t irq_handler;
    pc_cptr_t irq_ntfn;
    uint64_t irq_badge;
    struct drv_events *ev; /* told about hotplug signals seen while waiting (may be NULL) */
    uint64_t transfers;
    uint64_t last_wait_us;
};

const char *edu_errname(int err);
/* Whether the identification register reads like an edu (and not all-ones). */
bool edu_identify(const struct edu *e, uint32_t *id);
/* Writes v to the liveness register and checks its inverse comes back. */
bool edu_liveness(const struct edu *e, uint32_t v, uint32_t *got);
/* true while a transfer runs (command bit RUN still set). */
bool edu_dma_busy(const struct edu *e);
/*
 * One transfer between bus address `bus` and the device buffer at offset `dev_off`, count bytes
 * (1..EDU_DMA_MAX_COUNT, dev_off + count <= EDU_DMA_SIZE), to_ram = device -> RAM. Waits for the
 * completion MSI until timeout_us, acknowledges it at the device and the kernel, and checks the
 * engine stopped. Nothing is started on an argument error or when busy.
 */
int edu_dma(struct edu *e, uint64_t bus, uint32_t dev_off, uint32_t count, bool to_ram,
            uint64_t timeout_us);
/* Starts one transfer (arguments and refusals as edu_dma) and returns at once; edu_dma_reap
 * acknowledges its completion. */
int edu_dma_start(struct edu *e, uint64_t bus, uint32_t dev_off, uint32_t count, bool to_ram);
/* EDU_ERR_BUSY while a transfer runs; else its completion interrupt is acknowledged (device and
 * kernel) and EDU_OK; EDU_ERR_GONE if the device reads all-ones. */
int edu_dma_reap(struct edu *e);
/* Waits (bounded) until no transfer runs. EDU_ERR_TIMEOUT, EDU_ERR_GONE, or EDU_OK. */
int edu_dma_quiesce(const struct edu *e, uint64_t timeout_us);

#endif /* EDU_H */
