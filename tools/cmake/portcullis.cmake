# SPDX-License-Identifier: BSD-2-Clause
#
# Build helpers shared by every directory: compile-flag sets for the two worlds, libraries that
# build for both the target and the host, and fuzz targets built with clang's libFuzzer.

set(PC_ROOT ${CMAKE_SOURCE_DIR})

# Flags for ring-0 code. The kernel lives in the top 2 GiB (mcmodel=kernel), never touches the
# red zone (interrupts push onto the current stack) and never uses SSE (no FPU state in ring 0).
add_library(pc_kernel_flags INTERFACE)
target_compile_options(pc_kernel_flags INTERFACE
    -ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie -fno-asynchronous-unwind-tables
    -mno-red-zone -mcmodel=kernel -mno-sse -mno-sse2 -mno-mmx -mno-80387 -mgeneral-regs-only
    -fno-omit-frame-pointer -Wall -Wextra -Werror=implicit-function-declaration -std=gnu11)
target_link_options(pc_kernel_flags INTERFACE -nostdlib -static -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -no-pie)

# Flags for ring-3 code (user tasks and the target variants of libraries). Static, non-PIC, linked
# against newlib built for x86_64-elf (see libs/libc). The kernel saves FPU/SSE state per thread.
add_library(pc_user_flags INTERFACE)
target_compile_options(pc_user_flags INTERFACE
    -ffreestanding -fno-stack-protector -fno-pic -fno-pie -fno-asynchronous-unwind-tables
    -Wall -Wextra -Werror=implicit-function-declaration -std=gnu11)
target_link_options(pc_user_flags INTERFACE -nostdlib -static -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -no-pie)

# Flags for host code (tests, models, host variants of libraries).
add_library(pc_host_flags INTERFACE)
target_compile_options(pc_host_flags INTERFACE -Wall -Wextra -Werror=implicit-function-declaration -std=gnu11 -g)
if(HostSanitizers)
    target_compile_options(pc_host_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(pc_host_flags INTERFACE -fsanitize=address,undefined)
endif()

# pc_dual_library(<name> SOURCES <src...> [INCLUDE <dir>] [DEPENDS <dual-lib names...>])
# Creates <name>_host (for tests on the build machine) and, once the user runtime exists,
# <name>_target (for tasks). Both expose INCLUDE as a public include directory.
function(pc_dual_library name)
    cmake_parse_arguments(A "" "INCLUDE" "SOURCES;DEPENDS" ${ARGN})
    if(NOT A_INCLUDE)
        set(A_INCLUDE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    endif()
    add_library(${name}_host STATIC ${A_SOURCES})
    target_include_directories(${name}_host PUBLIC ${A_INCLUDE})
    target_link_libraries(${name}_host PUBLIC pc_host_flags)
    foreach(dep IN LISTS A_DEPENDS)
        target_link_libraries(${name}_host PUBLIC ${dep}_host)
    endforeach()
    if(TARGET pc_user_runtime)
        add_library(${name}_target STATIC ${A_SOURCES})
        target_include_directories(${name}_target PUBLIC ${A_INCLUDE})
        target_link_libraries(${name}_target PUBLIC pc_user_flags pc_user_runtime)
        foreach(dep IN LISTS A_DEPENDS)
            target_link_libraries(${name}_target PUBLIC ${dep}_target)
        endforeach()
    endif()
endfunction()

# pc_host_test(<name> SOURCES <src...> LIBS <libs...> [LABELS <labels>])
# One host test executable registered with ctest.
function(pc_host_test name)
    cmake_parse_arguments(A "" "" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
    add_executable(${name} ${A_SOURCES})
    target_link_libraries(${name} PRIVATE pc_host_flags ${A_LIBS})
    add_test(NAME ${name} COMMAND ${name} ${A_ARGS})
    set(labels host ${A_LABELS})
    set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 300)
endfunction()

# pc_fuzz_target(<name> SOURCES <src...> INCLUDES <dirs...> [RUNS <n>] [CORPUS <dir...>])
# Builds a libFuzzer binary with clang (the main build uses gcc) and registers a short,
# deterministic run (fixed seed, fixed number of inputs) with ctest. CORPUS names seed
# directories; the target's minimized coverage corpus tests/fuzz/corpus/<name>/ (made by
# tools/fuzz_long.sh) is added when it exists. Every target is also listed, with its corpus
# directories, in <build>/fuzz_targets.txt for tools/fuzz_long.sh.
find_program(PC_CLANG NAMES clang clang-14)
function(pc_fuzz_target name)
    cmake_parse_arguments(A "" "RUNS" "SOURCES;INCLUDES;DEFINES;CORPUS" ${ARGN})
    if(NOT PC_CLANG)
        message(WARNING "clang not found: fuzz target ${name} not built")
        return()
    endif()
    if(NOT A_RUNS)
        set(A_RUNS 200000)
    endif()
    set(srcs)
    foreach(s IN LISTS A_SOURCES)
        get_filename_component(abs ${s} ABSOLUTE)
        list(APPEND srcs ${abs})
    endforeach()
    set(incs)
    foreach(i IN LISTS A_INCLUDES)
        list(APPEND incs -I${i})
    endforeach()
    set(defs)
    foreach(d IN LISTS A_DEFINES)
        list(APPEND defs -D${d})
    endforeach()
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${name})
    set(cov_ignore ${PC_ROOT}/tests/fuzz/coverage_ignorelist.txt)
    add_custom_command(OUTPUT ${out}
        COMMAND ${PC_CLANG} -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined
                -fno-sanitize-recover=undefined -fsanitize-coverage-ignorelist=${cov_ignore}
                ${defs} ${incs} ${srcs} -o ${out}
        DEPENDS ${srcs} ${cov_ignore}
        COMMENT "libFuzzer target ${name}")
    add_custom_target(${name}_build ALL DEPENDS ${out})
    set(cov_corpus ${PC_ROOT}/tests/fuzz/corpus/${name})
    if(IS_DIRECTORY ${cov_corpus})
        list(APPEND A_CORPUS ${cov_corpus})
    endif()
    string(REPLACE ";" " " corpus_words "${A_CORPUS}")
    file(APPEND ${CMAKE_BINARY_DIR}/fuzz_targets.txt "${name} ${out} ${corpus_words}\n")
    # New inputs go to a scratch directory in the build tree, emptied before every run so a run
    # depends only on the seed and the checked-in corpus (which stays read-only).
    set(scratch ${CMAKE_CURRENT_BINARY_DIR}/${name}.corpus)
    add_test(NAME ${name} COMMAND sh -c
        "rm -rf \"$1\" && mkdir -p \"$1\" && shift && exec \"$@\""
        sh ${scratch} ${out} -seed=1 -runs=${A_RUNS} -rss_limit_mb=1024 ${scratch} ${A_CORPUS})
    set_tests_properties(${name} PROPERTIES LABELS "fuzz" TIMEOUT 600)
endfunction()

# User tasks (pc_add_task) and QEMU images/tests (pc_add_image, pc_add_qemu_test) live next to the
# code they drive.
include(${PC_ROOT}/libs/libc/pc_task.cmake OPTIONAL)
include(${PC_ROOT}/tools/qemu/pc_qemu.cmake OPTIONAL)
