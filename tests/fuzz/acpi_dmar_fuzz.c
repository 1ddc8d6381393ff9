/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: DMAR parsing and scope resolution against a config space of all-ones. */
#include <acpi/acpi.h>

#include "acpi_fuzz_common.h"

static uint32_t cfg_read(void *ctx, uint16_t seg, pci_sid_t sid, uint16_t off)
{
    /* Bus 0 functions are bridges to bus (dev + 1); everything else is absent. */
    (void)ctx;
    (void)seg;
    if (PCI_SID_BUS(sid) > 8) {
        return 0xffffffffu;
    }
    switch (off) {
    case 0x00:
        return 0x00011b36u;
    case 0x0c:
        return 0x00010000u;
    case 0x18:
        return (uint32_t)(PCI_SID_BUS(sid) + 1u + PCI_SID_DEV(sid) % 3u) << 8 | 0xff0000u;
    default:
        return 0;
    }
}

static void parse(const uint8_t *buf, size_t len)
{
    struct acpi_dmar_drhd drhd[4];
    struct acpi_dmar_rmrr rmrr[4];
    struct acpi_dmar_atsr atsr[4], satc[4];
    struct acpi_dmar_rhsa rhsa[4];
    struct acpi_dmar_scope scope[16];
    struct acpi_dmar d = {.drhds = drhd,
                          .drhd_cap = 4,
                          .rmrrs = rmrr,
                          .rmrr_cap = 4,
                          .atsrs = atsr,
                          .atsr_cap = 4,
                          .satcs = satc,
                          .satc_cap = 4,
                          .rhsas = rhsa,
                          .rhsa_cap = 4,
                          .scopes = scope,
                          .scope_cap = 16};
    if (acpi_dmar_parse(buf, len, &d) != ACPI_OK) {
        return; /* on NOSPACE the arrays' contents are unspecified */
    }
    size_t n = d.scope_count < 16 ? d.scope_count : 16;
    for (size_t i = 0; i < n; i++) {
        pci_sid_t sid;
        uint8_t sec, sub;
        (void)acpi_dmar_scope_resolve(&scope[i], 0, cfg_read, NULL, &sid, &sec, &sub);
    }
    size_t u = d.drhd_count < 4 ? d.drhd_count : 4;
    for (size_t i = 0; i < u; i++) {
        if (drhd[i].scope_first + drhd[i].scope_count > d.scope_count) {
            __builtin_trap(); /* a unit must never refer to scopes that were not stored */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_both_ways(data, size, "DMAR", parse);
    return 0;
}
