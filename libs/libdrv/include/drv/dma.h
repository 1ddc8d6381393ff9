/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DMA buffers of a driver task. The driver retypes 4 KiB frames from its own untyped grant, maps
 * them into its own address space (in [TASK_SELF_MIN, TASK_SELF_MAX)) and - in the normal mode -
 * hands each frame capability to the IOMMU server to be mapped at an I/O virtual address the
 * driver chose. The device is only ever given those IOVAs; the frames stay pinned by the server
 * until unmap returns.
 *
 * DRV_DMA_BRINGUP_PHYS is the bring-up mode for a machine whose IOMMU is present but not yet
 * translating (no IOMMU server running): the device is given physical addresses. It exists to
 * develop a driver before the IOMMU server runs and is never used by the final tests; a driver
 * selects it only on an explicit `iommu=off` command line and says so on its first line.
 */
#ifndef DRV_DMA_H
#define DRV_DMA_H

#include <stdbool.h>
#include <stdint.h>

#include <drv/events.h>
#include <drv/iommu.h>
#include <task/start_info.h>

enum drv_dma_mode {
    DRV_DMA_IOMMU = 0,        /* device addresses are IOVAs mapped through the IOMMU server */
    DRV_DMA_BRINGUP_PHYS = 1, /* bring-up only: device addresses are physical addresses */
};

enum drv_dma_err {
    DRV_DMA_OK = 0,
    DRV_DMA_ERR_INVALID,    /* bad argument (0 pages, unknown rights, buffer not ours) */
    DRV_DMA_ERR_NO_SPACE,   /* page table of the pool, free slots or untyped exhausted */
    DRV_DMA_ERR_KERNEL,     /* retype or map refused by the kernel (see last_pc_err) */
    DRV_DMA_ERR_IOMMU,      /* the IOMMU server refused (see last_iommu_err) */
    DRV_DMA_ERR_NOT_CONTIG, /* bring-up mode: frames are not physically contiguous */
};

#define DRV_DMA_MAX_PAGES 64u
#define DRV_DMA_VA_BASE 0x0000100000000000ull   /* TASK_SELF_MIN: the task's own mappings */
#define DRV_DMA_IOVA_BASE 0x0000000010000000ull /* 256 MiB: where the driver's IOVAs start */

struct drv_dma_page {
    pc_cptr_t frame;
    uint64_t pa;
    uint64_t va;
    uint64_t iova;
    bool iommu_mapped;
};

struct drv_dma {
    enum drv_dma_mode mode;
    struct drv_iommu *iommu; /* DRV_DMA_IOMMU only */
    pc_cptr_t untyped;
    pc_cptr_t vspace;
    uint32_t next_slot, end_slot;
    uint64_t next_va;
    uint64_t next_iova;
    unsigned npages;
    struct drv_dma_page page[DRV_DMA_MAX_PAGES];
    pc_word_t last_pc_err;
    uint64_t last_iommu_err;
    uint64_t last_status; /* IOMMU_STATUS_* of the last unmap */
};

/* A run of pages, contiguous in the driver's address space and in device address space. */
struct drv_buf {
    void *va;
    uint64_t dev;   /* what the device is told: IOVA (or, bring-up only, physical) */
    uint64_t size;  /* bytes, npages * 4096 */
    unsigned first; /* index of its first page in the pool */
    unsigned npages;
    unsigned rights; /* IOMMU_READ | IOMMU_WRITE: what the device may do */
};

/*
 * Takes the "untyped" and "vspace" grants and the free slot range from the start information.
 * DRV_DMA_ERR_INVALID if one is missing.
 */
int drv_dma_init(struct drv_dma *d, const task_start_info_t *si, enum drv_dma_mode mode,
                 struct drv_iommu *iommu);
/*
 * A new zero-filled buffer of npages pages the device may access with `rights` (IOMMU_READ: the
 * device reads it, IOMMU_WRITE: the device writes it). In IOMMU mode every page is mapped at the
 * next IOVAs; on a refusal the pages mapped so far are unmapped again and the error returned.
 */
int drv_dma_alloc(struct drv_dma *d, unsigned npages, unsigned rights, struct drv_buf *out);
/*
 * Removes the buffer's translation (one unmap request for the whole range). The memory stays the
 * driver's. IOMMU status bits of the reply in d->last_status (IOMMU_STATUS_DEVICE_GONE: done
 * locally, the device is fenced). A no-op in bring-up mode.
 */
int drv_dma_unmap(struct drv_dma *d, struct drv_buf *b);
/* Maps the buffer's pages again at their (unchanged) IOVAs. */
int drv_dma_remap(struct drv_dma *d, struct drv_buf *b);
/* Pages of the pool still mapped at the IOMMU. */
unsigned drv_dma_mapped_pages(const struct drv_dma *d);
/*
 * Unmaps every page still mapped, one request per run of consecutive IOVAs. Returns the first
 * error; continues past errors so everything that can be released is. *gone_seen is set if any
 * reply said IOMMU_STATUS_DEVICE_GONE.
 */
int drv_dma_unmap_all(struct drv_dma *d, bool *gone_seen);

const char *drv_dma_errname(int err);

/*
 * The DMA side of a driver's start: the IOMMU client endpoint (grant "iommu"), the event
 * notification (that of the "msi" grant, if any) and the pool (physical addresses in bring-up).
 * Reports the `dma_pool_ready` check and returns its result.
 */
bool drv_dma_start(const task_start_info_t *si, bool bringup, struct drv_iommu *iommu,
                   struct drv_events *ev, struct drv_dma *dma);

#endif /* DRV_DMA_H */
