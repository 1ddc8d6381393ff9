/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The edu DMA engine (see edu.h): argument checks first, then the register writes; completion by
 * MSI with a deadline, never by an unbounded poll.
 */
#include <drv/drv.h>

#include "edu.h"

const char *edu_errname(int err)
{
    switch (err) {
    case EDU_OK:
        return "ok";
    case EDU_ERR_ARG:
        return "bad count/offset";
    case EDU_ERR_BUSY:
        return "transfer still running";
    case EDU_ERR_TIMEOUT:
        return "no completion before the deadline";
    case EDU_ERR_GONE:
        return "registers read all-ones";
    default:
        return "?";
    }
}

bool edu_identify(const struct edu *e, uint32_t *id)
{
    *id = drv_rd32(&e->bar, EDU_ID_REG);
    return *id != 0xffffffffu && (*id & EDU_ID_MAGIC_MASK) == EDU_ID_MAGIC;
}

bool edu_liveness(const struct edu *e, uint32_t v, uint32_t *got)
{
    drv_wr32(&e->bar, EDU_LIVENESS_REG, v);
    *got = drv_rd32(&e->bar, EDU_LIVENESS_REG);
    return *got == ~v;
}

bool edu_dma_busy(const struct edu *e)
{
    return (drv_rd32(&e->bar, EDU_DMA_CMD_REG) & EDU_DMA_CMD_RUN) != 0;
}

int edu_dma_quiesce(const struct edu *e, uint64_t timeout_us)
{
    uint64_t deadline = drv_deadline(timeout_us);
    for (;;) {
        uint32_t cmd = drv_rd32(&e->bar, EDU_DMA_CMD_REG);
        if (cmd == 0xffffffffu) {
            return EDU_ERR_GONE;
        }
        if ((cmd & EDU_DMA_CMD_RUN) == 0) {
            return EDU_OK;
        }
        if (drv_left_us(deadline) == 0) {
            return EDU_ERR_TIMEOUT;
        }
        pc_yield();
    }
}

int edu_dma_start(struct edu *e, uint64_t bus, uint32_t dev_off, uint32_t count, bool to_ram)
{
    if (count == 0 || count > EDU_DMA_MAX_COUNT || dev_off >= EDU_DMA_SIZE ||
        count > EDU_DMA_SIZE - dev_off) {
        return EDU_ERR_ARG;
    }
    uint32_t cmd = drv_rd32(&e->bar, EDU_DMA_CMD_REG);
    if (cmd == 0xffffffffu) {
        return EDU_ERR_GONE;
    }
    if (cmd & EDU_DMA_CMD_RUN) {
        return EDU_ERR_BUSY;
    }
    /* a stale signal (a completion after an earlier timeout) must not end a wait for this one */
    pc_word_t word = 0;
    if (pc_poll(e->irq_ntfn, &word) == PC_OK && e->ev != NULL) {
        drv_events_note(e->ev, word); /* a hotplug signal among them is kept */
    }

    uint64_t dev = EDU_DMA_BUF + dev_off;
    drv_wr64(&e->bar, EDU_DMA_SRC_REG, to_ram ? dev : bus);
    drv_wr64(&e->bar, EDU_DMA_DST_REG, to_ram ? bus : dev);
    drv_wr64(&e->bar, EDU_DMA_COUNT_REG, count);
    /* the command write starts the engine: everything it reads is written before */
    __asm__ volatile("" ::: "memory");
    drv_wr32(&e->bar, EDU_DMA_CMD_REG,
             EDU_DMA_CMD_RUN | EDU_DMA_CMD_IRQ | (to_ram ? EDU_DMA_CMD_TO_RAM : 0));
    e->transfers++;
    return EDU_OK;
}

int edu_dma_reap(struct edu *e)
{
    uint32_t cmd = drv_rd32(&e->bar, EDU_DMA_CMD_REG);
    if (cmd == 0xffffffffu) {
        return EDU_ERR_GONE;
    }
    if (cmd & EDU_DMA_CMD_RUN) {
        return EDU_ERR_BUSY;
    }
    uint32_t st = drv_rd32(&e->bar, EDU_IRQ_STATUS_REG);
    if (st & EDU_IRQ_DMA) {
        drv_wr32(&e->bar, EDU_IRQ_ACK_REG, EDU_IRQ_DMA);
    }
    (void)pc_irq_handler_ack(e->irq_handler);
    return EDU_OK;
}

int edu_dma(struct edu *e, uint64_t bus, uint32_t dev_off, uint32_t count, bool to_ram,
            uint64_t timeout_us)
{
    int started = edu_dma_start(e, bus, dev_off, count, to_ram);
    if (started != EDU_OK) {
        return started;
    }
    pc_word_t word = 0;

    uint64_t t0 = drv_now_us();
    uint64_t deadline = drv_deadline(timeout_us);
    int rc = EDU_ERR_TIMEOUT;
    for (;;) {
        uint64_t left = drv_left_us(deadline);
        if (left == 0) {
            break;
        }
        word = 0;
        pc_word_t err = pc_wait(e->irq_ntfn, left, &word);
        if (err != PC_OK) {
            break; /* PC_ERR_TIMEOUT: the deadline passed */
        }
        if (e->ev != NULL) {
            drv_events_note(e->ev, word);
        }
        if (e->irq_badge != 0 && (word & e->irq_badge) == 0) {
            continue; /* only another signal (a hotplug event): keep waiting */
        }
        uint32_t st = drv_rd32(&e->bar, EDU_IRQ_STATUS_REG);
        if (st == 0xffffffffu) {
            rc = EDU_ERR_GONE;
            break;
        }
        if (st & EDU_IRQ_DMA) {
            drv_wr32(&e->bar, EDU_IRQ_ACK_REG, EDU_IRQ_DMA);
            (void)pc_irq_handler_ack(e->irq_handler);
            rc = EDU_OK;
            break;
        }
        /* a signal without our status bit: acknowledge at the kernel and keep waiting */
        (void)pc_irq_handler_ack(e->irq_handler);
    }
    e->last_wait_us = drv_now_us() - t0;
    if (rc == EDU_OK && edu_dma_busy(e)) {
        rc = EDU_ERR_BUSY; /* interrupt without the engine having stopped */
    }
    return rc;
}
