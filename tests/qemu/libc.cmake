# SPDX-License-Identifier: BSD-2-Clause
# The user runtime (newlib + glue) on the real kernel, booted as the root task; the second module
# is another task ELF that the test validates with the target build of libelf.
pc_add_image(libc_runtime MODULES "libc_runtime_test" "libc_runtime_check extra args"
             MACHINE iommu)
pc_add_qemu_test(qemu_libc_runtime IMAGE libc_runtime TIMEOUT 60 LABELS libc)
