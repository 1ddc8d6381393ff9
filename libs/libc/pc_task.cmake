# SPDX-License-Identifier: BSD-2-Clause
#
# pc_add_task(<name> SOURCES <src...> [LIBS <libs...>] [HEAP_SIZE <bytes>] [STACK_SIZE <bytes>])
# Builds the user task <name> (a CMake executable target of that name) as a static ELF linked at
# 0x400000 against newlib and the Portcullis runtime: ${CMAKE_BINARY_DIR}/tasks/<name>.elf. The
# path is also stored in the global property PC_TASK_<name>_ELF. HEAP_SIZE is the malloc arena
# (default PC_TASK_HEAP_SIZE = 4 MiB), STACK_SIZE the initial thread's stack (default 64 KiB);
# both live in .bss.
# Test scripts (ELF checks, the QEMU harness) are python3, standard library only.
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(PC_TASK_HEAP_SIZE 4194304 CACHE STRING "Default heap arena of a user task, in bytes")
set(PC_TASK_STACK_SIZE 65536 CACHE STRING "Default initial stack of a user task, in bytes")

function(pc_add_task name)
    cmake_parse_arguments(A "" "HEAP_SIZE;STACK_SIZE" "SOURCES;LIBS" ${ARGN})
    if(NOT A_SOURCES)
        message(FATAL_ERROR "pc_add_task(${name}): SOURCES is required")
    endif()
    if(NOT TARGET pc_user_runtime)
        message(FATAL_ERROR "pc_add_task(${name}): the user runtime (libs/libc) is not configured")
    endif()
    if(NOT A_HEAP_SIZE)
        set(A_HEAP_SIZE ${PC_TASK_HEAP_SIZE})
    endif()
    if(NOT A_STACK_SIZE)
        set(A_STACK_SIZE ${PC_TASK_STACK_SIZE})
    endif()
    foreach(v HEAP_SIZE STACK_SIZE)
        if(NOT A_${v} MATCHES "^[0-9]+$" OR A_${v} EQUAL 0)
            message(FATAL_ERROR "pc_add_task(${name}): ${v} must be a positive byte count")
        endif()
    endforeach()
    add_executable(${name} ${A_SOURCES})
    set_target_properties(${name} PROPERTIES
        SUFFIX ".elf"
        RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tasks)
    target_link_libraries(${name} PRIVATE pc_user_flags ${A_LIBS} pc_user_runtime)
    foreach(cand libportcullis libportcullis_target)
        if(TARGET ${cand})
            target_link_libraries(${name} PRIVATE ${cand})
            break()
        endif()
    endforeach()
    target_link_options(${name} PRIVATE
        -Wl,--defsym=__pc_heap_size=${A_HEAP_SIZE}
        -Wl,--defsym=__pc_stack_size=${A_STACK_SIZE})
    add_dependencies(${name} pc_newlib)
    set_property(GLOBAL PROPERTY PC_TASK_${name}_ELF ${CMAKE_BINARY_DIR}/tasks/${name}.elf)
endfunction()
