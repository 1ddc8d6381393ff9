/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel console output (a small printf over the serial port), every kernel line prefixed with
 * "[kernel] " so test harnesses can tell kernel messages from task output.
 */
#include <kernel/object.h>
#include <stdarg.h>

static void put_str(const char *s)
{
    while (*s) {
        if (*s == '\n') {
            k_serial_putc('\r');
        }
        k_serial_putc(*s++);
    }
}

static void put_num(uint64_t v, unsigned base, int width, char pad, int neg)
{
    char buf[24];
    int i = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v && i < 22);
    if (neg) {
        buf[i++] = '-';
    }
    while (i < width && i < 23) {
        buf[i++] = pad;
    }
    while (i > 0) {
        k_serial_putc(buf[--i]);
    }
}

static void vprint(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n') {
                k_serial_putc('\r');
            }
            k_serial_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l' || *fmt == 'z') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
            put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, 0);
            break;
        case 'x':
            put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, 0);
            break;
        case 'p':
            put_str("0x");
            put_num((uint64_t)va_arg(ap, void *), 16, 16, '0', 0);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            put_str(s ? s : "(null)");
            break;
        }
        case 'c':
            k_serial_putc((char)va_arg(ap, int));
            break;
        case '%':
            k_serial_putc('%');
            break;
        default:
            k_serial_putc('?');
            break;
        }
    }
}

void k_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

void k_log(const char *fmt, ...)
{
    va_list ap;
    put_str("[kernel] ");
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

void k_panic(const char *fmt, ...)
{
    va_list ap;
    put_str("[kernel] PANIC: ");
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
    put_str("\n");
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}
