/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: MADT parsing. */
#include <acpi/acpi.h>

#include "acpi_fuzz_common.h"

static void parse(const uint8_t *buf, size_t len)
{
    struct acpi_madt_lapic l[4];
    struct acpi_madt_ioapic io[2];
    struct acpi_madt_iso iso[4];
    struct acpi_madt m = {
        .lapics = l, .lapic_cap = 4, .ioapics = io, .ioapic_cap = 2, .isos = iso, .iso_cap = 4};
    (void)acpi_madt_parse(buf, len, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_both_ways(data, size, "APIC", parse);
    return 0;
}
