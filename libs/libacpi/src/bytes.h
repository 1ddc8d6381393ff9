/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Little-endian field reads for the table parsers. Tables are byte-packed and often unaligned,
 * so fields are assembled byte by byte; callers have bounds-checked the offset first.
 */
#ifndef ACPI_BYTES_H
#define ACPI_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t acpi_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t acpi_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t acpi_le64(const uint8_t *p)
{
    return (uint64_t)acpi_le32(p) | (uint64_t)acpi_le32(p + 4) << 32;
}

static inline uint8_t acpi_sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++) {
        s = (uint8_t)(s + p[i]);
    }
    return s;
}

/* Offsets in the System Description Table Header (ACPI 5.2.6). */
#define ACPI_HDR_SIGNATURE 0
#define ACPI_HDR_LENGTH 4
#define ACPI_HDR_REVISION 8
#define ACPI_HDR_CHECKSUM 9

#endif /* ACPI_BYTES_H */
