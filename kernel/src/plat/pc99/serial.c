/* SPDX-License-Identifier: BSD-2-Clause */
/* COM1 (16550 UART at 0x3f8) as the kernel console: 115200 8N1, polled, every wait bounded. */
#include <arch/cpu.h>
#include <kernel/object.h>

#define COM1 0x3f8
#define UART_THR 0 /* Transmit Holding Register */
#define UART_IER 1 /* Interrupt Enable Register */
#define UART_FCR 2 /* FIFO Control Register */
#define UART_LCR 3 /* Line Control Register */
#define UART_LCR_DLAB 0x80
#define UART_MCR 4 /* Modem Control Register */
#define UART_LSR 5 /* Line Status Register */
#define UART_LSR_THRE 0x20
#define UART_SPIN_LIMIT 100000

void k_serial_init(void)
{
    k_outb(COM1 + UART_IER, 0x00);
    k_outb(COM1 + UART_LCR, UART_LCR_DLAB);
    k_outb(COM1 + 0, 1); /* divisor 1: 115200 baud */
    k_outb(COM1 + 1, 0);
    k_outb(COM1 + UART_LCR, 0x03); /* 8N1 */
    k_outb(COM1 + UART_FCR, 0xC7);
    k_outb(COM1 + UART_MCR, 0x03);
}

void k_serial_putc(char c)
{
    /* A UART that never drains costs at most UART_SPIN_LIMIT polls per byte; the byte is then
     * written anyway (and possibly lost) rather than hanging the kernel. */
    for (unsigned i = 0; i < UART_SPIN_LIMIT; i++) {
        if (k_inb(COM1 + UART_LSR) & UART_LSR_THRE) {
            break;
        }
    }
    k_outb(COM1 + UART_THR, (uint8_t)c);
}
