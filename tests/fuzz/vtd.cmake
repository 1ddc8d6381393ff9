# SPDX-License-Identifier: BSD-2-Clause
# libvtd: decoders, batch building/submission and page tables under libFuzzer.
set(pc_vtd_src ${PC_ROOT}/libs/libvtd/src)
pc_fuzz_target(vtd_fuzz
    SOURCES
        ${CMAKE_CURRENT_LIST_DIR}/vtd_fuzz.c
        ${pc_vtd_src}/caps.c ${pc_vtd_src}/context.c ${pc_vtd_src}/err.c ${pc_vtd_src}/fault.c ${pc_vtd_src}/ir.c
        ${pc_vtd_src}/pgtable.c ${pc_vtd_src}/prq.c ${pc_vtd_src}/qi.c ${pc_vtd_src}/unit.c
    INCLUDES ${PC_ROOT}/libs/libvtd/include
    RUNS 20000)
