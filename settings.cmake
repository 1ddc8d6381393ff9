# SPDX-License-Identifier: BSD-2-Clause
#
# Named build profiles, seL4-style: `cmake -C settings.cmake -DPORTCULLIS_PROFILE=<name>`.
#   qemu    - the default: optimised kernel with debug output and assertions, for QEMU q35.
#   debug   - -O0 -g, host tests under AddressSanitizer/UBSan.
#   release - optimised, no kernel debug syscalls beyond the console, no assertions.
set(PORTCULLIS_PROFILE "qemu" CACHE STRING "Build profile: qemu, debug or release")
set_property(CACHE PORTCULLIS_PROFILE PROPERTY STRINGS qemu debug release)

if(PORTCULLIS_PROFILE STREQUAL "debug")
    set(CMAKE_BUILD_TYPE "Debug" CACHE STRING "")
    set(KernelDebug ON CACHE BOOL "Kernel debug syscalls and assertions")
    set(HostSanitizers ON CACHE BOOL "Build host tests with ASan/UBSan")
elseif(PORTCULLIS_PROFILE STREQUAL "release")
    set(CMAKE_BUILD_TYPE "Release" CACHE STRING "")
    set(KernelDebug OFF CACHE BOOL "Kernel debug syscalls and assertions")
    set(HostSanitizers OFF CACHE BOOL "Build host tests with ASan/UBSan")
else()
    set(CMAKE_BUILD_TYPE "RelWithDebInfo" CACHE STRING "")
    set(KernelDebug ON CACHE BOOL "Kernel debug syscalls and assertions")
    set(HostSanitizers ON CACHE BOOL "Build host tests with ASan/UBSan")
endif()

set(KernelMaxTasks 16 CACHE STRING "Boot modules the root task may load")
set(KernelTimerHz 1000 CACHE STRING "LAPIC timer tick rate")
set(CMAKE_C_COMPILER gcc CACHE STRING "")
set(CMAKE_ASM_COMPILER gcc CACHE STRING "")
