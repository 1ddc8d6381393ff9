# SPDX-License-Identifier: BSD-2-Clause
# libvtd: decoders, batch building/submission and page tables under libFuzzer.
file(GLOB pc_vtd_src ${PC_ROOT}/libs/libvtd/src/*.c)
pc_fuzz_target(vtd_fuzz
    SOURCES
        ${CMAKE_CURRENT_LIST_DIR}/vtd_fuzz.c
        ${pc_vtd_src}
    INCLUDES ${PC_ROOT}/libs/libvtd/include
    RUNS 20000)
