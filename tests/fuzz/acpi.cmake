# SPDX-License-Identifier: BSD-2-Clause
# libFuzzer targets for the libacpi parsers, seeded with the tables captured from QEMU.
set(pc_acpi_src
    ${PC_ROOT}/libs/libacpi/src/tables.c
    ${PC_ROOT}/libs/libacpi/src/madt.c
    ${PC_ROOT}/libs/libacpi/src/mcfg.c
    ${PC_ROOT}/libs/libacpi/src/dmar.c
    ${PC_ROOT}/libs/libpci/src/bdf.c)
set(pc_acpi_inc ${PC_ROOT}/libs/libacpi/include ${PC_ROOT}/libs/libpci/include ${CMAKE_CURRENT_LIST_DIR})
set(pc_acpi_seeds "${PC_ROOT}/tests/data/q35-iommu-iotlb/acpi;${PC_ROOT}/tests/data/q35-iommu/acpi")

pc_fuzz_target(fuzz_acpi_dmar SOURCES ${CMAKE_CURRENT_LIST_DIR}/acpi_dmar_fuzz.c ${pc_acpi_src}
               INCLUDES ${pc_acpi_inc} RUNS 200000 CORPUS "${pc_acpi_seeds}")
pc_fuzz_target(fuzz_acpi_madt SOURCES ${CMAKE_CURRENT_LIST_DIR}/acpi_madt_fuzz.c ${pc_acpi_src}
               INCLUDES ${pc_acpi_inc} RUNS 200000 CORPUS "${pc_acpi_seeds}")
pc_fuzz_target(fuzz_acpi_mcfg SOURCES ${CMAKE_CURRENT_LIST_DIR}/acpi_mcfg_fuzz.c ${pc_acpi_src}
               INCLUDES ${pc_acpi_inc} RUNS 200000 CORPUS "${pc_acpi_seeds}")
pc_fuzz_target(fuzz_acpi_root SOURCES ${CMAKE_CURRENT_LIST_DIR}/acpi_root_fuzz.c ${pc_acpi_src}
               INCLUDES ${pc_acpi_inc} RUNS 200000 CORPUS ${CMAKE_CURRENT_LIST_DIR}/acpi_root_seeds)
