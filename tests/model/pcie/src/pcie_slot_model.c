/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The QEMU pcie-root-port hotplug slot model (see pcie_slot_model.h for what it reproduces).
 * Config writes follow QEMU's order: bytes through the write and RW1C masks first, then the
 * slot's side effects with the old Slot Control/Status values. Register names come from
 * libpci's regs.h; the behaviour was written from QEMU 7.2's hw/pci/pcie.c and QEMU.md.
 */
#include <pcie_slot_model.h>

#include <string.h>

#define CAP PCIE_MODEL_PORT_CAP
#define SLTCTL_OFF (CAP + PCI_EXP_SLTCTL)
#define SLTSTA_OFF (CAP + PCI_EXP_SLTSTA)
#define LNKSTA_OFF (CAP + PCI_EXP_LNKSTA)
/* QEMU's PCI_EXP_HP_EV_SUPPORTED: the events that can interrupt (enable bit == status bit) */
#define HP_EV_SUPPORTED (PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_CC)
#define SLOT_EVENTS                                                                                \
    (PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PFD | PCI_EXP_SLTSTA_MRLSC | PCI_EXP_SLTSTA_PDC |         \
     PCI_EXP_SLTSTA_CC)
#define PIC_OFF (PCI_EXP_SLTCTL_IND_OFF << PCI_EXP_SLTCTL_PIC_SHIFT)
#define PIC_BLINK (PCI_EXP_SLTCTL_IND_BLINK << PCI_EXP_SLTCTL_PIC_SHIFT)

static uint16_t get16(const uint8_t *b, unsigned off)
{
    return (uint16_t)(b[off] | (b[off + 1] << 8));
}
static void set16(uint8_t *b, unsigned off, uint16_t v)
{
    b[off] = (uint8_t)v;
    b[off + 1] = (uint8_t)(v >> 8);
}
static void set32(uint8_t *b, unsigned off, uint32_t v)
{
    set16(b, off, (uint16_t)v);
    set16(b, off + 2, (uint16_t)(v >> 16));
}

static bool powered_off_ctl(uint16_t ctl)
{
    return (ctl & PCI_EXP_SLTCTL_PCC) && (ctl & PCI_EXP_SLTCTL_PIC_MASK) == PIC_OFF;
}

bool pcie_model_powered(const struct pcie_model *m, int i)
{
    return !(get16(m->ports[i].cfg, SLTCTL_OFF) & PCI_EXP_SLTCTL_PCC);
}

bool pcie_model_device_answers(const struct pcie_model *m, int i)
{
    const struct pcie_model_port *p = &m->ports[i];
    return p->dev_present && !p->dev_dead && pcie_model_powered(m, i);
}

uint16_t pcie_model_sltctl(const struct pcie_model *m, int i)
{
    return get16(m->ports[i].cfg, SLTCTL_OFF);
}
uint16_t pcie_model_sltsta(const struct pcie_model *m, int i)
{
    return get16(m->ports[i].cfg, SLTSTA_OFF);
}

/* hotplug_event_update_event_status + hotplug_event_notify: MSI when the condition changes. */
static void notify(struct pcie_model_port *p)
{
    uint16_t ctl = get16(p->cfg, SLTCTL_OFF), sta = get16(p->cfg, SLTSTA_OFF);
    bool prev = p->notified;
    p->notified = (ctl & PCI_EXP_SLTCTL_HPIE) && (sta & ctl & HP_EV_SUPPORTED);
    if (prev != p->notified) {
        p->irqs++;
        p->irq_pending++;
    }
}

static void update_status(struct pcie_model_port *p)
{
    uint16_t ctl = get16(p->cfg, SLTCTL_OFF), sta = get16(p->cfg, SLTSTA_OFF);
    p->notified = (ctl & PCI_EXP_SLTCTL_HPIE) && (sta & ctl & HP_EV_SUPPORTED);
}

/* pcie_cap_slot_event: set bits; no notification if they were all set already. */
static void slot_event(struct pcie_model_port *p, uint16_t ev)
{
    uint16_t sta = get16(p->cfg, SLTSTA_OFF);
    if ((sta & ev) == ev) {
        return;
    }
    set16(p->cfg, SLTSTA_OFF, (uint16_t)(sta | ev));
    notify(p);
}

