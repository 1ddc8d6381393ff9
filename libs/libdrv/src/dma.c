/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The DMA buffer pool (see drv/dma.h): frames retyped from the driver's untyped, mapped into its
 * own address space (paging structures retyped as the kernel reports them missing) and, in IOMMU
 * mode, mapped page by page through the IOMMU server at IOVAs the driver allocates upwards. IOVAs
 * are never reused within one pool, so a late DMA to a freed range can only fault, never hit
 * newer memory.
 */
#include <string.h>

#include <drv/dma.h>
#include <drv/drv.h>
#include <portcullis/portcullis.h>
#include <task/layout.h>

#define PAGE 4096ull

const char *drv_dma_errname(int err)
{
    switch (err) {
    case DRV_DMA_OK:
        return "ok";
    case DRV_DMA_ERR_INVALID:
        return "invalid argument";
    case DRV_DMA_ERR_NO_SPACE:
        return "pool, slots or untyped exhausted";
    case DRV_DMA_ERR_KERNEL:
        return "kernel refused retype/map";
    case DRV_DMA_ERR_IOMMU:
        return "IOMMU server refused";
    case DRV_DMA_ERR_NOT_CONTIG:
        return "frames not physically contiguous (bring-up mode)";
    default:
        return "?";
    }
}

int drv_dma_init(struct drv_dma *d, const task_start_info_t *si, enum drv_dma_mode mode,
                 struct drv_iommu *iommu)
{
    memset(d, 0, sizeof(*d));
    d->untyped = task_cap_slot(si, "untyped", TASK_CAP_UNTYPED);
    d->vspace = task_cap_slot(si, "vspace", TASK_CAP_OWN_VSPACE);
    if (d->untyped == 0 || d->vspace == 0 || (mode == DRV_DMA_IOMMU && iommu == NULL) ||
        si->first_free_slot >= si->end_free_slot) {
        return DRV_DMA_ERR_INVALID;
    }
    d->mode = mode;
    d->iommu = iommu;
    d->next_slot = si->first_free_slot;
    d->end_slot = si->end_free_slot;
    d->next_va = DRV_DMA_VA_BASE;
    d->next_iova = DRV_DMA_IOVA_BASE;
    return DRV_DMA_OK;
}

static int take_slot(struct drv_dma *d, pc_cptr_t *slot)
{
    if (d->next_slot >= d->end_slot) {
        return DRV_DMA_ERR_NO_SPACE;
    }
    *slot = d->next_slot++;
    return DRV_DMA_OK;
}

/* Maps `frame` read-write at va, creating the paging structures the kernel says are missing. */
static int map_frame(struct drv_dma *d, pc_cptr_t frame, uint64_t va)
{
    for (int level = 0; level < 4; level++) {
        pc_word_t a[3] = {va, PC_VM_READ | PC_VM_WRITE, 0};
        pc_word_t missing = 0;
        pc_word_t err = pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &d->vspace, &missing, 1);
        if (err == PC_OK) {
            return DRV_DMA_OK;
        }
        d->last_pc_err = err;
        if (err != PC_ERR_FAILED_LOOKUP ||
            (missing != PC_OBJ_PDPT && missing != PC_OBJ_PD && missing != PC_OBJ_PT)) {
            return DRV_DMA_ERR_KERNEL;
        }
        pc_cptr_t table;
        if (take_slot(d, &table) != DRV_DMA_OK) {
            return DRV_DMA_ERR_NO_SPACE;
        }
        err = pc_untyped_retype(d->untyped, (unsigned)missing, 0, PC_NULL_CPTR, table, 1);
        if (err == PC_OK) {
            err = pc_page_table_map(table, d->vspace, va);
        }
        if (err != PC_OK) {
            d->last_pc_err = err;
            return err == PC_ERR_NOT_ENOUGH_MEMORY ? DRV_DMA_ERR_NO_SPACE : DRV_DMA_ERR_KERNEL;
        }
    }
    return DRV_DMA_ERR_KERNEL;
}

