# SPDX-License-Identifier: BSD-2-Clause
# libFuzzer target for the hotplug slot state machine: random event sequences against the QEMU
# slot model, checked by the host tests' harness (ordering invariants, bounded waits, settling);
# driver answers and control requests pass the server's protocol decoder (declared errors only).
pc_fuzz_target(fuzz_hotplug
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/hotplug_fuzz.c
            ${PC_ROOT}/tests/host/hotplug/harness.c
            ${PC_ROOT}/tests/model/pcie/src/pcie_slot_model.c
            ${PC_ROOT}/libs/libhotplug/src/slot.c
            ${PC_ROOT}/libs/libhotplug/src/server.c
            ${PC_ROOT}/libs/libhotplug/src/gone.c
            ${PC_ROOT}/servers/pcie-hotplug/src/protocol.c
            ${PC_ROOT}/libs/libpci/src/ecam.c
            ${PC_ROOT}/libs/libpci/src/cap.c
            ${PC_ROOT}/libs/libpci/src/bdf.c
    INCLUDES ${PC_ROOT}/libs/libhotplug/include ${PC_ROOT}/libs/libpci/include
             ${PC_ROOT}/servers/pcie-hotplug/include ${PC_ROOT}/libs/libiommu/include
             ${PC_ROOT}/tests/model/pcie/include ${PC_ROOT}/tests/host/hotplug
    DEFINES HH_TRACE_MAX=64
    RUNS 30000
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/hotplug_corpus)