static void set_link_active(struct pcie_model_port *p, bool on)
{
    uint16_t l = get16(p->cfg, LNKSTA_OFF);
    set16(p->cfg, LNKSTA_OFF,
          on ? (uint16_t)(l | PCI_EXP_LNKSTA_DLLLA) : (uint16_t)(l & ~PCI_EXP_LNKSTA_DLLLA));
}

/* pcie_cap_slot_do_unplug */
static void do_unplug(struct pcie_model *m, int i, int why)
{
    struct pcie_model_port *p = &m->ports[i];
    p->dev_present = false;
    p->dev_dead = false;
    p->del_pending = false;
    p->removals++;
    set16(p->cfg, SLTSTA_OFF, (uint16_t)(get16(p->cfg, SLTSTA_OFF) & ~PCI_EXP_SLTSTA_PDS));
    set_link_active(p, false);
    set16(p->cfg, SLTSTA_OFF, (uint16_t)(get16(p->cfg, SLTSTA_OFF) | PCI_EXP_SLTSTA_PDC));
    if (m->on_vanish != NULL) {
        m->on_vanish(m->hook_ctx, i, PCI_SID(p->sec_bus, 0, 0), why);
    }
}

static void port_write(struct pcie_model *m, int i, unsigned off, unsigned width, uint32_t val)
{
    struct pcie_model_port *p = &m->ports[i];
    uint16_t old_ctl = get16(p->cfg, SLTCTL_OFF), old_sta = get16(p->cfg, SLTSTA_OFF);
    bool was_powered = pcie_model_powered(m, i);

    for (unsigned b = 0; b < width; b++) {
        uint8_t v = (uint8_t)(val >> (8 * b));
        unsigned o = off + b;
        p->cfg[o] = (uint8_t)((p->cfg[o] & ~p->wmask[o]) | (v & p->wmask[o]));
        p->cfg[o] = (uint8_t)(p->cfg[o] & ~(v & p->w1c[o]));
    }

    if (off <= SLTSTA_OFF + 1 && off + width > SLTSTA_OFF) {
        uint16_t v = 0;
        for (unsigned b = 0; b < width; b++) {
            if (off + b == SLTSTA_OFF) {
                v |= (uint8_t)(val >> (8 * b));
            } else if (off + b == SLTSTA_OFF + 1) {
                v |= (uint16_t)((uint8_t)(val >> (8 * b)) << 8);
            }
        }
        if (v & ~old_sta & SLOT_EVENTS) {
            /* QEMU: clearing bits that were not set is racy; revert the events */
            uint16_t sta = get16(p->cfg, SLTSTA_OFF);
            set16(p->cfg, SLTSTA_OFF, (uint16_t)((sta & ~SLOT_EVENTS) | (old_sta & SLOT_EVENTS)));
            p->reverted_clears++;
        } else if (v & old_sta & PCI_EXP_SLTSTA_CC) {
            p->cc_acks++;
        }
        update_status(p);
    }
    if (!(off <= SLTCTL_OFF + 1 && off + width > SLTCTL_OFF)) {
        return;
    }
    uint16_t ctl = get16(p->cfg, SLTCTL_OFF);
    uint16_t sta = get16(p->cfg, SLTSTA_OFF);
    p->sltctl_writes++;
    if (m->on_sltctl != NULL) {
        m->on_sltctl(m->hook_ctx, i, old_ctl, ctl);
    }
    p->last_sltctl_write_ns = m->now_ns;
    if (ctl & PCI_EXP_SLTCTL_EIC) {
        set16(p->cfg, SLTCTL_OFF, (uint16_t)(ctl & ~PCI_EXP_SLTCTL_EIC));
        sta ^= PCI_EXP_SLTSTA_EIS;
        set16(p->cfg, SLTSTA_OFF, sta);
        ctl = get16(p->cfg, SLTCTL_OFF);
    }
    if ((sta & PCI_EXP_SLTSTA_PDS) && powered_off_ctl(ctl) && !powered_off_ctl(old_ctl) &&
        !p->keeps_card) {
        do_unplug(m, i, 0);
    }
    if (m->on_power != NULL && was_powered != pcie_model_powered(m, i)) {
        m->on_power(m->hook_ctx, i, pcie_model_powered(m, i));
    }
    notify(p);
    if (!p->cc_broken) {
        slot_event(p, PCI_EXP_SLTSTA_CC);
    }
}