/* One more frame in the pool, mapped into the driver; not yet visible to any device. */
static int new_page(struct drv_dma *d, struct drv_dma_page **out)
{
    if (d->npages >= DRV_DMA_MAX_PAGES || d->next_va + PAGE > TASK_SELF_MAX) {
        return DRV_DMA_ERR_NO_SPACE;
    }
    struct drv_dma_page *p = &d->page[d->npages];
    pc_cptr_t frame;
    int rc = take_slot(d, &frame);
    if (rc != DRV_DMA_OK) {
        return rc;
    }
    pc_word_t err = pc_untyped_retype(d->untyped, PC_OBJ_FRAME_4K, 0, PC_NULL_CPTR, frame, 1);
    if (err != PC_OK) {
        d->last_pc_err = err;
        return err == PC_ERR_NOT_ENOUGH_MEMORY ? DRV_DMA_ERR_NO_SPACE : DRV_DMA_ERR_KERNEL;
    }
    rc = map_frame(d, frame, d->next_va);
    if (rc != DRV_DMA_OK) {
        return rc;
    }
    uint64_t pa = 0;
    err = pc_frame_get_address(frame, &pa);
    if (err != PC_OK) {
        d->last_pc_err = err;
        return DRV_DMA_ERR_KERNEL;
    }
    p->frame = frame;
    p->pa = pa;
    p->va = d->next_va;
    p->iova = 0;
    p->iommu_mapped = false;
    d->next_va += 2 * PAGE; /* an unmapped page after each: an overrun faults in the driver */
    d->npages++;
    memset((void *)(uintptr_t)p->va, 0, PAGE);
    *out = p;
    return DRV_DMA_OK;
}

static int unmap_range(struct drv_dma *d, uint64_t iova, uint64_t size)
{
    uint64_t status = 0, unmapped = 0;
    uint64_t err = drv_iommu_unmap(d->iommu, iova, size, &status, &unmapped);
    d->last_status = status;
    if (err != IOMMU_OK) {
        d->last_iommu_err = err;
        return DRV_DMA_ERR_IOMMU;
    }
    return DRV_DMA_OK;
}

int drv_dma_alloc(struct drv_dma *d, unsigned npages, unsigned rights, struct drv_buf *out)
{
    if (npages == 0 || npages > DRV_DMA_MAX_PAGES - d->npages || rights == 0 ||
        (rights & ~(IOMMU_READ | IOMMU_WRITE)) != 0) {
        return DRV_DMA_ERR_INVALID;
    }
    unsigned first = d->npages;
    /* one virtual run: pages of a buffer are adjacent in the driver (no guard page inside) */
    uint64_t va0 = d->next_va;
    for (unsigned i = 0; i < npages; i++) {
        struct drv_dma_page *p;
        int rc = new_page(d, &p);
        if (rc != DRV_DMA_OK) {
            return rc;
        }
        if (i + 1 < npages) {
            d->next_va -= PAGE; /* keep the run contiguous; the guard follows the last page */
        }
        if (p->va != va0 + i * PAGE) {
            return DRV_DMA_ERR_INVALID;
        }
    }
    out->va = (void *)(uintptr_t)va0;
    out->size = (uint64_t)npages * PAGE;
    out->first = first;
    out->npages = npages;
    out->rights = rights;
    if (d->mode == DRV_DMA_BRINGUP_PHYS) {
        for (unsigned i = 1; i < npages; i++) {
            if (d->page[first + i].pa != d->page[first].pa + i * PAGE) {
                return DRV_DMA_ERR_NOT_CONTIG;
            }
        }
        out->dev = d->page[first].pa;
        return DRV_DMA_OK;
    }
    out->dev = d->next_iova;
    for (unsigned i = 0; i < npages; i++) {
        d->page[first + i].iova = d->next_iova + i * PAGE;
    }
    d->next_iova += out->size + PAGE; /* an unmapped IOVA page after each buffer */
    return drv_dma_remap(d, out);
}

