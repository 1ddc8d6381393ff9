/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt hardware of the PC: the legacy 8259 PICs (remapped and masked), the local APIC
 * (EOI, periodic timer), the I/O APIC redirection table, and TSC/LAPIC-timer calibration
 * against PIT channel 2 with a bounded wait. Plus ACPI discovery (RSDP scan, MADT).
 */
#include <arch/machine.h>
#include <kernel/string.h>
#include <plat/acpi.h>
#include <plat/ioapic.h>

/* 8259A PIC */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1

/* Local APIC registers (SDM Vol. 3 Table 11-1), byte offsets */
#define LAPIC_ID 0x020                    /* Local APIC ID */
#define LAPIC_TPR 0x080                   /* Task Priority */
#define LAPIC_EOI 0x0B0                   /* EOI */
#define LAPIC_ISR(n) (0x100 + 0x10 * (n)) /* In-Service Register, bits 32n..32n+31 */
#define LAPIC_IRR(n) (0x200 + 0x10 * (n)) /* Interrupt Request Register, bits 32n..32n+31 */
#define LAPIC_SVR 0x0F0                   /* Spurious Interrupt Vector */
#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_LVT_TIMER 0x320 /* LVT Timer */
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380 /* Initial Count */
#define LAPIC_TIMER_CUR 0x390  /* Current Count */
#define LAPIC_TIMER_DIV 0x3E0  /* Divide Configuration */
#define LAPIC_DIV_16 0x3

/* I/O APIC (82093AA datasheet 3.2) */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_VER 0x01
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n))
/* redirection entry bits: <plat/ioapic.h> */

/* PIT (8254) and port 0x61 (NMI status / speaker gate) */
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PIT_GATE 0x61
#define PIT_GATE_CH2 0x01
#define PIT_GATE_SPEAKER 0x02
#define PIT_GATE_OUT2 0x20
#define PIT_HZ 1193182u
#define CALIBRATE_MS 10u
#define CALIBRATE_SPIN_LIMIT 50000000u

static volatile uint32_t *lapic;
static uint64_t ioapic_pa = 0xFEC00000;
static uint32_t ioapic_gsi_base;
static unsigned ioapic_pins;
static k_madt_info_t madt;
static uint64_t rsdp_pa;
uint64_t k_tsc_hz;
uint64_t k_timer_hz = KERNEL_TIMER_HZ;

static uint32_t lapic_read(uint32_t off)
{
    return lapic[off / 4];
}
static void lapic_write(uint32_t off, uint32_t v)
{
    lapic[off / 4] = v;
}

void k_pic_disable(void)
{
    /* Remap to 0x20..0x2f so spurious PIC interrupts cannot look like exceptions, then mask. */
    k_outb(PIC1_CMD, 0x11);
    k_outb(PIC2_CMD, 0x11);
    k_outb(PIC1_DATA, 0x20);
    k_outb(PIC2_DATA, 0x28);
    k_outb(PIC1_DATA, 4);
    k_outb(PIC2_DATA, 2);
    k_outb(PIC1_DATA, 1);
    k_outb(PIC2_DATA, 1);
    k_outb(PIC1_DATA, 0xFF);
    k_outb(PIC2_DATA, 0xFF);
}

void k_lapic_init(uint64_t lapic_pa)
{
    lapic = k_phys_to_virt(lapic_pa);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | K_VECTOR_SPURIOUS);
}

void k_lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

uint32_t k_lapic_id(void)
{
    return lapic_read(LAPIC_ID) >> 24;
}

/* Was vector v delivered by the local APIC (and not yet EOIed)? CPU exceptions never set ISR. */
bool k_lapic_in_service(unsigned v)
{
    return (lapic_read(LAPIC_ISR(v / 32)) >> (v % 32)) & 1;
}

/* Is an interrupt waiting for delivery? The kernel runs with interrupts disabled, so one that
 * arrived meanwhile is held in the IRR. Vectors 0..31 are never requested (SDM Vol. 3 11.8.4). */
bool k_lapic_irq_pending(void)
{
    for (unsigned n = 1; n < 8; n++) {
        if (lapic_read(LAPIC_IRR(n)) != 0) {
            return true;
        }
    }
    return false;
}

