/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * RSDP search and MADT parsing (ACPI 6.5 sections 5.2.5 and 5.2.12), as pure functions over
 * buffers. Every length read from a table is checked against what is readable before use.
 */
#include <plat/acpi.h>

#define MADT_HEADER_LEN 44
#define MADT_LOCAL_APIC 0
#define MADT_IO_APIC 1
#define MADT_ISO 2
#define MADT_LAPIC_ADDR_OVERRIDE 5

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint8_t k_acpi_checksum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++) {
        s = (uint8_t)(s + p[i]);
    }
    return s;
}

long k_acpi_find_rsdp(const uint8_t *mem, size_t len)
{
    static const char sig[8] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
    for (size_t off = 0; off + 20 <= len; off += 16) {
        const uint8_t *p = mem + off;
        int match = 1;
        for (int i = 0; i < 8; i++) {
            if (p[i] != (uint8_t)sig[i]) {
                match = 0;
                break;
            }
        }
        if (!match || k_acpi_checksum(p, 20) != 0) {
            continue;
        }
        /* Revision 2+: the extended structure (length at offset 20) has its own checksum. */
        if (p[15] >= 2) {
            if (off + 36 > len) {
                continue;
            }
            uint32_t l = rd32(p + 20);
            if (l < 36 || l > len - off || k_acpi_checksum(p, l) != 0) {
                continue;
            }
        }
        return (long)off;
    }
    return -1;
}

int k_madt_parse(const uint8_t *tbl, size_t avail, k_madt_info_t *out)
{
    *out = (k_madt_info_t){0};
    if (avail < MADT_HEADER_LEN) {
        return K_ACPI_ERR_TRUNCATED;
    }
    if (tbl[0] != 'A' || tbl[1] != 'P' || tbl[2] != 'I' || tbl[3] != 'C') {
        return K_ACPI_ERR_SIGNATURE;
    }
    uint32_t len = rd32(tbl + 4);
    if (len < MADT_HEADER_LEN || len > avail) {
        return K_ACPI_ERR_TRUNCATED;
    }
    if (k_acpi_checksum(tbl, len) != 0) {
        return K_ACPI_ERR_CHECKSUM;
    }
    out->lapic_addr = rd32(tbl + 36);
    for (uint32_t off = MADT_HEADER_LEN; off < len;) {
        if (len - off < 2) {
            return K_ACPI_ERR_MALFORMED;
        }
        uint8_t type = tbl[off], elen = tbl[off + 1];
        if (elen < 2 || elen > len - off) {
            return K_ACPI_ERR_MALFORMED;
        }
        const uint8_t *e = tbl + off;
        switch (type) {
        case MADT_LOCAL_APIC:
            if (elen < 8) {
                return K_ACPI_ERR_MALFORMED;
            }
            if (rd32(e + 4) & 1) { /* enabled */
                out->cpu_count++;
            }
            break;
        case MADT_IO_APIC:
            if (elen < 12) {
                return K_ACPI_ERR_MALFORMED;
            }
            if (out->ioapic_count < K_MADT_MAX_IOAPICS) {
                out->ioapic[out->ioapic_count].id = e[2];
                out->ioapic[out->ioapic_count].addr = rd32(e + 4);
                out->ioapic[out->ioapic_count].gsi_base = rd32(e + 8);
                out->ioapic_count++;
            }
            break;
        case MADT_ISO:
            if (elen < 10) {
                return K_ACPI_ERR_MALFORMED;
            }
            if (e[2] == 0 && e[3] < 16) { /* bus 0 = ISA */
                out->isa[e[3]].present = 1;
                out->isa[e[3]].gsi = rd32(e + 4);
                out->isa[e[3]].flags = rd16(e + 8);
            }
            break;
        case MADT_LAPIC_ADDR_OVERRIDE:
            if (elen < 12) {
                return K_ACPI_ERR_MALFORMED;
            }
            if (rd32(e + 8) == 0) { /* only honoured below 4 GiB */
                out->lapic_addr = rd32(e + 4);
            }
            break;
        default:
            break;
        }
        off += elen;
    }
    return K_ACPI_OK;
}