/* ---- ECAM window ---- */

static int port_of_sid(const struct pcie_model *m, pci_sid_t sid)
{
    for (int i = 0; i < PCIE_MODEL_MAX_PORTS; i++) {
        if (m->ports[i].used && m->ports[i].sid == sid) {
            return i;
        }
    }
    return -1;
}

static int port_of_bus(const struct pcie_model *m, uint8_t bus)
{
    for (int i = 0; i < PCIE_MODEL_MAX_PORTS; i++) {
        if (m->ports[i].used && m->ports[i].sec_bus == bus) {
            return i;
        }
    }
    return -1;
}

static uint32_t dev_read(const struct pcie_model_port *p, unsigned reg, unsigned width)
{
    uint8_t img[64];
    uint32_t v = 0;
    memset(img, 0, sizeof(img));
    set16(img, PCI_VENDOR_ID, p->vendor);
    set16(img, PCI_DEVICE_ID, p->device);
    img[PCI_CLASS_DEVICE + 1] = 0x00; /* unclassified: enough for the server */
    if (reg >= sizeof(img)) {
        return 0;
    }
    for (unsigned b = 0; b < width && reg + b < sizeof(img); b++) {
        v |= (uint32_t)img[reg + b] << (8 * b);
    }
    return v;
}

static uint32_t mmio_read(void *ctx, uint64_t off, unsigned width)
{
    struct pcie_model *m = ctx;
    uint8_t bus = (uint8_t)(off >> 20), devfn = (uint8_t)(off >> 12);
    unsigned reg = (unsigned)(off & 0xfff);
    uint32_t ones = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
    int i;
    if (bus == 0) {
        i = port_of_sid(m, PCI_SID(0, devfn >> 3, devfn & 7));
        if (i < 0 || m->ports[i].port_dead) {
            return ones;
        }
        m->ports[i].cfg_reads++;
        uint32_t v = 0;
        for (unsigned b = 0; b < width; b++) {
            v |= (uint32_t)m->ports[i].cfg[reg + b] << (8 * b);
        }
        return v;
    }
    i = port_of_bus(m, bus);
    if (i >= 0) {
        m->ports[i].cfg_reads++;
    }
    if (i < 0 || devfn != 0 || !pcie_model_device_answers(m, i)) {
        return ones;
    }
    return dev_read(&m->ports[i], reg, width);
}

static void mmio_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    struct pcie_model *m = ctx;
    uint8_t bus = (uint8_t)(off >> 20), devfn = (uint8_t)(off >> 12);
    int i;
    if (bus != 0) {
        return; /* the device's own registers do not matter to the slot */
    }
    i = port_of_sid(m, PCI_SID(0, devfn >> 3, devfn & 7));
    if (i >= 0 && !m->ports[i].port_dead) {
        m->ports[i].cfg_writes++;
        port_write(m, i, (unsigned)(off & 0xfff), width, val);
    }
}

void pcie_model_init(struct pcie_model *m)
{
    memset(m, 0, sizeof(*m));
    m->bus_end = 0x0f;
    m->mmio.ctx = m;
    m->mmio.read = mmio_read;
    m->mmio.write = mmio_write;
    pci_ecam_init(&m->ecam, &m->mmio, 0, 0, m->bus_end);
}

