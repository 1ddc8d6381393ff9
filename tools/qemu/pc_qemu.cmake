# SPDX-License-Identifier: BSD-2-Clause
#
# Images and QEMU tests. An image is a JSON description (kernel, boot modules in order, machine
# preset, extra QEMU arguments) that tools/qemu/run.py boots; a QEMU test is a ctest that boots an
# image under a deadline and checks the guest's result lines (docs/testing.md).
#
# pc_add_image(<name> MODULES <module>... [MACHINE <preset>] [QEMU_ARGS <arg>...]
#              [APPEND <kernel command line>])
#   Writes ${CMAKE_BINARY_DIR}/images/<name>.json. Each <module> is one string:
#   "<task-or-path> [args...]". A bare name (no '/', no ".elf") is a task built by pc_add_task
#   (${CMAKE_BINARY_DIR}/tasks/<name>.elf); anything else is a path, relative to the build
#   directory unless absolute. The first module is the root task. Modules and args may not
#   contain ',' (QEMU's module separator). MACHINE is one of the presets in
#   tools/qemu/pcqemu/machines.py (default "iommu"; also "iommu-legacy", "iommu-cm", "plain").
#   The kernel is ${CMAKE_BINARY_DIR}/kernel/kernel.elf. A target pc_image_<name> builds
#   everything the image needs that this build knows how to make.
#
# pc_add_qemu_test(<name> IMAGE <image> [TIMEOUT <s>] [QMP_SCRIPT <file>] [TRACE <pattern>...]
#                  [TRACE_CHECK <file>] [ICOUNT] [NO_SUMMARY] [LABELS <label>...])
#   A ctest (label "qemu") running run.py --expect-summary with the given deadline (default
#   60 s). QMP_SCRIPT and TRACE_CHECK are python files (relative to the calling directory) with
#   run(ctx) and check(trace, ctx). The console goes to <name>.console.log and the trace to
#   <name>.trace.log in the calling directory's build directory. NO_SUMMARY drops
#   --expect-summary (the guest must still end with pc_debug_halt(0)).

find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(PC_QEMU_RUN ${CMAKE_CURRENT_LIST_DIR}/run.py)
set(PC_QEMU_MACHINES iommu iommu-legacy iommu-cm plain)

function(pc__json_string out value)
    string(REPLACE "\\" "\\\\" value "${value}")
    string(REPLACE "\"" "\\\"" value "${value}")
    set(${out} "\"${value}\"" PARENT_SCOPE)
endfunction()

