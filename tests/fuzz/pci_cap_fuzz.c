/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: capability and extended-capability walks, the capability decoders and
 * enumeration over a fuzzed config image. The image answers as 00:00.0 and 01:00.0 (so a
 * bridge header can lead the enumeration one level down); writes are dropped. Inputs shorter
 * than 4 KiB read all-ones past their end, like absent registers.
 */
#include <pci/pci.h>

#include <stdlib.h>
#include <string.h>

struct img {
    const uint8_t *p;
    size_t n;
    unsigned reads;
};

static uint32_t rd(void *ctx, uint64_t off, unsigned width)
{
    struct img *im = ctx;
    im->reads++;
    uint64_t bus = off >> 20, devfn = (off >> 12) & 0xff, reg = off & 0xfff;
    if (devfn != 0 || bus > 1) {
        return 0xffffffffu;
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < width; i++) {
        v |= (uint32_t)(reg + i < im->n ? im->p[reg + i] : 0xff) << (8 * i);
    }
    return v;
}

static void wr(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    (void)ctx;
    (void)off;
    (void)width;
    (void)val;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    struct img im = {copy, size > 4096 ? 4096 : size, 0};
    struct pci_mmio mmio = {&im, rd, wr};
    struct pci_ecam e;
    pci_ecam_init(&e, &mmio, 0, 0, 1);
    for (int ext = 0; ext < 2; ext++) {
        struct pci_cap_iter it;
        uint16_t off, id;
        uint8_t ver;
        unsigned n = 0;
        pci_cap_iter_init(&it, &e, 0, ext);
        while (pci_cap_iter_next(&it, &off, &id, &ver) == PCI_OK) {
            if (++n > (ext ? 960u : 48u)) {
                __builtin_trap(); /* the walk must be bounded */
            }
        }
    }
    struct pci_pcie p;
    struct pci_ats a;
    struct pci_pasid ps;
    struct pci_pri pr;
    struct pci_msi m;
    struct pci_msix x;
    struct pci_func f[8];
    size_t nf;
    if (pci_pcie_probe(&e, 0, &p) == PCI_OK && p.off + 0x24 > 0x100) {
        __builtin_trap();
    }
    (void)pci_ats_probe(&e, 0, &a);
    (void)pci_pasid_probe(&e, 0, &ps);
    (void)pci_pri_probe(&e, 0, &pr);
    (void)pci_msi_probe(&e, 0, &m);
    if (pci_msix_probe(&e, 0, &x) == PCI_OK) {
        (void)pci_msix_check_bar(&x, x.table_bir, 4096);
    }
    (void)pci_enumerate(&e, f, 8, &nf, NULL);
    free(copy);
    return 0;
}
