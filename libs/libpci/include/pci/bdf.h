/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one bus/device/function type of the project. VT-d calls it the source-id: the 16-bit
 * requester id bus[15:8] dev[7:3] fn[2:0] that tags every DMA and every fault record, and the
 * key of the IOMMU server's device index. Everything that names a PCI function (config access,
 * DMAR device scopes, fault decoding, hotplug IPC) uses pci_sid_t; struct pci_bdf is its
 * unpacked form for code that needs the parts. Segments are carried separately (one ECAM
 * window, one DRHD segment): a sid is always relative to its segment.
 */
#ifndef PCI_BDF_H
#define PCI_BDF_H

#include <stddef.h>
#include <stdint.h>

typedef uint16_t pci_sid_t;

struct pci_bdf {
    uint8_t bus;
    uint8_t dev; /* 0..31 */
    uint8_t fn;  /* 0..7 */
};

/* Arguments are masked to their field widths, so PCI_SID never spills into a neighbour. */
#define PCI_SID(bus, dev, fn)                                                                      \
    ((pci_sid_t)((((unsigned)(bus)&0xffu) << 8) | (((unsigned)(dev)&0x1fu) << 3) |                 \
                 ((unsigned)(fn)&0x7u)))
#define PCI_SID_BUS(sid) ((uint8_t)((sid) >> 8))
#define PCI_SID_DEV(sid) ((uint8_t)(((sid) >> 3) & 0x1fu))
#define PCI_SID_FN(sid) ((uint8_t)((sid)&0x7u))
#define PCI_SID_DEVFN(sid) ((uint8_t)((sid)&0xffu))
#define PCI_DEVFN(dev, fn) ((uint8_t)((((unsigned)(dev)&0x1fu) << 3) | ((unsigned)(fn)&0x7u)))

/* "bb:dd.f" plus the terminating NUL. */
#define PCI_SID_FMT_LEN 8

static inline struct pci_bdf pci_sid_to_bdf(pci_sid_t sid)
{
    struct pci_bdf b = {PCI_SID_BUS(sid), PCI_SID_DEV(sid), PCI_SID_FN(sid)};
    return b;
}

static inline pci_sid_t pci_bdf_to_sid(struct pci_bdf b)
{
    return PCI_SID(b.bus, b.dev, b.fn);
}

/*
 * Writes "bb:dd.f" (lower-case hex, as lspci) into buf. Returns buf. buf_len must be at least
 * PCI_SID_FMT_LEN; with less the output is truncated but always NUL-terminated (buf_len > 0).
 */
char *pci_sid_format(pci_sid_t sid, char *buf, size_t buf_len);

/*
 * Parses exactly "bb:dd.f" (hex, either case; dd <= 1f, f <= 7). Returns 0 and sets *sid, or
 * -1 on any other input (then *sid is untouched).
 */
int pci_sid_parse(const char *s, pci_sid_t *sid);

#endif /* PCI_BDF_H */
