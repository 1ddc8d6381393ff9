/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Capture probe: a throwaway multiboot kernel that hex-dumps what QEMU's firmware and chipset
 * present (the RSDP, every table the RSDT/XSDT lists, and the 4 KiB config space of every
 * present PCI function behind ECAM) over COM1, then ends QEMU through isa-debug-exit. The host
 * script tools/capture/capture.py turns the dump into the binary blobs under tests/data/ that
 * the libacpi/libpci host tests parse. Runs in 32-bit protected mode without paging, so physical
 * addresses below 4 GiB are plain pointers; nothing here is part of the real system.
 *
 * Output format, one record per object:
 *   RSDP <phys> <len>             TABLE <sig> <phys> <len>          CFG <bus> <dev> <fn>
 *   D <up to 32 bytes as hex>     (repeated)
 *   END
 * after each CFG record a "BARS <bus> <dev> <fn> <mask0..5>" line (BAR sizing read-back),
 * and finally "PROBE DONE <count>". All numbers are hexadecimal.
 */
#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4
#define ECAM_DEFAULT_BASE 0xb0000000u
#define TABLE_MAX_LEN (256u * 1024u)

typedef volatile const uint8_t *phys_ptr;

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* 115200 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xc7);
}

static void putc_serial(char c)
{
    /* Bounded wait for the transmit holding register; QEMU's UART is always ready. */
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++) {
    }
    outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s)
{
    while (*s) {
        putc_serial(*s++);
    }
}

static void puthex(uint32_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        putc_serial(hex[(v >> (i * 4)) & 0xf]);
    }
}

static void dump_bytes(phys_ptr p, uint32_t len)
{
    for (uint32_t off = 0; off < len; off += 32) {
        puts_serial("D ");
        for (uint32_t i = off; i < off + 32 && i < len; i++) {
            puthex(p[i], 2);
        }
        putc_serial('\n');
    }
    puts_serial("END\n");
}

static uint32_t rd32(phys_ptr p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum(phys_ptr p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++) {
        s = (uint8_t)(s + p[i]);
    }
    return s;
}

static int sig_is(phys_ptr p, const char *sig)
{
    for (int i = 0; sig[i]; i++) {
        if (p[i] != (uint8_t)sig[i]) {
            return 0;
        }
    }
    return 1;
}

static uint32_t objects;
static uint32_t ecam_base = ECAM_DEFAULT_BASE;
static uint32_t ecam_bus_start = 0, ecam_bus_end = 255;

static void dump_table(uint32_t pa)
{
    phys_ptr t = (phys_ptr)(uintptr_t)pa;
    uint32_t len = rd32(t + 4);
    if (len < 36 || len > TABLE_MAX_LEN) {
        puts_serial("BADTABLE ");
        puthex(pa, 8);
        putc_serial('\n');
        return;
    }
    puts_serial("TABLE ");
    for (int i = 0; i < 4; i++) {
        putc_serial((char)t[i]);
    }
    putc_serial(' ');
    puthex(pa, 8);
    putc_serial(' ');
    puthex(len, 8);
    putc_serial('\n');
    dump_bytes(t, len);
    objects++;
    if (sig_is(t, "MCFG") && len >= 44 + 16) {
        phys_ptr a = t + 44;
        if (rd32(a + 4) == 0) { /* below 4 GiB: usable without paging */
            ecam_base = rd32(a);
            ecam_bus_start = a[10];
            ecam_bus_end = a[11];
        }
    }
    if (sig_is(t, "FACP") && len >= 44) {
        /* DSDT and FACS are not in the RSDT; dump them too so the set is complete. */
        uint32_t facs = rd32(t + 36), dsdt = rd32(t + 40);
        if (dsdt) {
            dump_table(dsdt);
        }
        if (facs) {
            phys_ptr f = (phys_ptr)(uintptr_t)facs;
            uint32_t flen = rd32(f + 4);
            if (sig_is(f, "FACS") && flen >= 64 && flen <= 4096) {
                puts_serial("TABLE FACS ");
                puthex(facs, 8);
                putc_serial(' ');
                puthex(flen, 8);
                putc_serial('\n');
                dump_bytes(f, flen);
                objects++;
            }
        }
    }
}

static uint32_t find_rsdp(void)
{
    for (uint32_t pa = 0xe0000; pa < 0x100000; pa += 16) {
        phys_ptr p = (phys_ptr)(uintptr_t)pa;
        if (sig_is(p, "RSD PTR ") && sum(p, 20) == 0) {
            return pa;
        }
    }
    return 0;
}