void k_timer_calibrate_and_start(void)
{
    uint32_t pit_count = PIT_HZ / (1000 / CALIBRATE_MS);
    lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | K_VECTOR_TIMER);

    uint8_t gate = k_inb(PIT_GATE);
    k_outb(PIT_GATE, (uint8_t)((gate & ~PIT_GATE_SPEAKER) & ~PIT_GATE_CH2));
    k_outb(PIT_MODE, 0xB0); /* channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count) */
    k_outb(PIT_CH2, (uint8_t)pit_count);
    k_outb(PIT_CH2, (uint8_t)(pit_count >> 8));
    lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFFu);
    uint64_t t0 = k_rdtsc();
    k_outb(PIT_GATE, (uint8_t)((gate & ~PIT_GATE_SPEAKER) | PIT_GATE_CH2)); /* start counting */
    unsigned spins = 0;
    while (!(k_inb(PIT_GATE) & PIT_GATE_OUT2) && spins < CALIBRATE_SPIN_LIMIT) {
        spins++;
    }
    uint64_t t1 = k_rdtsc();
    uint32_t lapic_elapsed = 0xFFFFFFFFu - lapic_read(LAPIC_TIMER_CUR);
    lapic_write(LAPIC_TIMER_INIT, 0);

    uint64_t lapic_hz;
    if (spins >= CALIBRATE_SPIN_LIMIT || t1 <= t0 || lapic_elapsed == 0) {
        k_log("timer calibration timed out; assuming 1 GHz TSC, 62.5 MHz APIC timer\n");
        k_tsc_hz = 1000000000ull;
        lapic_hz = 62500000ull;
    } else {
        k_tsc_hz = (t1 - t0) * (1000 / CALIBRATE_MS);
        lapic_hz = (uint64_t)lapic_elapsed * (1000 / CALIBRATE_MS);
    }
    uint64_t init = lapic_hz / k_timer_hz;
    if (init == 0) {
        init = 1;
    }
    k_log("TSC %lu kHz, APIC timer %lu kHz (/16), tick %lu Hz\n", k_tsc_hz / 1000, lapic_hz / 1000,
          k_timer_hz);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | K_VECTOR_TIMER);
    lapic_write(LAPIC_TIMER_INIT, (uint32_t)(init > 0xFFFFFFFFu ? 0xFFFFFFFFu : init));
}

static uint32_t ioapic_read(uint32_t reg)
{
    volatile uint32_t *io = k_phys_to_virt(ioapic_pa);
    io[IOAPIC_REGSEL / 4] = reg;
    return io[IOAPIC_WIN / 4];
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    volatile uint32_t *io = k_phys_to_virt(ioapic_pa);
    io[IOAPIC_REGSEL / 4] = reg;
    io[IOAPIC_WIN / 4] = v;
}

void k_ioapic_init(void)
{
    if (madt.ioapic_count > 0) {
        ioapic_pa = madt.ioapic[0].addr;
        ioapic_gsi_base = madt.ioapic[0].gsi_base;
    }
    ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xFF) + 1;
    for (unsigned i = 0; i < ioapic_pins; i++) {
        ioapic_write(IOAPIC_REDTBL(i), (uint32_t)K_IOAPIC_RTE_MASKED);
        ioapic_write(IOAPIC_REDTBL(i) + 1, 0);
    }
    k_log("IOAPIC at %lx: %u pins from GSI %u\n", ioapic_pa, ioapic_pins, ioapic_gsi_base);
}

uint64_t k_ioapic_pa(void)
{
    return ioapic_pa;
}

bool k_ioapic_gsi_valid(uint32_t gsi)
{
    return gsi >= ioapic_gsi_base && gsi - ioapic_gsi_base < ioapic_pins && gsi < K_MAX_GSI;
}

/* Both words of the entry, the high one first: the low one holds the mask. The entry is masked
 * before (k_ioapic_init, k_irq_handler_final), so no half-written entry can fire. */
void k_ioapic_route(uint32_t gsi, unsigned vector, bool level, bool active_low, bool masked,
                    bool remap, uint32_t index)
{
    uint64_t rte =
        k_ioapic_rte_encode(vector, level, active_low, masked, remap, index, k_lapic_id());
    uint32_t pin = gsi - ioapic_gsi_base;
    ioapic_write(IOAPIC_REDTBL(pin) + 1, (uint32_t)(rte >> 32));
    ioapic_write(IOAPIC_REDTBL(pin), (uint32_t)rte);
}

/* Re-program a routed entry to the remappable format with IRTE `index`, keeping vector, trigger,
 * polarity and the current mask state: mask the old entry, write the high word, then the low word
 * with the previous mask bit. */
void k_ioapic_set_remap(uint32_t gsi, unsigned vector, bool level, bool active_low, uint32_t index)
{
    uint32_t pin = gsi - ioapic_gsi_base;
    uint32_t old = ioapic_read(IOAPIC_REDTBL(pin));
    bool masked = old & K_IOAPIC_RTE_MASKED;
    uint64_t rte = k_ioapic_rte_encode(vector, level, active_low, masked, true, index, 0);
    ioapic_write(IOAPIC_REDTBL(pin), old | (uint32_t)K_IOAPIC_RTE_MASKED);
    ioapic_write(IOAPIC_REDTBL(pin) + 1, (uint32_t)(rte >> 32));
    ioapic_write(IOAPIC_REDTBL(pin), (uint32_t)rte);
}