int drv_dma_remap(struct drv_dma *d, struct drv_buf *b)
{
    if (b->first + b->npages > d->npages || b->npages == 0) {
        return DRV_DMA_ERR_INVALID;
    }
    if (d->mode == DRV_DMA_BRINGUP_PHYS) {
        return DRV_DMA_OK;
    }
    for (unsigned i = 0; i < b->npages; i++) {
        struct drv_dma_page *p = &d->page[b->first + i];
        if (p->iommu_mapped) {
            continue;
        }
        uint64_t err = drv_iommu_map_frame(d->iommu, p->iova, p->frame, PAGE, b->rights);
        if (err != IOMMU_OK) {
            d->last_iommu_err = err;
            /* all or nothing: take back what this call mapped */
            for (unsigned j = 0; j < i; j++) {
                struct drv_dma_page *q = &d->page[b->first + j];
                if (q->iommu_mapped && unmap_range(d, q->iova, PAGE) == DRV_DMA_OK) {
                    q->iommu_mapped = false;
                }
            }
            d->last_iommu_err = err;
            return DRV_DMA_ERR_IOMMU;
        }
        p->iommu_mapped = true;
    }
    return DRV_DMA_OK;
}

int drv_dma_unmap(struct drv_dma *d, struct drv_buf *b)
{
    if (b->first + b->npages > d->npages || b->npages == 0) {
        return DRV_DMA_ERR_INVALID;
    }
    d->last_status = 0;
    if (d->mode == DRV_DMA_BRINGUP_PHYS) {
        return DRV_DMA_OK;
    }
    bool any = false;
    for (unsigned i = 0; i < b->npages; i++) {
        any |= d->page[b->first + i].iommu_mapped;
    }
    if (!any) {
        return DRV_DMA_OK;
    }
    int rc = unmap_range(d, b->dev, b->size);
    if (rc == DRV_DMA_OK) {
        for (unsigned i = 0; i < b->npages; i++) {
            d->page[b->first + i].iommu_mapped = false;
        }
    }
    return rc;
}

unsigned drv_dma_mapped_pages(const struct drv_dma *d)
{
    unsigned n = 0;
    for (unsigned i = 0; i < d->npages; i++) {
        n += d->page[i].iommu_mapped;
    }
    return n;
}

int drv_dma_unmap_all(struct drv_dma *d, bool *gone_seen)
{
    int first_err = DRV_DMA_OK;
    *gone_seen = false;
    if (d->mode == DRV_DMA_BRINGUP_PHYS) {
        return DRV_DMA_OK;
    }
    unsigned i = 0;
    while (i < d->npages) {
        if (!d->page[i].iommu_mapped) {
            i++;
            continue;
        }
        unsigned j = i + 1;
        while (j < d->npages && d->page[j].iommu_mapped &&
               d->page[j].iova == d->page[j - 1].iova + PAGE) {
            j++;
        }
        int rc = unmap_range(d, d->page[i].iova, (uint64_t)(j - i) * PAGE);
        if (rc == DRV_DMA_OK) {
            *gone_seen |= (d->last_status & IOMMU_STATUS_DEVICE_GONE) != 0;
            for (unsigned k = i; k < j; k++) {
                d->page[k].iommu_mapped = false;
            }
        } else if (first_err == DRV_DMA_OK) {
            first_err = rc;
        }
        i = j;
    }
    return first_err;
}

bool drv_dma_start(const task_start_info_t *si, bool bringup, struct drv_iommu *iommu,
                   struct drv_events *ev, struct drv_dma *dma)
{
    iommu->ep = task_cap_slot(si, "iommu", TASK_CAP_ENDPOINT);
    const task_cap_t *irq = task_cap_find(si, "msi");
    drv_events_init(ev, si, irq != NULL ? irq->aux_slot : 0);
    int e = drv_dma_init(dma, si, bringup ? DRV_DMA_BRINGUP_PHYS : DRV_DMA_IOMMU, iommu);
    return drv_check("dma_pool_ready", e == DRV_DMA_OK && (bringup || iommu->ep != 0),
                     "(%s, iommu endpoint %s)", drv_dma_errname(e),
                     iommu->ep ? "granted" : "missing");
}
