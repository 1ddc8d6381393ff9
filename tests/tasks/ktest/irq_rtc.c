/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A real device interrupt through the IOAPIC to a notification: the CMOS RTC's periodic interrupt
 * (ISA IRQ 8). The task holds only the RTC's two ports, an IRQHandler for IRQ 8 and the
 * notification it signals. It checks that interrupts arrive, that the kernel keeps the line
 * masked until the handler is acknowledged through its capability, and that nothing arrives once
 * the RTC stops.
 */
#include <ktest/ktest.h>

#define RTC_INDEX 0x70 /* bit 7: NMI disable */
#define RTC_DATA 0x71
#define RTC_REG_A 0x0a /* rate select in bits 3:0 */
#define RTC_REG_B 0x0b
#define RTC_B_PIE 0x40 /* periodic interrupt enable */
#define RTC_REG_C 0x0c /* interrupt flags; reading clears them and re-arms the interrupt */
#define RTC_RATE_1024HZ 6

static pc_cptr_t g_ports;

static uint8_t rtc_read(uint8_t reg)
{
    uint8_t v = 0;
    (void)pc_ioport_out8(g_ports, RTC_INDEX, 0x80 | reg);
    (void)pc_ioport_in8(g_ports, RTC_DATA, &v);
    return v;
}

static void rtc_write(uint8_t reg, uint8_t v)
{
    (void)pc_ioport_out8(g_ports, RTC_INDEX, 0x80 | reg);
    (void)pc_ioport_out8(g_ports, RTC_DATA, v);
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    g_ports = kt_cap("rtc_ports", TASK_CAP_IOPORT);
    const task_cap_t *irq = task_cap_find(si, "rtc_irq");
    if (g_ports == 0 || irq == NULL || irq->kind != TASK_CAP_IRQ || irq->slot == 0 ||
        irq->aux_slot == 0) {
        kt_result("irq_rtc_has_its_caps", false, "(ports %llu, irq entry %s)",
                  (unsigned long long)g_ports, irq ? "malformed" : "missing");
        kt_finish();
    }
    pc_cptr_t handler = irq->slot, ntfn = irq->aux_slot;
    pc_word_t word = 0;

    /* Quiet first: with the periodic interrupt off, nothing arrives. */
    rtc_write(RTC_REG_B, rtc_read(RTC_REG_B) & (uint8_t)~RTC_B_PIE);
    (void)rtc_read(RTC_REG_C);
    (void)pc_irq_handler_ack(handler);
    (void)pc_poll(ntfn, &word);
    pc_word_t err = pc_wait(ntfn, 20000, &word);
    kt_result("irq_ioapic_nothing_arrives_while_device_quiet", err == PC_ERR_TIMEOUT, "(wait %s)",
              kt_err(err));

    /* 1024 Hz periodic interrupt on. */
    rtc_write(RTC_REG_A, (uint8_t)((rtc_read(RTC_REG_A) & 0xf0) | RTC_RATE_1024HZ));
    rtc_write(RTC_REG_B, rtc_read(RTC_REG_B) | RTC_B_PIE);
    unsigned got = 0, bad_word = 0;
    const unsigned want = 20;
    for (unsigned i = 0; i < want; i++) {
        word = 0;
        err = pc_wait(ntfn, 1000000, &word);
        if (err != PC_OK) {
            break;
        }
        if ((word & irq->badge) == 0) {
            bad_word++;
        }
        uint8_t c = rtc_read(RTC_REG_C); /* device-side acknowledge */
        (void)c;
        got++;
        (void)pc_irq_handler_ack(handler);
    }
    kt_result("irq_ioapic_rtc_delivered_to_notification", got == want && bad_word == 0,
              "(%u of %u interrupts, %u without the handler's badge, vector %llu, last wait %s)",
              got, want, bad_word, (unsigned long long)irq->arg0, kt_err(err));

    /* Without the kernel-side acknowledge the line stays masked, even though the RTC fires. */
    err = pc_wait(ntfn, 1000000, &word);
    (void)rtc_read(RTC_REG_C);
    /* do not ack: the next wait must time out although the RTC keeps interrupting at 1 kHz */
    pc_word_t masked = pc_wait(ntfn, 30000, &word);
    pc_word_t ack = pc_irq_handler_ack(handler);
    (void)rtc_read(RTC_REG_C);
    pc_word_t after = pc_wait(ntfn, 1000000, &word);
    kt_result("irq_ioapic_line_masked_until_handler_ack",
              err == PC_OK && masked == PC_ERR_TIMEOUT && ack == PC_OK && after == PC_OK,
              "(first %s, unacked %s, ack %s, after ack %s)", kt_err(err), kt_err(masked),
              kt_err(ack), kt_err(after));

    /* Off again: interrupts stop. */
    rtc_write(RTC_REG_B, rtc_read(RTC_REG_B) & (uint8_t)~RTC_B_PIE);
    (void)rtc_read(RTC_REG_C);
    (void)pc_irq_handler_ack(handler);
    (void)pc_poll(ntfn, &word);
    err = pc_wait(ntfn, 30000, &word);
    kt_result("irq_ioapic_stops_when_device_stops", err == PC_ERR_TIMEOUT, "(wait %s)",
              kt_err(err));
    kt_finish();
}
