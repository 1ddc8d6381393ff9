# SPDX-License-Identifier: BSD-2-Clause
# Fuzzes the ELF loader's validation (libs/libelf) from a small valid executable seed.
pc_fuzz_target(fuzz_elf
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/elf/fuzz_elf.c ${PC_ROOT}/libs/libelf/src/loader.c
    INCLUDES ${PC_ROOT}/libs/libelf/include
    RUNS 500000
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/elf/corpus)
