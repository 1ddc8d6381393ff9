/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The little ACPI the kernel needs: find the RSDP (EBDA and the BIOS area) and parse the MADT
 * for I/O APICs, CPU count and ISA interrupt source overrides. The parsers are pure functions
 * over a byte buffer with full bounds and checksum checks (host-tested and fuzzed).
 */
#ifndef PLAT_ACPI_H
#define PLAT_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define K_MADT_MAX_IOAPICS 4

typedef struct k_madt_override {
    uint8_t present;
    uint32_t gsi;
    uint16_t flags; /* MPS INTI flags: bits 0..1 polarity, 2..3 trigger */
} k_madt_override_t;

typedef struct k_madt_info {
    uint32_t lapic_addr;
    uint32_t cpu_count;
    uint32_t ioapic_count;
    struct {
        uint8_t id;
        uint32_t addr;
        uint32_t gsi_base;
    } ioapic[K_MADT_MAX_IOAPICS];
    k_madt_override_t isa[16];
} k_madt_info_t;

enum k_acpi_error {
    K_ACPI_OK = 0,
    K_ACPI_ERR_TRUNCATED = 1,
    K_ACPI_ERR_SIGNATURE = 2,
    K_ACPI_ERR_CHECKSUM = 3,
    K_ACPI_ERR_MALFORMED = 4,
};

/* Parse a MADT of which `avail` bytes are readable at `tbl`. */
int k_madt_parse(const uint8_t *tbl, size_t avail, k_madt_info_t *out);
/* Find a valid RSDP in [mem, mem+len) on 16-byte boundaries; returns its offset or -1. */
long k_acpi_find_rsdp(const uint8_t *mem, size_t len);
/* Sum of bytes mod 256. */
uint8_t k_acpi_checksum(const uint8_t *p, size_t len);

#endif