static void dump_acpi(void)
{
    uint32_t rsdp_pa = find_rsdp();
    if (!rsdp_pa) {
        puts_serial("NORSDP\n");
        return;
    }
    phys_ptr r = (phys_ptr)(uintptr_t)rsdp_pa;
    uint32_t rlen = r[15] >= 2 ? rd32(r + 20) : 20;
    if (rlen < 20 || rlen > 64) {
        rlen = 20;
    }
    puts_serial("RSDP ");
    puthex(rsdp_pa, 8);
    putc_serial(' ');
    puthex(rlen, 8);
    putc_serial('\n');
    dump_bytes(r, rlen);
    objects++;

    uint32_t rsdt_pa = rd32(r + 16);
    if (rsdt_pa) {
        phys_ptr rsdt = (phys_ptr)(uintptr_t)rsdt_pa;
        uint32_t len = rd32(rsdt + 4);
        dump_table(rsdt_pa);
        if (len >= 36 && len <= TABLE_MAX_LEN) {
            for (uint32_t off = 36; off + 4 <= len; off += 4) {
                dump_table(rd32(rsdt + off));
            }
        }
    }
    if (r[15] >= 2 && rlen >= 32 && rd32(r + 28) == 0 && rd32(r + 24) != 0) {
        uint32_t xsdt_pa = rd32(r + 24);
        phys_ptr xsdt = (phys_ptr)(uintptr_t)xsdt_pa;
        uint32_t len = rd32(xsdt + 4);
        dump_table(xsdt_pa);
        /* Tables already dumped through the RSDT appear again; the script de-duplicates. */
        if (len >= 36 && len <= TABLE_MAX_LEN) {
            for (uint32_t off = 36; off + 8 <= len; off += 8) {
                if (rd32(xsdt + off + 4) == 0) {
                    dump_table(rd32(xsdt + off));
                }
            }
        }
    }
}

static void dump_function(uint32_t bus, uint32_t dev, uint32_t fn)
{
    phys_ptr cfg = (phys_ptr)(uintptr_t)(ecam_base + (((bus - ecam_bus_start) << 20) | (dev << 15) |
                                                      (fn << 12)));
    puts_serial("CFG ");
    puthex(bus, 2);
    putc_serial(' ');
    puthex(dev, 2);
    putc_serial(' ');
    puthex(fn, 1);
    putc_serial('\n');
    /* Dword reads: ECAM only guarantees naturally aligned accesses. */
    volatile const uint32_t *w = (volatile const uint32_t *)cfg;
    uint8_t buf[4096];
    for (uint32_t i = 0; i < 1024; i++) {
        uint32_t v = w[i];
        buf[4 * i + 0] = (uint8_t)v;
        buf[4 * i + 1] = (uint8_t)(v >> 8);
        buf[4 * i + 2] = (uint8_t)(v >> 16);
        buf[4 * i + 3] = (uint8_t)(v >> 24);
    }
    dump_bytes(buf, sizeof(buf));
    objects++;

    /*
     * BAR size masks: write all-ones, read back, restore, with decode off meanwhile. One line
     * "BARS <bus> <dev> <fn> <mask0> .. <mask5>" (bridges have two BARs; the rest read 0).
     */
    volatile uint32_t *cw = (volatile uint32_t *)cfg;
    uint32_t nbars = (buf[0x0e] & 0x7f) == 0 ? 6 : (buf[0x0e] & 0x7f) == 1 ? 2 : 0;
    uint32_t cmd = cw[1] & 0xffff;
    cw[1] = cmd & ~3u; /* Command: I/O and memory decode off; status bits untouched (W1C 0) */
    puts_serial("BARS ");
    puthex(bus, 2);
    putc_serial(' ');
    puthex(dev, 2);
    putc_serial(' ');
    puthex(fn, 1);
    for (uint32_t i = 0; i < 6; i++) {
        uint32_t mask = 0;
        if (i < nbars) {
            uint32_t orig = cw[4 + i];
            cw[4 + i] = 0xffffffffu;
            mask = cw[4 + i];
            cw[4 + i] = orig;
        }
        putc_serial(' ');
        puthex(mask, 8);
    }
    putc_serial('\n');
    cw[1] = cmd;
}

static void dump_pci(void)
{
    for (uint32_t bus = ecam_bus_start; bus <= ecam_bus_end; bus++) {
        for (uint32_t dev = 0; dev < 32; dev++) {
            for (uint32_t fn = 0; fn < 8; fn++) {
                volatile const uint32_t *id =
                    (volatile const uint32_t *)(uintptr_t)(ecam_base +
                                                           (((bus - ecam_bus_start) << 20) |
                                                            (dev << 15) | (fn << 12)));
                if ((id[0] & 0xffff) == 0xffff) {
                    if (fn == 0) {
                        break;
                    }
                    continue;
                }
                dump_function(bus, dev, fn);
                if (fn == 0 && !((id[3] >> 16) & 0x80)) {
                    break; /* single-function device */
                }
            }
        }
    }
}

void probe_main(void)
{
    serial_init();
    puts_serial("\nPROBE BEGIN\n");
    dump_acpi();
    puts_serial("ECAM ");
    puthex(ecam_base, 8);
    putc_serial(' ');
    puthex(ecam_bus_start, 2);
    putc_serial(' ');
    puthex(ecam_bus_end, 2);
    putc_serial('\n');
    dump_pci();
    puts_serial("PROBE DONE ");
    puthex(objects, 8);
    putc_serial('\n');
    outb(DEBUG_EXIT_PORT, 0x10); /* QEMU exits with (0x10 << 1) | 1 = 33 */
}