void k_ioapic_mask(uint32_t gsi, bool masked)
{
    uint32_t pin = gsi - ioapic_gsi_base;
    uint32_t lo = ioapic_read(IOAPIC_REDTBL(pin));
    lo = masked ? (lo | (uint32_t)K_IOAPIC_RTE_MASKED) : (lo & ~(uint32_t)K_IOAPIC_RTE_MASKED);
    ioapic_write(IOAPIC_REDTBL(pin), lo);
}

/* ISA IRQ -> GSI and flags, honouring MADT interrupt source overrides. */
uint32_t k_madt_isa_gsi(unsigned irq, bool *level, bool *active_low)
{
    if (irq < 16 && madt.isa[irq].present) {
        uint16_t f = madt.isa[irq].flags;
        unsigned pol = f & 3, trig = (f >> 2) & 3;
        *active_low = (pol == 3);
        *level = (trig == 3);
        return madt.isa[irq].gsi;
    }
    *active_low = false;
    *level = false;
    return irq;
}

/* Read at most `max` bytes of a table at physical `pa` through the direct map, if in range. */
static const uint8_t *acpi_map(uint64_t pa, uint64_t len)
{
    if (pa == 0 || pa >= K_PHYS_MAP_SIZE || len > K_PHYS_MAP_SIZE - pa) {
        return NULL;
    }
    return k_phys_to_virt(pa);
}

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

void k_acpi_init(void)
{
    /* EBDA: segment at 0x40E; scan its first KiB, then the BIOS area 0xE0000..0xFFFFF. */
    const uint8_t *low = k_phys_to_virt(0);
    uint64_t ebda = (uint64_t)(low[0x40E] | (low[0x40F] << 8)) << 4;
    long off = -1;
    if (ebda >= 0x80000 && ebda < 0xA0000) {
        off = k_acpi_find_rsdp(low + ebda, 1024);
        if (off >= 0) {
            rsdp_pa = ebda + (uint64_t)off;
        }
    }
    if (rsdp_pa == 0) {
        off = k_acpi_find_rsdp(low + 0xE0000, 0x20000);
        if (off >= 0) {
            rsdp_pa = 0xE0000 + (uint64_t)off;
        }
    }
    madt.lapic_addr = 0xFEE00000;
    if (rsdp_pa == 0) {
        k_log("no ACPI RSDP found; using default APIC addresses\n");
        return;
    }
    const uint8_t *rsdp = low + rsdp_pa;
    uint64_t rsdt = rd32(rsdp + 16);
    unsigned entsz = 4;
    if (rsdp[15] >= 2 && (rd32(rsdp + 24) || rd32(rsdp + 28))) {
        rsdt = rd32(rsdp + 24) | ((uint64_t)rd32(rsdp + 28) << 32);
        entsz = 8;
    }
    const uint8_t *sdt = acpi_map(rsdt, 36);
    if (!sdt) {
        return;
    }
    uint32_t len = rd32(sdt + 4);
    if (len < 36 || len > 65536 || !acpi_map(rsdt, len) || k_acpi_checksum(sdt, len) != 0) {
        k_log("ACPI root table invalid\n");
        return;
    }
    for (uint32_t o = 36; o + entsz <= len; o += entsz) {
        uint64_t pa = rd32(sdt + o);
        if (entsz == 8) {
            pa |= (uint64_t)rd32(sdt + o + 4) << 32;
        }
        const uint8_t *h = acpi_map(pa, 36);
        if (!h || memcmp(h, "APIC", 4) != 0) {
            continue;
        }
        uint32_t tl = rd32(h + 4);
        if (tl > 65536 || !acpi_map(pa, tl)) {
            continue;
        }
        k_madt_info_t info;
        int err = k_madt_parse(h, tl, &info);
        if (err != K_ACPI_OK) {
            k_log("MADT rejected (error %d)\n", err);
            continue;
        }
        madt = info;
        k_log("MADT: %u CPU(s), %u IOAPIC(s), LAPIC %x\n", info.cpu_count, info.ioapic_count,
              info.lapic_addr);
        break;
    }
}

uint64_t k_acpi_rsdp(void)
{
    return rsdp_pa;
}
uint64_t k_lapic_pa(void)
{
    return madt.lapic_addr ? madt.lapic_addr : 0xFEE00000;
}
