/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Prints what the libacpi/libpci operations cost on the captured QEMU data: wall-clock time
 * per call on the host (indicative only) and the number of config-space accesses, which is the
 * cost that matters on the target (each ECAM access is an MMIO round trip, a trap under QEMU).
 * Exits non-zero only if an operation fails; no timing is asserted.
 */
#include <stdio.h>
#include <time.h>

#include "fixture.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define ITER 20000

int main(void)
{
    static struct capture c;
    static struct fake_ecam f;
    int bad = 0;
    capture_load(&c, "q35-iommu-iotlb");
    fake_ecam_init(&f, 0, 255);
    fake_ecam_add_capture(&f, &c);
    struct acpi_phys phys;
    capture_phys(&c, &phys);

    struct acpi_dmar_drhd drhd[4];
    struct acpi_dmar_atsr atsr[4];
    struct acpi_dmar_scope scope[32];
    struct acpi_dmar d = {.drhds = drhd,
                          .drhd_cap = 4,
                          .atsrs = atsr,
                          .atsr_cap = 4,
                          .scopes = scope,
                          .scope_cap = 32};
    struct capture_blob *b = capture_table(&c, "DMAR");
    double t0 = now_ns();
    for (int i = 0; i < ITER; i++) {
        bad |= acpi_dmar_parse(b->data, b->len, &d) != ACPI_OK;
    }
    printf("acpi_dmar_parse (%zu bytes, %zu scopes): %.0f ns\n", b->len, d.scope_count,
           (now_ns() - t0) / ITER);

    struct acpi_madt_lapic l[4];
    struct acpi_madt_ioapic io[4];
    struct acpi_madt_iso iso[16];
    struct acpi_madt m = {
        .lapics = l, .lapic_cap = 4, .ioapics = io, .ioapic_cap = 4, .isos = iso, .iso_cap = 16};
    b = capture_table(&c, "APIC");
    t0 = now_ns();
    for (int i = 0; i < ITER; i++) {
        bad |= acpi_madt_parse(b->data, b->len, &m) != ACPI_OK;
    }
    printf("acpi_madt_parse (%zu bytes): %.0f ns\n", b->len, (now_ns() - t0) / ITER);

    struct acpi_rsdp r;
    struct acpi_table_ref refs[16];
    size_t n = 0;
    unsigned maps = c.maps;
    t0 = now_ns();
    bad |= acpi_rsdp_find(&phys, &r) != ACPI_OK;
    bad |= acpi_root_walk(&phys, &r, refs, 16, &n) != ACPI_OK;
    printf("acpi_rsdp_find + acpi_root_walk: %.0f ns, %u map calls for %zu tables\n", now_ns() - t0,
           c.maps - maps, n);

    struct pci_func fns[16];
    unsigned reads = f.reads;
    t0 = now_ns();
    bad |= pci_enumerate(&f.ecam, fns, 16, &n, NULL) != PCI_OK;
    printf("pci_enumerate (256 buses in window, %zu functions): %.0f ns, %u config reads\n", n,
           now_ns() - t0, f.reads - reads);

    uint16_t off;
    reads = f.reads;
    bad |= pci_ext_cap_find(&f.ecam, PCI_SID(1, 0, 0), PCI_EXT_CAP_ID_ATS, &off) != PCI_OK;
    printf("pci_ext_cap_find(ATS) on virtio: %u config reads\n", f.reads - reads);
    reads = f.reads;
    bad |= pci_cap_find(&f.ecam, PCI_SID(1, 0, 0), PCI_CAP_ID_EXP, &off) != PCI_OK;
    printf("pci_cap_find(PCIe) on virtio (8th of 8 caps): %u config reads\n", f.reads - reads);
    struct pci_pcie p;
    reads = f.reads;
    bad |= pci_pcie_probe(&f.ecam, PCI_SID(0, 1, 0), &p) != PCI_OK;
    printf("pci_pcie_probe on a root port: %u config reads\n", f.reads - reads);

    b = capture_table(&c, "DMAR");
    bad |= acpi_dmar_parse(b->data, b->len, &d) != ACPI_OK;
    struct acpi_dmar_scope two = {.type = ACPI_DMAR_SCOPE_ENDPOINT, .path_len = 2};
    two.path[0].dev = 1;
    pci_sid_t sid;
    reads = f.reads;
    bad |=
        acpi_dmar_scope_resolve(&two, 0, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL) != ACPI_OK;
    printf("acpi_dmar_scope_resolve (2 hops): %u config reads\n", f.reads - reads);
    capture_free(&c);
    if (bad) {
        fprintf(stderr, "an operation failed\n");
    }
    return bad;
}
