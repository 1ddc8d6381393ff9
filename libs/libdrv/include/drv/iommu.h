/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The client side of the IOMMU server's protocol (<iommu/protocol.h>) for a driver task: the
 * generated encoders and reply decoders carried over the kernel's IPC (label, message registers,
 * IPC buffer words, at most one transferred frame capability). Every call is a synchronous IPC
 * call; the server bounds its own work, so a call returns.
 *
 * Results are `enum iommu_err` values; when the IPC itself fails (no server behind the endpoint,
 * a cap without rights) the result is pc_call_ipc_failed(the kernel's pc_error) (see
 * <portcullis/msg.h>: pc_call_is_ipc_failure tells "the server was not reached" from "the server
 * said no").
 */
#ifndef DRV_IOMMU_H
#define DRV_IOMMU_H

#include <stdbool.h>
#include <stdint.h>

#include <iommu/protocol.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

struct drv_iommu {
    pc_cptr_t ep;   /* the badged client endpoint ("iommu") */
    uint64_t calls; /* IPC calls made, for the benchmark lines */
};

/* Name of an iommu_err or of an IPC-failure result (pc_call_ipc_failed). */
const char *drv_iommu_errname(uint64_t err);

uint64_t drv_iommu_attach(struct drv_iommu *c, uint16_t sid, uint64_t *handle, uint64_t *flags);
uint64_t drv_iommu_detach(struct drv_iommu *c, uint64_t handle, uint64_t *status);
/* Maps the 4 KiB or 2 MiB frame `frame` (transferred with the message; the caller keeps its own
 * capability) at iova with IOMMU_READ/IOMMU_WRITE rights. */
uint64_t drv_iommu_map_frame(struct drv_iommu *c, uint64_t iova, pc_cptr_t frame, uint64_t size,
                             unsigned rights);
uint64_t drv_iommu_unmap(struct drv_iommu *c, uint64_t iova, uint64_t size, uint64_t *status,
                         uint64_t *unmapped);
uint64_t drv_iommu_ats_flush(struct drv_iommu *c, uint64_t handle, uint64_t iova, uint64_t size,
                             uint64_t *status);
/* Reads up to max (<= IOMMU_FAULTS_PER_REPLY) decoded fault records of the client's devices. */
uint64_t drv_iommu_fault_read(struct drv_iommu *c, struct iommu_fault_rec *recs, unsigned max,
                              unsigned *count, uint64_t *dropped);

/*
 * A remapped interrupt for the attached device `handle` on vector grant `grant` (the "msi"
 * start-info entry's arg0 when its arg1 is 0): *msi_addr / *msi_data go into the device's MSI or
 * MSI-X capability; *irq names the entry for drv_iommu_irq_free. The entry dies with the device's
 * generation: after a re-plug, attach again and ask again.
 */
uint64_t drv_iommu_irq_alloc(struct drv_iommu *c, uint64_t handle, uint64_t grant, uint64_t *irq,
                             uint64_t *msi_addr, uint32_t *msi_data);
uint64_t drv_iommu_irq_free(struct drv_iommu *c, uint64_t irq);
/*
 * The MSI address/data of the "msi" start-info entry: the direct pair the root task gave
 * (arg1 != 0: no IOMMU server), or a remapped one from irq_alloc on its vector grant (arg0) for
 * the attached device `handle` (`attached` false: IOMMU_ERR_NOT_ATTACHED). *remapped says which;
 * *irq is the interrupt handle (0 for a direct pair).
 */
uint64_t drv_iommu_msi_pair(struct drv_iommu *c, const task_cap_t *msi, bool attached,
                            uint64_t handle, uint64_t *irq, uint64_t *addr, uint32_t *data,
                            bool *remapped);

#endif /* DRV_IOMMU_H */
