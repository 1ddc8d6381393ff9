/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MCFG parsing (PCI Firmware Specification 3.2, 4.1.2): the ECAM windows libpci maps. Each
 * allocation is checked for a sane bus range and an address range that does not wrap.
 */
#include <acpi/acpi.h>

#include "bytes.h"

#define MCFG_ENTRIES 44 /* header + 8 reserved bytes */
#define MCFG_ENTRY_SIZE 16
#define MCFG_E_BASE 0
#define MCFG_E_SEGMENT 8
#define MCFG_E_BUS_START 10
#define MCFG_E_BUS_END 11

int acpi_mcfg_parse(const void *buf, size_t len, struct acpi_mcfg_seg *out, size_t cap,
                    size_t *count)
{
    uint32_t tlen;
    if (count == NULL || (out == NULL && cap != 0)) {
        return ACPI_ERR_INVALID;
    }
    int err = acpi_table_check(buf, len, "MCFG", &tlen);
    if (err != ACPI_OK) {
        return err;
    }
    if (tlen < MCFG_ENTRIES || (tlen - MCFG_ENTRIES) % MCFG_ENTRY_SIZE != 0) {
        return ACPI_ERR_LENGTH;
    }
    const uint8_t *t = buf;
    size_t n = (tlen - MCFG_ENTRIES) / MCFG_ENTRY_SIZE;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = t + MCFG_ENTRIES + i * MCFG_ENTRY_SIZE;
        struct acpi_mcfg_seg s = {acpi_le64(e + MCFG_E_BASE), acpi_le16(e + MCFG_E_SEGMENT),
                                  e[MCFG_E_BUS_START], e[MCFG_E_BUS_END]};
        uint64_t span = ((uint64_t)(s.bus_end - s.bus_start) + 1) << 20;
        if (s.bus_end < s.bus_start || (s.base & 0xfffff) != 0 || s.base > UINT64_MAX - span) {
            return ACPI_ERR_MALFORMED;
        }
        /* The table lists the base address of bus 0 of the segment (4.1.2), so the window for
         * bus_start begins bus_start MiB above it. */
        if (s.base > UINT64_MAX - ((uint64_t)s.bus_start << 20) - span) {
            return ACPI_ERR_MALFORMED;
        }
        s.base += (uint64_t)s.bus_start << 20;
        if (i < cap) {
            out[i] = s;
        }
    }
    *count = n;
    return n > cap ? ACPI_ERR_NOSPACE : ACPI_OK;
}
