# SPDX-License-Identifier: BSD-2-Clause
# libFuzzer target for the libpci capability walker and decoders, seeded with QEMU config images.
pc_fuzz_target(fuzz_pci_caps
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/pci_cap_fuzz.c
            ${PC_ROOT}/libs/libpci/src/bdf.c ${PC_ROOT}/libs/libpci/src/ecam.c ${PC_ROOT}/libs/libpci/src/cap.c
            ${PC_ROOT}/libs/libpci/src/msi.c ${PC_ROOT}/libs/libpci/src/bar.c ${PC_ROOT}/libs/libpci/src/enum.c
    INCLUDES ${PC_ROOT}/libs/libpci/include
    RUNS 200000
    CORPUS "${PC_ROOT}/tests/data/q35-iommu-iotlb/pci")
