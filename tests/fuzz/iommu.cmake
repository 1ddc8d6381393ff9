# SPDX-License-Identifier: BSD-2-Clause
# libFuzzer targets for the IOMMU server (libs/libiommu). fuzz_iommu_decode: arbitrary message
# sequences from clients, strangers and the hotplug badge against a server running on the VT-d
# model; decoding must never change state, touch hardware, or return an undeclared error.
file(GLOB pc_iommu_fuzz_src
    ${PC_ROOT}/libs/libiommu/src/*.c
    ${PC_ROOT}/libs/libvtd/src/*.c
    ${PC_ROOT}/libs/libpci/src/*.c
    ${PC_ROOT}/tests/model/vtd/src/*.c)
pc_fuzz_target(fuzz_iommu_decode
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/iommu_decode_fuzz.c ${pc_iommu_fuzz_src}
    INCLUDES ${PC_ROOT}/libs/libiommu/include ${PC_ROOT}/libs/libvtd/include
             ${PC_ROOT}/libs/libpci/include ${PC_ROOT}/libs/libacpi/include
             ${PC_ROOT}/tests/model/vtd/include
             ${PC_ROOT}/tests/model/vtd/src
    RUNS 100000)
pc_fuzz_target(fuzz_iommu_sequence
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/iommu_sequence_fuzz.c ${pc_iommu_fuzz_src}
    INCLUDES ${PC_ROOT}/libs/libiommu/include ${PC_ROOT}/libs/libvtd/include
             ${PC_ROOT}/libs/libpci/include ${PC_ROOT}/libs/libacpi/include
             ${PC_ROOT}/tests/model/vtd/include
             ${PC_ROOT}/tests/model/vtd/src
    RUNS 20000)
# fuzz_iommu_irq: the remapped-interrupt methods with the device lifecycle, invariants against the
# unit's table and the model's delivery after every operation (docs/interrupts.md).
pc_fuzz_target(fuzz_iommu_irq
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/iommu_irq_fuzz.c ${pc_iommu_fuzz_src}
    INCLUDES ${PC_ROOT}/libs/libiommu/include ${PC_ROOT}/libs/libvtd/include
             ${PC_ROOT}/libs/libpci/include ${PC_ROOT}/libs/libacpi/include
             ${PC_ROOT}/tests/model/vtd/include
             ${PC_ROOT}/tests/model/vtd/src
    RUNS 20000)
