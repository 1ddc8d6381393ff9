/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MADT parsing (ACPI 6.5, 5.2.12): local APICs and x2APICs, I/O APICs, interrupt source
 * overrides and the local APIC address override. NMI entries and unknown types are skipped by
 * their length; every entry's length is checked against its type's minimum and the table end.
 */
#include <acpi/acpi.h>

#include "bytes.h"

#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_ENTRIES 44

/* Interrupt Controller Structure types and their minimum lengths */
#define MADT_LAPIC 0          /* Processor Local APIC, 8 */
#define MADT_IOAPIC 1         /* I/O APIC, 12 */
#define MADT_ISO 2            /* Interrupt Source Override, 10 */
#define MADT_NMI_SRC 3        /* NMI Source, 8 */
#define MADT_LAPIC_NMI 4      /* Local APIC NMI, 6 */
#define MADT_LAPIC_OVERRIDE 5 /* Local APIC Address Override, 12 */
#define MADT_X2APIC 9         /* Processor Local x2APIC, 16 */
#define MADT_X2APIC_NMI 10    /* Local x2APIC NMI, 12 */

#define MADT_LAPIC_ENABLED (1u << 0)
#define MADT_LAPIC_ONLINE_CAPABLE (1u << 1)

static const uint8_t min_len[] = {
    [MADT_LAPIC] = 8,
    [MADT_IOAPIC] = 12,
    [MADT_ISO] = 10,
    [MADT_NMI_SRC] = 8,
    [MADT_LAPIC_NMI] = 6,
    [MADT_LAPIC_OVERRIDE] = 12,
    [6] = 2,
    [7] = 2,
    [8] = 2,
    [MADT_X2APIC] = 16,
    [MADT_X2APIC_NMI] = 12,
};

int acpi_madt_parse(const void *buf, size_t len, struct acpi_madt *out)
{
    uint32_t tlen;
    if (out == NULL || (out->lapics == NULL && out->lapic_cap) ||
        (out->ioapics == NULL && out->ioapic_cap) || (out->isos == NULL && out->iso_cap)) {
        return ACPI_ERR_INVALID;
    }
    int err = acpi_table_check(buf, len, "APIC", &tlen);
    if (err != ACPI_OK) {
        return err;
    }
    if (tlen < MADT_ENTRIES) {
        return ACPI_ERR_LENGTH;
    }
    const uint8_t *t = buf;
    out->lapic_address = acpi_le32(t + MADT_LAPIC_ADDR);
    out->flags = acpi_le32(t + MADT_FLAGS);
    out->lapic_count = out->ioapic_count = out->iso_count = out->nmi_count = out->unknown_count = 0;
    bool full = false;

    for (size_t off = MADT_ENTRIES; off < tlen;) {
        if (tlen - off < 2) {
            return ACPI_ERR_MALFORMED;
        }
        const uint8_t *e = t + off;
        uint8_t type = e[0], elen = e[1];
        uint8_t need = type < sizeof(min_len) ? min_len[type] : 2;
        if (elen < 2 || elen < need || elen > tlen - off) {
            return ACPI_ERR_MALFORMED;
        }
        switch (type) {
        case MADT_LAPIC:
        case MADT_X2APIC: {
            struct acpi_madt_lapic l;
            uint32_t flags;
            if (type == MADT_LAPIC) {
                l.uid = e[2];
                l.apic_id = e[3];
                flags = acpi_le32(e + 4);
            } else {
                l.apic_id = acpi_le32(e + 4);
                flags = acpi_le32(e + 8);
                l.uid = acpi_le32(e + 12);
            }
            l.enabled = flags & MADT_LAPIC_ENABLED;
            l.online_capable = flags & MADT_LAPIC_ONLINE_CAPABLE;
            l.x2apic = type == MADT_X2APIC;
            if (out->lapic_count < out->lapic_cap) {
                out->lapics[out->lapic_count] = l;
            } else {
                full = true;
            }
            out->lapic_count++;
            break;
        }
        case MADT_IOAPIC:
            if (out->ioapic_count < out->ioapic_cap) {
                out->ioapics[out->ioapic_count] =
                    (struct acpi_madt_ioapic){e[2], acpi_le32(e + 4), acpi_le32(e + 8)};
            } else {
                full = true;
            }
            out->ioapic_count++;
            break;
        case MADT_ISO:
            if (out->iso_count < out->iso_cap) {
                out->isos[out->iso_count] =
                    (struct acpi_madt_iso){e[2], e[3], acpi_le32(e + 4), acpi_le16(e + 8)};
            } else {
                full = true;
            }
            out->iso_count++;
            break;
        case MADT_NMI_SRC:
        case MADT_LAPIC_NMI:
        case MADT_X2APIC_NMI:
            out->nmi_count++;
            break;
        case MADT_LAPIC_OVERRIDE:
            out->lapic_address = acpi_le64(e + 4);
            break;
        default:
            out->unknown_count++;
            break;
        }
        off += elen;
    }
    return full ? ACPI_ERR_NOSPACE : ACPI_OK;
}
