/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ECAM config access (PCIe 7.2.2) and the Command register. Every access is range- and
 * alignment-checked before it reaches the mmio accessor, so a bad sid or offset can never turn
 * into an access outside the mapped window; such reads return all-ones, as an absent function
 * does on real hardware.
 */
#include <pci/pci.h>

const char *pci_err_str(int err)
{
    switch (err) {
    case PCI_OK:
        return "ok";
    case PCI_ERR_ABSENT:
        return "function absent";
    case PCI_ERR_NOT_FOUND:
        return "not found";
    case PCI_ERR_MALFORMED:
        return "malformed config space";
    case PCI_ERR_LOOP:
        return "loop";
    case PCI_ERR_INVALID:
        return "invalid argument";
    case PCI_ERR_NOSPACE:
        return "output array too small";
    case PCI_ERR_BUSY:
        return "busy";
    case PCI_ERR_TIMEOUT:
        return "timeout";
    default:
        return "unknown error";
    }
}

static uint32_t direct_read(void *ctx, uint64_t off, unsigned width)
{
    const struct pci_mmio_direct *d = ctx;
    volatile uint8_t *p = (volatile uint8_t *)d->base + off;
    if (off >= d->size || width > d->size - off) {
        return 0xffffffffu;
    }
    switch (width) {
    case 1:
        return *p;
    case 2:
        return *(volatile uint16_t *)p;
    default:
        return *(volatile uint32_t *)p;
    }
}

static void direct_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    const struct pci_mmio_direct *d = ctx;
    volatile uint8_t *p = (volatile uint8_t *)d->base + off;
    if (off >= d->size || width > d->size - off) {
        return;
    }
    switch (width) {
    case 1:
        *p = (uint8_t)val;
        break;
    case 2:
        *(volatile uint16_t *)p = (uint16_t)val;
        break;
    default:
        *(volatile uint32_t *)p = val;
        break;
    }
}

void pci_mmio_direct_init(struct pci_mmio *mmio, struct pci_mmio_direct *d, volatile void *base,
                          uint64_t size)
{
    d->base = base;
    d->size = size;
    mmio->ctx = d;
    mmio->read = direct_read;
    mmio->write = direct_write;
}

int pci_ecam_init(struct pci_ecam *ecam, const struct pci_mmio *mmio, uint16_t segment,
                  uint8_t bus_start, uint8_t bus_end)
{
    if (ecam == NULL || mmio == NULL || mmio->read == NULL || mmio->write == NULL ||
        bus_end < bus_start) {
        return PCI_ERR_INVALID;
    }
    ecam->mmio = mmio;
    ecam->segment = segment;
    ecam->bus_start = bus_start;
    ecam->bus_end = bus_end;
    return PCI_OK;
}

/* Offset into the window, or false if the access must not reach the hardware. */
static bool ecam_offset(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off, unsigned width,
                        uint64_t *out)
{
    uint8_t bus = PCI_SID_BUS(sid);
    if (ecam == NULL || ecam->mmio == NULL || bus < ecam->bus_start || bus > ecam->bus_end ||
        off >= PCI_CFG_SPACE_EXP_SIZE || (off & (width - 1)) != 0) {
        return false;
    }
    *out = ((uint64_t)(bus - ecam->bus_start) << 20) | ((uint64_t)PCI_SID_DEVFN(sid) << 12) | off;
    return true;
}

static uint32_t cfg_read(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off, unsigned width)
{
    uint64_t o;
    uint32_t ones = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
    if (!ecam_offset(ecam, sid, off, width, &o)) {
        return ones;
    }
    return ecam->mmio->read(ecam->mmio->ctx, o, width) & ones;
}

static void cfg_write(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off, unsigned width,
                      uint32_t val)
{
    uint64_t o;
    if (ecam_offset(ecam, sid, off, width, &o)) {
        ecam->mmio->write(ecam->mmio->ctx, o, width, val);
    }
}

uint8_t pci_cfg_read8(const struct pci_ecam *e, pci_sid_t s, uint16_t off)
{
    return (uint8_t)cfg_read(e, s, off, 1);
}
uint16_t pci_cfg_read16(const struct pci_ecam *e, pci_sid_t s, uint16_t off)
{
    return (uint16_t)cfg_read(e, s, off, 2);
}
uint32_t pci_cfg_read32(const struct pci_ecam *e, pci_sid_t s, uint16_t off)
{
    return cfg_read(e, s, off, 4);
}
void pci_cfg_write8(const struct pci_ecam *e, pci_sid_t s, uint16_t off, uint8_t v)
{
    cfg_write(e, s, off, 1, v);
}
void pci_cfg_write16(const struct pci_ecam *e, pci_sid_t s, uint16_t off, uint16_t v)
{
    cfg_write(e, s, off, 2, v);
}
void pci_cfg_write32(const struct pci_ecam *e, pci_sid_t s, uint16_t off, uint32_t v)
{
    cfg_write(e, s, off, 4, v);
}

uint32_t pci_ecam_read32_cb(void *ctx, uint16_t segment, pci_sid_t sid, uint16_t off)
{
    const struct pci_ecam *ecam = ctx;
    if (ecam == NULL || segment != ecam->segment) {
        return 0xffffffffu;
    }
    return pci_cfg_read32(ecam, sid, off);
}

bool pci_present(const struct pci_ecam *ecam, pci_sid_t sid)
{
    uint16_t v = pci_cfg_read16(ecam, sid, PCI_VENDOR_ID);
    return v != PCI_VENDOR_ID_NONE && v != 0;
}

int pci_command_update(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t clear, uint16_t set)
{
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    uint16_t cmd = pci_cfg_read16(ecam, sid, PCI_COMMAND);
    pci_cfg_write16(ecam, sid, PCI_COMMAND, (uint16_t)((cmd & ~clear) | set));
    return PCI_OK;
}

int pci_set_bus_master(const struct pci_ecam *ecam, pci_sid_t sid, bool on)
{
    return on ? pci_command_update(ecam, sid, 0, PCI_COMMAND_BUS_MASTER)
              : pci_command_update(ecam, sid, PCI_COMMAND_BUS_MASTER, 0);
}

int pci_set_memory_space(const struct pci_ecam *ecam, pci_sid_t sid, bool on)
{
    return on ? pci_command_update(ecam, sid, 0, PCI_COMMAND_MEMORY)
              : pci_command_update(ecam, sid, PCI_COMMAND_MEMORY, 0);
}
