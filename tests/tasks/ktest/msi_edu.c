/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A real MSI delivered to a notification: QEMU's edu device. The task holds its function's ECAM
 * page (to program the MSI capability with the address/data the root task obtained through
 * IRQControl_GetMSI), its BAR0 and the IRQHandler + notification of that vector. It raises the
 * device's interrupt through BAR0 register 0x60, waits for it, and acknowledges it at the device
 * (0x64) and at the kernel (IRQHandler_Ack).
 */
#include <ktest/ktest.h>
#include <pci/pci.h>

#define EDU_ID 0x00       /* identification: 0x010000ed for QEMU's edu */
#define EDU_LIVENESS 0x04 /* reads back the bitwise inverse of what was written */
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64

/* A pci_mmio over the one config page we were given: other functions read as absent. */
struct one_page {
    volatile uint8_t *base;
    uint32_t page; /* dev << 3 | fn: the page index inside the bus's ECAM window */
};

static uint32_t page_read(void *ctx, uint64_t off, unsigned width)
{
    struct one_page *p = ctx;
    if ((off >> 12) != p->page) {
        return width == 1 ? 0xff : width == 2 ? 0xffff : 0xffffffffu;
    }
    volatile uint8_t *a = p->base + (off & 0xfff);
    return width == 1 ? *a : width == 2 ? *(volatile uint16_t *)a : *(volatile uint32_t *)a;
}

static void page_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    struct one_page *p = ctx;
    if ((off >> 12) != p->page) {
        return;
    }
    volatile uint8_t *a = p->base + (off & 0xfff);
    if (width == 1) {
        *a = (uint8_t)val;
    } else if (width == 2) {
        *(volatile uint16_t *)a = (uint16_t)val;
    } else {
        *(volatile uint32_t *)a = val;
    }
}

static volatile uint32_t *g_bar;

static uint32_t edu_rd(unsigned off)
{
    return g_bar[off / 4];
}
static void edu_wr(unsigned off, uint32_t v)
{
    g_bar[off / 4] = v;
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    const task_cap_t *cfg = task_cap_find(si, "config");
    const task_cap_t *bar = task_cap_find(si, "bar0");
    const task_cap_t *msi = task_cap_find(si, "msi");
    if (cfg == NULL || bar == NULL || msi == NULL || cfg->vaddr == 0 || bar->vaddr == 0 ||
        msi->slot == 0 || msi->aux_slot == 0) {
        kt_result("msi_edu_has_its_caps", false, "(config %p bar0 %p msi %p)", (void *)cfg,
                  (void *)bar, (void *)msi);
        kt_finish();
    }
    pci_sid_t sid = (pci_sid_t)cfg->arg0;
    g_bar = (volatile uint32_t *)(uintptr_t)bar->vaddr;
    pc_cptr_t handler = msi->slot, ntfn = msi->aux_slot;

    uint32_t id = edu_rd(EDU_ID);
    edu_wr(EDU_LIVENESS, 0x12345678u);
    uint32_t live = edu_rd(EDU_LIVENESS);
    kt_result("msi_edu_bar0_mapped_and_live", (id & 0xffff) == 0x00ed && live == ~0x12345678u,
              "(id %#x, liveness %#x, BAR at %#llx)", id, live, (unsigned long long)bar->paddr);

    struct one_page page = {.base = (volatile uint8_t *)(uintptr_t)cfg->vaddr, .page = sid & 0xff};
    struct pci_mmio mmio = {.ctx = &page, .read = page_read, .write = page_write};
    struct pci_ecam ecam;
    struct pci_msi cap;
    int perr = pci_ecam_init(&ecam, &mmio, 0, PCI_SID_BUS(sid), PCI_SID_BUS(sid));
    if (perr == PCI_OK) {
        perr = pci_msi_probe(&ecam, sid, &cap);
    }
    if (perr == PCI_OK) {
        perr = pci_msi_enable(&ecam, sid, &cap, msi->arg1, (uint16_t)msi->arg2, 1);
    }
    if (perr == PCI_OK) {
        perr = pci_set_bus_master(&ecam, sid, true); /* an MSI is a memory write by the device */
    }
    kt_result("msi_edu_msi_enabled_through_ecam_page", perr == PCI_OK,
              "(%s; vector %llu address %#llx data %#llx)", pci_err_str(perr),
              (unsigned long long)msi->arg0, (unsigned long long)msi->arg1,
              (unsigned long long)msi->arg2);

    pc_word_t word = 0;
    (void)pc_irq_handler_ack(handler);
    (void)pc_poll(ntfn, &word);
    pc_word_t err = pc_wait(ntfn, 20000, &word);
    kt_result("msi_nothing_arrives_before_raise", err == PC_ERR_TIMEOUT, "(wait %s)", kt_err(err));

    unsigned got = 0, status_ok = 0;
    const unsigned rounds = 8;
    for (unsigned i = 0; i < rounds; i++) {
        uint32_t v = 1u << i;
        edu_wr(EDU_IRQ_RAISE, v);
        word = 0;
        err = pc_wait(ntfn, 1000000, &word);
        if (err == PC_OK && (word & msi->badge)) {
            got++;
        }
        if (edu_rd(EDU_IRQ_STATUS) & v) {
            status_ok++;
        }
        edu_wr(EDU_IRQ_ACK, v);
        (void)pc_irq_handler_ack(handler);
    }
    kt_result("msi_edu_raise_delivers_msi_to_notification",
              perr == PCI_OK && got == rounds && status_ok == rounds,
              "(%u of %u interrupts, device status matched %u times, last wait %s)", got, rounds,
              status_ok, kt_err(err));
    err = pc_wait(ntfn, 20000, &word);
    kt_result("msi_edu_acknowledged_interrupt_does_not_repeat",
              err == PC_ERR_TIMEOUT && edu_rd(EDU_IRQ_STATUS) == 0, "(wait %s, status %#x)",
              kt_err(err), edu_rd(EDU_IRQ_STATUS));
    (void)pci_msi_disable(&ecam, sid, &cap);
    kt_finish();
}