function(pc_add_image name)
    cmake_parse_arguments(A "" "MACHINE;APPEND;QMP_SCRIPT" "MODULES;QEMU_ARGS" ${ARGN})
    if(A_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "pc_add_image(${name}): unexpected arguments ${A_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT A_MODULES)
        message(FATAL_ERROR "pc_add_image(${name}): at least one module (the root task) is needed")
    endif()
    if(NOT A_MACHINE)
        set(A_MACHINE iommu)
    endif()
    if(NOT A_MACHINE IN_LIST PC_QEMU_MACHINES)
        message(FATAL_ERROR "pc_add_image(${name}): unknown MACHINE ${A_MACHINE} "
                            "(known: ${PC_QEMU_MACHINES})")
    endif()
    get_property(known GLOBAL PROPERTY PC_IMAGES)
    if(name IN_LIST known)
        message(FATAL_ERROR "pc_add_image(${name}): image defined twice")
    endif()
    set_property(GLOBAL APPEND PROPERTY PC_IMAGES ${name})

    set(mods "")
    set(deps "")
    foreach(m IN LISTS A_MODULES)
        string(STRIP "${m}" m)
        if(m MATCHES ",")
            message(FATAL_ERROR "pc_add_image(${name}): module \"${m}\" contains ','")
        endif()
        string(REGEX MATCH "^[^ ]+" what "${m}")
        string(LENGTH "${what}" wlen)
        string(SUBSTRING "${m}" ${wlen} -1 margs)
        string(STRIP "${margs}" margs)
        if(what MATCHES "/" OR what MATCHES "\\.elf$")
            set(path "${what}")
        else()
            set(path "tasks/${what}.elf")
            list(APPEND deps ${what})
        endif()
        pc__json_string(jpath "${path}")
        pc__json_string(jargs "${margs}")
        if(mods)
            string(APPEND mods ",\n")
        endif()
        string(APPEND mods "    {\"path\": ${jpath}, \"args\": ${jargs}}")
    endforeach()
    set(qargs "")
    foreach(q IN LISTS A_QEMU_ARGS)
        pc__json_string(jq "${q}")
        if(qargs)
            string(APPEND qargs ", ")
        endif()
        string(APPEND qargs "${jq}")
    endforeach()
    pc__json_string(jname "${name}")
    pc__json_string(jappend "${A_APPEND}")
    pc__json_string(jmachine "${A_MACHINE}")
    # QMP_SCRIPT: run with this script unless run.py is given another (./portcullis run, bench).
    set(jqmp "")
    if(A_QMP_SCRIPT)
        get_filename_component(qmp_abs "${A_QMP_SCRIPT}" ABSOLUTE)
        pc__json_string(jq "${qmp_abs}")
        set(jqmp "  \"qmp_script\": ${jq},\n")
    endif()
    file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/images/${name}.json CONTENT
"{\n  \"name\": ${jname},\n  \"kernel\": \"kernel/kernel.elf\",\n  \"append\": ${jappend},\n\
  \"machine\": ${jmachine},\n${jqmp}  \"qemu_args\": [${qargs}],\n  \"modules\": [\n${mods}\n  ]\n}\n")
    # The image target depends on whatever tasks/kernel exist once the whole tree is read.
    cmake_language(EVAL CODE "
        cmake_language(DEFER DIRECTORY \"${CMAKE_SOURCE_DIR}\" CALL pc__image_target \"${name}\" ${deps})")
endfunction()

function(pc__image_target name)
    add_custom_target(pc_image_${name})
    foreach(t IN ITEMS kernel kernel.elf ${ARGN})
        if(TARGET ${t})
            add_dependencies(pc_image_${name} ${t})
        endif()
    endforeach()
endfunction()

function(pc_add_qemu_test name)
    cmake_parse_arguments(A "ICOUNT;NO_SUMMARY" "IMAGE;TIMEOUT;QMP_SCRIPT;TRACE_CHECK"
                          "TRACE;LABELS" ${ARGN})
    if(NOT A_IMAGE)
        message(FATAL_ERROR "pc_add_qemu_test(${name}): IMAGE is required")
    endif()
    if(NOT A_TIMEOUT)
        set(A_TIMEOUT 60)
    endif()
    set(cmd ${Python3_EXECUTABLE} ${PC_QEMU_RUN} --build ${CMAKE_BINARY_DIR} --image ${A_IMAGE}
        --timeout ${A_TIMEOUT} --log ${CMAKE_CURRENT_BINARY_DIR}/${name}.console.log)
    if(NOT A_NO_SUMMARY)
        list(APPEND cmd --expect-summary)
    endif()
    if(A_ICOUNT)
        list(APPEND cmd --icount)
    endif()
    foreach(t IN LISTS A_TRACE)
        list(APPEND cmd --trace ${t})
    endforeach()
    if(A_TRACE)
        list(APPEND cmd --trace-log ${CMAKE_CURRENT_BINARY_DIR}/${name}.trace.log)
    endif()
    foreach(opt QMP_SCRIPT TRACE_CHECK)
        if(A_${opt})
            get_filename_component(f ${A_${opt}} ABSOLUTE)
            if(NOT EXISTS ${f})
                message(FATAL_ERROR "pc_add_qemu_test(${name}): ${opt} ${f} does not exist")
            endif()
            string(TOLOWER ${opt} o)
            string(REPLACE "_" "-" o ${o})
            list(APPEND cmd --${o} ${f})
        endif()
    endforeach()
    if(A_TRACE_CHECK AND NOT A_TRACE)
        message(FATAL_ERROR "pc_add_qemu_test(${name}): TRACE_CHECK needs TRACE patterns")
    endif()
    add_test(NAME ${name} COMMAND ${cmd})
    # ctest's own timeout is a backstop behind run.py's deadline (which kills QEMU itself).
    math(EXPR backstop "${A_TIMEOUT} + 30")
    set_tests_properties(${name} PROPERTIES LABELS "qemu;${A_LABELS}" TIMEOUT ${backstop})
endfunction()
