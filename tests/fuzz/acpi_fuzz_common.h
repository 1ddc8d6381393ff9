/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared helper of the libacpi fuzz targets: every input is parsed twice, once as given and
 * once with the signature forced and the checksum repaired, so mutations reach the structure
 * parsers instead of dying at the checksum. Both copies are exact-size heap buffers, so any
 * read past the end is caught by AddressSanitizer.
 */
#ifndef ACPI_FUZZ_COMMON_H
#define ACPI_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void (*fuzz_parse_fn)(const uint8_t *buf, size_t len);

static void fuzz_both_ways(const uint8_t *data, size_t size, const char *sig, fuzz_parse_fn parse)
{
    uint8_t *raw = malloc(size ? size : 1);
    memcpy(raw, data, size);
    parse(raw, size);
    if (size >= 36) {
        memcpy(raw, sig, 4);
        uint32_t len = (uint32_t)raw[4] | (uint32_t)raw[5] << 8 | (uint32_t)raw[6] << 16 |
                       (uint32_t)raw[7] << 24;
        size_t n = len <= size ? len : size;
        uint8_t s = 0;
        raw[9] = 0;
        for (size_t i = 0; i < n; i++) {
            s = (uint8_t)(s + raw[i]);
        }
        raw[9] = (uint8_t)(0x100 - s);
        parse(raw, size);
    }
    free(raw);
}

#endif
