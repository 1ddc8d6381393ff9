/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: MCFG parsing; every accepted window must not wrap. */
#include <acpi/acpi.h>

#include "acpi_fuzz_common.h"

static void parse(const uint8_t *buf, size_t len)
{
    struct acpi_mcfg_seg s[4];
    size_t n = 0;
    int err = acpi_mcfg_parse(buf, len, s, 4, &n);
    if (err == ACPI_OK || err == ACPI_ERR_NOSPACE) {
        for (size_t i = 0; i < n && i < 4; i++) {
            uint64_t span = ((uint64_t)(s[i].bus_end - s[i].bus_start) + 1) << 20;
            if (s[i].bus_end < s[i].bus_start || s[i].base + span < s[i].base) {
                __builtin_trap();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_both_ways(data, size, "MCFG", parse);
    return 0;
}