int pcie_model_add_port(struct pcie_model *m, uint8_t dev, uint8_t sec_bus, uint16_t slot,
                        bool populated, uint16_t vendor, uint16_t device)
{
    int i;
    for (i = 0; i < PCIE_MODEL_MAX_PORTS && m->ports[i].used; i++) {
    }
    if (i == PCIE_MODEL_MAX_PORTS || sec_bus == 0 || sec_bus > m->bus_end) {
        return -1;
    }
    struct pcie_model_port *p = &m->ports[i];
    memset(p, 0, sizeof(*p));
    p->used = true;
    p->sid = PCI_SID(0, dev, 0);
    p->sec_bus = sec_bus;
    uint8_t *c = p->cfg;
    /* Header as QEMU's pcie-root-port (1b36:000c), type 1, capabilities list. */
    set16(c, PCI_VENDOR_ID, 0x1b36);
    set16(c, PCI_DEVICE_ID, 0x000c);
    set16(c, PCI_STATUS, PCI_STATUS_CAP_LIST);
    c[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_BRIDGE;
    set16(c, PCI_CLASS_DEVICE, 0x0604);
    c[PCI_PRIMARY_BUS] = 0;
    c[PCI_SECONDARY_BUS] = sec_bus;
    c[PCI_SUBORDINATE_BUS] = sec_bus;
    c[PCI_CAPABILITY_LIST] = CAP;
    /* PCIe capability v2, root port, slot implemented (values of the q35 capture in tests/data) */
    c[CAP + PCI_CAP_ID] = PCI_CAP_ID_EXP;
    c[CAP + PCI_CAP_NEXT] = 0;
    set16(c, CAP + PCI_EXP_FLAGS,
          0x2 | (PCI_EXP_TYPE_ROOT_PORT << PCI_EXP_FLAGS_TYPE_SHIFT) | PCI_EXP_FLAGS_SLOT);
    set32(c, CAP + PCI_EXP_LNKCAP, 0x00300604u); /* includes DLLLARC */
    set32(c, CAP + PCI_EXP_SLTCAP,
          ((uint32_t)slot << PCI_EXP_SLTCAP_PSN_SHIFT) | PCI_EXP_SLTCAP_EIP | PCI_EXP_SLTCAP_ABP |
              PCI_EXP_SLTCAP_PCP | PCI_EXP_SLTCAP_AIP | PCI_EXP_SLTCAP_PIP | PCI_EXP_SLTCAP_HPS |
              PCI_EXP_SLTCAP_HPC);
    /* pcie_cap_slot_reset: AIC off; populated: PCC on, PIC on; empty: PCC off, PIC off */
    uint16_t ctl = (uint16_t)(PCI_EXP_SLTCTL_IND_OFF << PCI_EXP_SLTCTL_AIC_SHIFT);
    ctl |= populated ? (uint16_t)(PCI_EXP_SLTCTL_IND_ON << PCI_EXP_SLTCTL_PIC_SHIFT)
                     : (uint16_t)(PCI_EXP_SLTCTL_PCC | PIC_OFF);
    set16(c, SLTCTL_OFF, ctl);
    set16(c, SLTSTA_OFF, populated ? PCI_EXP_SLTSTA_PDS : 0);
    set16(c, LNKSTA_OFF, populated ? (uint16_t)(0x0011 | PCI_EXP_LNKSTA_DLLLA) : 0x0011);
    /* writable: Command, Slot Control fields QEMU's wmask opens; RW1C: the supported events */
    set16(p->wmask, PCI_COMMAND, 0x0547);
    set16(p->wmask, SLTCTL_OFF,
          PCI_EXP_SLTCTL_PIC_MASK | PCI_EXP_SLTCTL_AIC_MASK | PCI_EXP_SLTCTL_HPIE |
              PCI_EXP_SLTCTL_CCIE | PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_EIC |
              PCI_EXP_SLTCTL_PCC);
    /* QEMU's w1cmask holds ABP, PDC and CC only; PFD, MRLSC and DLLSC, which QEMU never sets,
     * are RW1C here as on real ports so that injected events can be acknowledged. */
    set16(p->w1c, SLTSTA_OFF, SLOT_EVENTS | PCI_EXP_SLTSTA_DLLSC);
    p->dev_present = populated;
    p->vendor = vendor;
    p->device = device;
    return i;
}

void pcie_model_set_nccs(struct pcie_model *m, int i, bool nccs)
{
    uint8_t *c = m->ports[i].cfg;
    uint32_t cap = (uint32_t)get16(c, CAP + PCI_EXP_SLTCAP) |
                   ((uint32_t)get16(c, CAP + PCI_EXP_SLTCAP + 2) << 16);
    cap = nccs ? (cap | PCI_EXP_SLTCAP_NCCS) : (cap & ~PCI_EXP_SLTCAP_NCCS);
    set32(c, CAP + PCI_EXP_SLTCAP, cap);
    m->ports[i].cc_broken = nccs; /* such a port never reports completion */
}

int pcie_model_device_add(struct pcie_model *m, int i, uint16_t vendor, uint16_t device)
{
    struct pcie_model_port *p;
    if (i < 0 || i >= PCIE_MODEL_MAX_PORTS || !m->ports[i].used) {
        return PCIE_MODEL_ERR_NO_DEVICE;
    }
    p = &m->ports[i];
    if (p->dev_present) {
        return PCIE_MODEL_ERR_OCCUPIED;
    }
    p->dev_present = true;
    p->dev_dead = false;
    p->vendor = vendor;
    p->device = device;
    p->plugs++;
    set16(p->cfg, SLTSTA_OFF, (uint16_t)(get16(p->cfg, SLTSTA_OFF) | PCI_EXP_SLTSTA_PDS));
    set_link_active(p, true);
    slot_event(p, PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_ABP);
    return PCIE_MODEL_OK;
}

int pcie_model_device_del(struct pcie_model *m, int i)
{
    struct pcie_model_port *p;
    uint16_t ctl;
    if (i < 0 || i >= PCIE_MODEL_MAX_PORTS || !m->ports[i].used || !m->ports[i].dev_present) {
        return PCIE_MODEL_ERR_NO_DEVICE;
    }
    p = &m->ports[i];
    /* qdev_unplug: a second request before the first expired is refused */
    if (p->del_pending && m->now_ns < p->del_expires) {
        return PCIE_MODEL_ERR_PENDING;
    }
    ctl = get16(p->cfg, SLTCTL_OFF);
    if ((ctl & PCI_EXP_SLTCTL_PIC_MASK) == PIC_BLINK) {
        return PCIE_MODEL_ERR_BLINKING;
    }
    p->del_pending = true;
    p->del_expires = m->now_ns + PCIE_MODEL_DEL_GUARD_NS;
    if (powered_off_ctl(ctl)) {
        do_unplug(m, i, 2);
        notify(p);
        set16(p->cfg, SLTSTA_OFF, (uint16_t)(get16(p->cfg, SLTSTA_OFF) & ~PCI_EXP_SLTSTA_ABP));
        return PCIE_MODEL_OK;
    }
    slot_event(p, PCI_EXP_SLTSTA_ABP);
    return PCIE_MODEL_OK;
}

void pcie_model_push_button(struct pcie_model *m, int i)
{
    slot_event(&m->ports[i], PCI_EXP_SLTSTA_ABP);
}

void pcie_model_pull(struct pcie_model *m, int i)
{
    struct pcie_model_port *p = &m->ports[i];
    if (!p->dev_present) {
        return;
    }
    do_unplug(m, i, 1);
    notify(p);
}

void pcie_model_link_down(struct pcie_model *m, int i)
{
    struct pcie_model_port *p = &m->ports[i];
    set_link_active(p, false);
    p->dev_dead = true; /* nothing answers across a dead link */
    /* QEMU never raises DLLSC; real ports do (and only interrupt if DLLSCE: not in QEMU's wmask,
     * so the change is only seen with another event or by polling). */
    set16(p->cfg, SLTSTA_OFF, (uint16_t)(get16(p->cfg, SLTSTA_OFF) | PCI_EXP_SLTSTA_DLLSC));
    notify(p);
}

void pcie_model_inject(struct pcie_model *m, int i, uint16_t ev)
{
    slot_event(&m->ports[i], (uint16_t)(ev & (SLOT_EVENTS | PCI_EXP_SLTSTA_DLLSC)));
}

bool pcie_model_take_irq(struct pcie_model *m, int i)
{
    if (m->ports[i].irq_pending == 0) {
        return false;
    }
    m->ports[i].irq_pending--;
    return true;
}
