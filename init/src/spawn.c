/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Building a task from a boot module, as its role's policy says: validate the ELF (libelf) before
 * anything is created, then retype and map its segments (with a guard page at the bottom of the
 * runtime's stack), give it its own CNode, VSpace, TCB and IPC buffer, carry out every grant of
 * its role into its CNode, write its start information, make the root task its fault handler and
 * start it. Every object of a task comes from its own arena (one untyped retyped for it), so a
 * module that fails any step is torn down - the objects already made for it revoked, its memory
 * and slots returned - and reported skipped with the reason; an arena that proves too small is
 * returned and the task built again in one twice the size (a few times at most).
 */
#include <stdio.h>
#include <string.h>

#include <elf/loader.h>
#include <init/init.h>
#include <init/iommu_link.h>
#include <pci/pci.h>
#include <task/layout.h>

pc_cptr_t g_init_ep;
uint64_t g_tsc_hz;
uint64_t g_arena_shrink; /* init.arena_shrink=N: first arenas 2^N times too small (tests) */

static task_start_info_t g_si; /* the start info being built */

#define PAGE 4096ull
#define LARGE (1ull << PC_LARGE_PAGE_BITS)

typedef struct spawn_ctx {
    init_task_t *t;
    pc_cptr_t cnode; /* the task's CNode (root-CNode slot) */
    pc_cptr_t vspace;
    pc_cptr_t tcb;
    uint32_t next_slot; /* next free slot in the task's CNode */
    uint32_t cnode_slots;
    uint64_t device_vaddr;
    const init_pci_dev_t *pci;
    uint64_t guard;      /* vaddr of the stack guard page, 0 if none */
    unsigned extra_bits; /* arena size over the estimate (after an arena proved too small) */
} spawn_ctx_t;

static const char *fail(spawn_ctx_t *c, const char *what, pc_word_t err)
{
    static char buf[96];
    snprintf(buf, sizeof(buf), "%s (error %llu)", what, (unsigned long long)err);
    (void)c;
    return buf;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* ---- segments ---- */

static unsigned vm_rights(uint32_t elf_rights)
{
    unsigned r = 0;
    if (elf_rights & ELF_RIGHT_R) {
        r |= PC_VM_READ;
    }
    if (elf_rights & ELF_RIGHT_W) {
        r |= PC_VM_WRITE | PC_VM_READ;
    }
    if (elf_rights & ELF_RIGHT_X) {
        r |= PC_VM_EXEC | PC_VM_READ;
    }
    return r;
}

/* Copies the file bytes of `seg` that fall into [page, page + size) into the frame. */
static pc_word_t fill_page(pc_cptr_t frame, const elf_segment_t *seg, uint64_t page)
{
    uint64_t file_end = seg->vaddr + seg->filesz;
    uint64_t lo = page > seg->vaddr ? page : seg->vaddr;
    uint64_t hi = (page + PAGE) < file_end ? (page + PAGE) : file_end;
    if (lo >= hi) {
        return PC_OK; /* zero-filled by the retype */
    }
    uint8_t *dst = scratch_map(frame);
    if (dst == NULL) {
        return PC_ERR_FAILED_LOOKUP;
    }
    memcpy(dst + (lo - page), seg->file + (lo - seg->vaddr), hi - lo);
    scratch_unmap(frame);
    return PC_OK;
}

static const char *load_segment(spawn_ctx_t *c, const elf_segment_t *seg)
{
    init_acct_t *acct = &c->t->acct;
    unsigned rights = vm_rights(seg->rights);
    uint64_t start = seg->vaddr & ~(PAGE - 1);
    uint64_t end = align_up(seg->vaddr + seg->memsz, PAGE);
    uint64_t file_end_page = align_up(seg->vaddr + seg->filesz, PAGE);
    for (uint64_t page = start; page < end;) {
        /* A whole 2 MiB of zero-filled memory (the heap arena) takes one large frame. */
        if ((page & (LARGE - 1)) == 0 && page + LARGE <= end && page >= file_end_page &&
            !(c->guard >= page && c->guard < page + LARGE)) {
            pc_cptr_t f;
            if (obj_new(PC_OBJ_FRAME_2M, 0, 1, acct, &f) == PC_OK) {
                if (vs_map(f, c->vspace, page, rights, 0, &c->t->keep, acct) == PC_OK &&
                    keep_move(&c->t->keep, f, acct) == PC_OK) {
                    acct->frames++;
                    page += LARGE;
                    continue;
                }
                (void)pc_frame_unmap(f);
                obj_delete(f); /* fall back to 4 KiB frames for this range */
            }
        }
        if (page == c->guard) {
            page += PAGE; /* left unmapped: a stack overflow faults here */
            continue;
        }
        pc_cptr_t f;
        pc_word_t err = obj_new(PC_OBJ_FRAME_4K, 0, 1, acct, &f);
        if (err != PC_OK) {
            return fail(c, "no memory for a segment frame", err);
        }
        err = fill_page(f, seg, page);
        if (err == PC_OK) {
            err = vs_map(f, c->vspace, page, rights, 0, &c->t->keep, acct);
        }
        if (err == PC_OK) {
            err = keep_move(&c->t->keep, f, acct);
        }
        if (err != PC_OK) {
            return fail(c, "mapping a segment frame failed", err);
        }
        acct->frames++;
        page += PAGE;
    }
    return NULL;
}

/* ---- grants ---- */

static pc_word_t take_task_slot(spawn_ctx_t *c, uint32_t *slot)
{
    if (c->next_slot >= c->cnode_slots) {
        return PC_ERR_RANGE;
    }
    *slot = c->next_slot++;
    c->t->acct.task_slots++;
    return PC_OK;
}

/* Copy (or mint, if badge != 0) root-CNode `src` into the task's next slot. */
static pc_word_t give_copy(spawn_ctx_t *c, pc_cptr_t src, unsigned rights, uint64_t badge,
                           uint32_t *slot)
{
    pc_word_t err = take_task_slot(c, slot);
    if (err != PC_OK) {
        return err;
    }
    return badge ? pc_cnode_mint(c->cnode, *slot, PC_SLOT_CNODE, src, rights, badge)
                 : pc_cnode_copy(c->cnode, *slot, PC_SLOT_CNODE, src, rights);
}

/* Move root-CNode `src` into the task's next slot (the task gets the only cap). */
static pc_word_t give_move(spawn_ctx_t *c, pc_cptr_t src, uint32_t *slot)
{
    pc_word_t err = take_task_slot(c, slot);
    if (err == PC_OK) {
        err = pc_cnode_move(c->cnode, *slot, PC_SLOT_CNODE, src);
    }
    if (err == PC_OK) {
        slot_map_free(&g_slots, (uint32_t)src, 1);
    }
    return err;
}

/* Device frames [paddr, paddr + size) mapped uncached into the task's device window. */
static pc_word_t give_device(spawn_ctx_t *c, uint64_t paddr, uint64_t size, task_cap_t *e)
{
    init_acct_t *acct = &c->t->acct;
    uint64_t pages = align_up(size, PAGE) / PAGE;
    if (pages == 0 || pages > 4096 ||
        c->device_vaddr + pages * PAGE > TASK_DEVICE_VADDR + TASK_DEVICE_SPAN) {
        return PC_ERR_RANGE;
    }
    uint64_t vaddr = c->device_vaddr;
    pc_cptr_t first;
    for (uint64_t done = 0; done < pages;) {
        uint32_t n = (pages - done) > 256 ? 256 : (uint32_t)(pages - done);
        pc_word_t err = obj_device_frames(paddr + done * PAGE, n, acct, &first);
        if (err != PC_OK) {
            return err;
        }
        for (uint32_t i = 0; i < n; i++) {
            err = vs_map(first + i, c->vspace, vaddr + (done + i) * PAGE, PC_VM_READ | PC_VM_WRITE,
                         PC_VM_ATTR_UNCACHED, &c->t->keep, acct);
            if (err == PC_OK) {
                err = keep_move(&c->t->keep, first + i, acct);
            }
            if (err != PC_OK) {
                return err;
            }
            acct->device_pages++;
        }
        done += n;
    }
    c->device_vaddr += pages * PAGE + PAGE; /* an unmapped page between regions */
    e->paddr = paddr;
    e->vaddr = vaddr;
    e->size = pages * PAGE;
    return PC_OK;
}

/* The configuration page of function `sid`, mapped uncached; arg0 = sid. */
static pc_word_t give_config_page(spawn_ctx_t *c, uint16_t sid, task_cap_t *e)
{
    uint64_t pa = 0;
    pc_word_t err = platform_config_page(sid, &pa) ? give_device(c, pa, PAGE, e) : PC_ERR_RANGE;
    e->arg0 = sid;
    return err;
}

/* Fresh RAM frames holding a copy of `len` bytes, mapped read-only into the task's device window.
 */
static pc_word_t give_copy_ro(spawn_ctx_t *c, const uint8_t *src, uint64_t len, task_cap_t *e)
{
    init_acct_t *acct = &c->t->acct;
    uint64_t pages = align_up(len, PAGE) / PAGE;
    if (pages == 0 || pages > 64) {
        return PC_ERR_RANGE;
    }
    uint64_t vaddr = c->device_vaddr;
    for (uint64_t i = 0; i < pages; i++) {
        pc_cptr_t f;
        pc_word_t err = obj_new(PC_OBJ_FRAME_4K, 0, 1, acct, &f);
        if (err != PC_OK) {
            return err;
        }
        uint8_t *p = scratch_map(f);
        if (p == NULL) {
            return PC_ERR_FAILED_LOOKUP;
        }
        uint64_t n = len - i * PAGE < PAGE ? len - i * PAGE : PAGE;
        memcpy(p, src + i * PAGE, n);
        scratch_unmap(f);
        err = vs_map(f, c->vspace, vaddr + i * PAGE, PC_VM_READ, 0, &c->t->keep, acct);
        if (err == PC_OK) {
            err = keep_move(&c->t->keep, f, acct);
        }
        if (err != PC_OK) {
            return err;
        }
        acct->frames++;
    }
    c->device_vaddr += (pages + 1) * PAGE;
    e->vaddr = vaddr;
    e->size = len;
    return PC_OK;
}

/*
 * A DMA pool: 2^bits bytes of RAM frames of one retype (consecutive physical pages; checked),
 * kept by the root task and mapped read-write into the task's device window. The IOMMU link
 * grants it to the task's client badge once the server runs; the task never holds the frames,
 * so it cannot free memory the server has mapped for its devices.
 */
static pc_word_t give_dma_pool(spawn_ctx_t *c, unsigned bits, unsigned rights, task_cap_t *e)
{
    init_acct_t *acct = &c->t->acct;
    /* 2 MiB and more: 2 MiB frames (naturally aligned, so a driver can map superpages) */
    bool large = bits >= 21;
    uint64_t fsize = large ? LARGE : PAGE;
    uint32_t pages = (uint32_t)((1ull << bits) / fsize);
    uint64_t vaddr = (c->device_vaddr + fsize - 1) & ~(fsize - 1);
    if (pages == 0 || vaddr + (uint64_t)pages * fsize > TASK_DEVICE_VADDR + TASK_DEVICE_SPAN) {
        return PC_ERR_RANGE;
    }
    pc_cptr_t first;
    pc_word_t err = obj_new(large ? PC_OBJ_FRAME_2M : PC_OBJ_FRAME_4K, 0, pages, acct, &first);
    if (err != PC_OK) {
        return err;
    }
    uint64_t pa = 0, pa_last = 0;
    err = pc_frame_get_address(first, &pa);
    if (err == PC_OK) {
        err = pc_frame_get_address(first + pages - 1, &pa_last);
    }
    if (err == PC_OK && pa_last != pa + (uint64_t)(pages - 1) * fsize) {
        err = PC_ERR_RANGE; /* not one contiguous run: refuse rather than describe it wrongly */
    }
    for (uint32_t i = 0; i < pages; i++) {
        if (err == PC_OK) {
            err = vs_map(first + i, c->vspace, vaddr + (uint64_t)i * fsize,
                         PC_VM_READ | PC_VM_WRITE, 0, &c->t->keep, acct);
        }
        if (err == PC_OK) {
            err = keep_move(&c->t->keep, first + i, acct);
        }
        if (err == PC_OK) {
            acct->frames++;
        } else {
            obj_delete(first + i);
        }
    }
    if (err != PC_OK) {
        return err;
    }
    c->device_vaddr = vaddr + (uint64_t)pages * fsize + PAGE;
    unsigned index = 0;
    if (!iommu_link_pool(c->t->id, pa, (uint64_t)pages * fsize, rights, &index)) {
        return PC_ERR_RANGE; /* no IOMMU client grant before this one, or too many pools */
    }
    e->paddr = pa;
    e->vaddr = vaddr;
    e->size = (uint64_t)pages * fsize;
    e->rights = rights;
    e->arg0 = index;
    return PC_OK;
}

/* An IRQHandler (already in root slot `handler`) wired to a fresh notification; the task gets
 * the handler and a READ copy of the notification. */
static pc_word_t give_irq(spawn_ctx_t *c, pc_cptr_t handler, uint64_t badge, task_cap_t *e)
{
    init_acct_t *acct = &c->t->acct;
    pc_cptr_t ntfn, minted;
    pc_word_t err = obj_new(PC_OBJ_NOTIFICATION, 0, 1, acct, &ntfn);
    if (err != PC_OK) {
        return err;
    }
    minted = slot_map_alloc(&g_slots, 1);
    if (minted == 0) {
        return PC_ERR_RANGE;
    }
    err = pc_cnode_mint(PC_SLOT_CNODE, minted, PC_SLOT_CNODE, ntfn, PC_RIGHT_WRITE,
                        badge ? badge : 1);
    if (err == PC_OK) {
        err = pc_irq_handler_set_notification(handler, minted);
    }
    uint32_t hslot = 0, nslot = 0;
    if (err == PC_OK) {
        err = give_move(c, handler, &hslot);
    }
    if (err == PC_OK) {
        err = give_copy(c, ntfn, PC_RIGHT_READ, 0, &nslot);
    }
    if (err == PC_OK) {
        err = keep_move(&c->t->keep, minted, acct);
    }
    if (err == PC_OK && c->t->policy->pci_vendor != 0 && c->t->hp_ntfn == 0) {
        /* A driver's interrupt notification is also where the hotplug server tells it that an
         * event about its device waits (bit INIT_HP_NOTIFY_BIT; hotplug.c hands this copy over
         * when it assigns the device). */
        pc_cptr_t hp = slot_map_alloc(&g_slots, 1);
        if (hp != 0 && pc_cnode_mint(PC_SLOT_CNODE, hp, PC_SLOT_CNODE, ntfn, PC_RIGHT_WRITE,
                                     INIT_HP_NOTIFY_BIT) == PC_OK) {
            c->t->hp_ntfn = hp;
        } else if (hp != 0) {
            slot_map_free(&g_slots, (uint32_t)hp, 1);
        }
    }
    if (err == PC_OK) {
        err = keep_move(&c->t->keep, ntfn, acct);
    }
    if (err != PC_OK) {
        return err;
    }
    e->type = PC_CAP_IRQ_HANDLER;
    e->slot = hslot;
    e->aux_slot = nslot;
    e->badge = badge ? badge : 1;
    return PC_OK;
}

/*
 * A client of the IOMMU server: a notification for its DMA faults (the task gets a READ copy,
 * "iommu_fault") and a note for iommu_link_send, which tells the server which device this badge
 * may attach (the role's PCI function) once every module is started.
 */
static pc_word_t iommu_client_grant(spawn_ctx_t *c, uint64_t badge)
{
    task_cap_t *e = task_start_add_cap(&g_si, "iommu_fault", TASK_CAP_NOTIFICATION);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    pc_cptr_t ntfn;
    uint32_t slot = 0;
    pc_word_t err = obj_new(PC_OBJ_NOTIFICATION, 0, 1, &c->t->acct, &ntfn);
    if (err != PC_OK) {
        return err;
    }
    err = give_copy(c, ntfn, PC_RIGHT_READ, 0, &slot);
    if (err == PC_OK &&
        !iommu_link_note(c->t->id, badge, c->pci != NULL ? (int)c->pci->sid : -1, ntfn)) {
        err = PC_ERR_RANGE;
    }
    if (err != PC_OK) {
        obj_delete(ntfn);
        return err;
    }
    e->type = PC_OBJ_NOTIFICATION;
    e->slot = slot;
    e->rights = PC_RIGHT_READ;
    return PC_OK;
}

/*
 * Carrying out one grant: a handler per kind (the table below is generated from
 * INIT_GRANT_KINDS, so every kind has exactly one). A handler adds its start-information
 * entries with grant_entry / grant_entry_at and returns a pc_error; a refusal that is not a
 * kernel error it states with grant_refuse. do_grant formats the failure and counts the grant.
 */
typedef struct grant_run {
    spawn_ctx_t *c;
    const init_grant_t *g;
    uint64_t badge;  /* g->badge, | the task id with GRANT_BADGE_TASK_ID */
    const char *why; /* the refusal, if a handler stated one */
    unsigned caps;   /* capabilities it counts as (caps_granted): 1 unless the handler says */
} grant_run_t;

typedef pc_word_t (*grant_handler_t)(grant_run_t *r);

/* Records refusal `what` (with the kernel's error when err != PC_OK); returns err, or
 * PC_ERR_RANGE when there is none, so the handler fails either way. */
static pc_word_t grant_refuse(grant_run_t *r, const char *what, pc_word_t err)
{
    r->why = err != PC_OK ? fail(r->c, what, err) : what;
    return err != PC_OK ? err : PC_ERR_RANGE;
}

/* A start-information entry `name` of `kind`; NULL (the refusal recorded) when full. */
static task_cap_t *grant_entry(grant_run_t *r, const char *name, uint32_t kind)
{
    task_cap_t *e = task_start_add_cap(&g_si, name, kind);
    if (e == NULL) {
        (void)grant_refuse(r, "start info full", PC_OK);
    }
    return e;
}

/* An entry and a free root-CNode slot for the capability the root task obtains for it (an IRQ
 * handler, an I/O port range); NULL (the refusal recorded) when either is full. */
static task_cap_t *grant_entry_slot(grant_run_t *r, const char *name, uint32_t kind,
                                    pc_cptr_t *slot)
{
    task_cap_t *e = task_start_add_cap(&g_si, name, kind);
    *slot = slot_map_alloc(&g_slots, 1);
    if (e == NULL || *slot == 0) {
        (void)grant_refuse(r, "start info or root CNode full", PC_OK);
        return NULL;
    }
    return e;
}

/* The entry "<grant name><k><tail>" (indexed grants: dmar0, slot1_dev, ...). */
static task_cap_t *grant_entry_at(grant_run_t *r, unsigned k, const char *tail, uint32_t kind)
{
    char nm[TASK_CAP_NAME_MAX];
    snprintf(nm, sizeof(nm), "%s%u%s", r->g->name, k, tail);
    return grant_entry(r, nm, kind);
}

/* GRANT_ENDPOINT, GRANT_NOTIFICATION: a shared object (or a fresh one), copied or minted. */
static pc_word_t grant_object(grant_run_t *r)
{
    spawn_ctx_t *c = r->c;
    const init_grant_t *g = r->g;
    bool ep = g->kind == GRANT_ENDPOINT;
    unsigned type = ep ? PC_OBJ_ENDPOINT : PC_OBJ_NOTIFICATION;
    task_cap_t *e = grant_entry(r, g->name, ep ? TASK_CAP_ENDPOINT : TASK_CAP_NOTIFICATION);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    pc_cptr_t obj;
    uint32_t slot = 0;
    bool fresh = g->object == NULL;
    pc_word_t err = fresh ? obj_new(type, 0, 1, &c->t->acct, &obj)
                          : obj_shared(g->object, type, &c->t->acct, &obj);
    if (err == PC_OK) {
        err = give_copy(c, obj, g->rights, r->badge, &slot);
    }
    if (err == PC_OK && fresh) {
        err = keep_move(&c->t->keep, obj, &c->t->acct);
    }
    e->type = type;
    e->slot = slot;
    e->rights = g->rights;
    e->badge = r->badge;
    if (err == PC_OK && (g->flags & GRANT_IOMMU_CLIENT)) {
        err = iommu_client_grant(c, r->badge);
    }
    return err;
}

/* GRANT_INIT_ENDPOINT: the root task's endpoint, badge = task id. */
static pc_word_t grant_init_endpoint(grant_run_t *r)
{
    task_cap_t *e = grant_entry(r, r->g->name, TASK_CAP_ENDPOINT);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    uint32_t slot = 0;
    pc_word_t err = give_copy(r->c, g_init_ep, r->g->rights, r->c->t->id, &slot);
    e->type = PC_OBJ_ENDPOINT;
    e->slot = slot;
    e->rights = r->g->rights;
    e->badge = r->c->t->id;
    return err;
}

/* GRANT_IRQ_ISA: ISA interrupt a (the root task keeps a copy of the handler for remapping). */
static pc_word_t grant_irq_isa(grant_run_t *r)
{
    const init_grant_t *g = r->g;
    pc_cptr_t h;
    task_cap_t *e = grant_entry_slot(r, g->name, TASK_CAP_IRQ, &h);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    pc_word_t vector = 0;
    pc_word_t err = pc_irq_control_get(PC_SLOT_IRQ_CONTROL, (unsigned)g->a, PC_IRQ_ISA, h, &vector);
    if (err != PC_OK) {
        slot_map_free(&g_slots, (uint32_t)h, 1);
        return grant_refuse(r, "IRQControl_Get refused", err);
    }
    /* With an IOMMU server the line is moved to a remapping entry the server writes for the I/O
     * APIC's source-id once it runs (iommu_link_send), before the task does: the root task keeps
     * a copy of the handler for that. */
    if (iommu_link_server_expected() && g_platform.ioapic_sid >= 0) {
        pc_cptr_t keep = slot_map_alloc(&g_slots, 1);
        if (keep == 0 ||
            pc_cnode_copy(PC_SLOT_CNODE, keep, PC_SLOT_CNODE, h, PC_RIGHTS_ALL) != PC_OK ||
            !iommu_link_ioapic_line(keep, (unsigned)vector, (unsigned)g->a)) {
            if (keep != 0) {
                obj_delete(keep);
            }
            slot_map_free(&g_slots, (uint32_t)h, 1);
            return grant_refuse(r, "IRQ handler not kept for remapping", PC_OK);
        }
    }
    err = give_irq(r->c, h, g->b, e);
    e->arg0 = vector;
    e->arg1 = g->a;
    return err;
}

/* One MSI vector for the task under `name`. */
static pc_word_t grant_msi(grant_run_t *r, const char *name)
{
    spawn_ctx_t *c = r->c;
    const init_grant_t *g = r->g;
    pc_cptr_t h;
    task_cap_t *e = grant_entry_slot(r, name, TASK_CAP_MSI, &h);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    pc_word_t res[3] = {0, 0, 0};
    pc_word_t err = pc_irq_control_get_msi(PC_SLOT_IRQ_CONTROL, h, res);
    if (err != PC_OK) {
        slot_map_free(&g_slots, (uint32_t)h, 1);
        return grant_refuse(r, "IRQControl_GetMSI refused", err);
    }
    err = give_irq(c, h, g->b, e);
    /*
     * With an IOMMU server the device's interrupt is remapped: the server gets the vector as a
     * grant for the task's device, the task only the grant's index (arg1 = arg2 = 0: it asks the
     * server, irq_alloc, for the MSI address/data of an entry it writes). The IOMMU server's own
     * event MSIs are not requests through the remapping hardware (VT-d 5.1.6): they, and tasks
     * on machines without the server, keep the direct pair.
     */
    unsigned grant = 0;
    if (err == PC_OK && iommu_link_server_expected() && c->pci != NULL &&
        !(g->flags & GRANT_MSI_DIRECT) && iommu_link_vector(c->t->id, (unsigned)res[0], &grant)) {
        e->arg0 = grant;
        e->arg1 = 0;
        e->arg2 = 0;
        return PC_OK;
    }
    e->arg0 = res[0];
    e->arg1 = res[1];
    e->arg2 = res[2];
    return err != PC_OK ? grant_refuse(r, "MSI not given", err) : PC_OK;
}

/* GRANT_IRQ_MSI: one vector, or one per DMAR unit ("name", "name1", ...); each counts. */
static pc_word_t grant_irq_msi(grant_run_t *r)
{
    unsigned n = (r->g->flags & GRANT_MSI_PER_DMAR_UNIT) ? g_platform.dmar_units : 1u;
    for (unsigned u = 0; u < n; u++) {
        char nm[TASK_CAP_NAME_MAX];
        if (!task_cap_name_nth(nm, sizeof(nm), r->g->name, u)) {
            return PC_ERR_RANGE;
        }
        pc_word_t err = grant_msi(r, nm);
        if (err != PC_OK) {
            return err;
        }
    }
    r->caps = n;
    return PC_OK;
}

/* GRANT_IOPORT: ports a..b. */
static pc_word_t grant_ioport(grant_run_t *r)
{
    const init_grant_t *g = r->g;
    pc_cptr_t p;
    task_cap_t *e = grant_entry_slot(r, g->name, TASK_CAP_IOPORT, &p);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    uint32_t slot = 0;
    pc_word_t err = pc_ioport_issue(PC_SLOT_IOPORT, (uint16_t)g->a, (uint16_t)g->b, p);
    if (err == PC_OK) {
        err = give_move(r->c, p, &slot);
    } else {
        slot_map_free(&g_slots, (uint32_t)p, 1);
    }
    e->type = PC_CAP_IOPORT;
    e->slot = slot;
    e->arg0 = g->a;
    e->arg1 = g->b;
    return err;
}

/* The entry for a grant of the role's PCI function; NULL (refused) without one. */
static task_cap_t *pci_entry(grant_run_t *r)
{
    task_cap_t *e = task_start_add_cap(&g_si, r->g->name, TASK_CAP_DEVICE_REGION);
    if (e == NULL || r->c->pci == NULL) {
        (void)grant_refuse(r, "start info full or no PCI function", PC_OK);
        return NULL;
    }
    return e;
}

/* GRANT_PCI_CONFIG: the function's ECAM page. */
static pc_word_t grant_pci_config(grant_run_t *r)
{
    task_cap_t *e = pci_entry(r);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    return give_config_page(r->c, r->c->pci->sid, e);
}

/* GRANT_PCI_BAR: memory BAR a of the function (at most b bytes, 0: all of it). */
static pc_word_t grant_pci_bar(grant_run_t *r)
{
    const init_grant_t *g = r->g;
    task_cap_t *e = pci_entry(r);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    uint64_t base = 0, size = 0;
    int perr = pci_port_bar(r->c->pci->sid, (unsigned)g->a, &base, &size);
    if (perr != PCI_OK) {
        static char buf[64];
        snprintf(buf, sizeof(buf), "BAR %llu unusable: %s", (unsigned long long)g->a,
                 pci_err_str(perr));
        return grant_refuse(r, buf, PC_OK);
    }
    if (g->b != 0 && size > g->b) {
        size = g->b;
    }
    pc_word_t err = give_device(r->c, base, size, e);
    e->arg0 = r->c->pci->sid;
    e->arg1 = g->a;
    return err;
}

/* GRANT_DMA_POOL: 2^a bytes of root-owned RAM, mapped, granted to the task's IOMMU client. */
static pc_word_t grant_dma_pool(grant_run_t *r)
{
    task_cap_t *e = grant_entry(r, r->g->name, TASK_CAP_DMA_POOL);
    return e == NULL ? PC_ERR_RANGE : give_dma_pool(r->c, (unsigned)r->g->a, (unsigned)r->g->b, e);
}

/* GRANT_UNTYPED: 2^a bytes of RAM (recorded as the task's RAM grant, for revoke_frames). */
static pc_word_t grant_untyped(grant_run_t *r)
{
    spawn_ctx_t *c = r->c;
    task_cap_t *e = grant_entry(r, r->g->name, TASK_CAP_UNTYPED);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    pc_cptr_t u;
    uint32_t slot = 0;
    pc_word_t err = obj_new(PC_OBJ_UNTYPED, (unsigned)r->g->a, 1, &c->t->acct, &u);
    if (err == PC_OK) {
        c->t->ram_pa = obj_last_paddr();
        c->t->ram_size = 1ull << r->g->a;
        err = give_move(c, u, &slot);
    }
    e->type = PC_OBJ_UNTYPED;
    e->slot = slot;
    e->size = 1ull << r->g->a;
    return err;
}

/* GRANT_OWN_TCB, GRANT_OWN_CNODE, GRANT_OWN_VSPACE: a copy of one of the task's own objects. */
static pc_word_t grant_own_object(grant_run_t *r)
{
    spawn_ctx_t *c = r->c;
    const init_grant_t *g = r->g;
    bool tcb = g->kind == GRANT_OWN_TCB, cnode = g->kind == GRANT_OWN_CNODE;
    task_cap_t *e = grant_entry(r, g->name,
                                tcb     ? TASK_CAP_OWN_TCB
                                : cnode ? TASK_CAP_OWN_CNODE
                                        : TASK_CAP_OWN_VSPACE);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    uint32_t slot = 0;
    pc_word_t err = give_copy(c, tcb ? c->tcb : cnode ? c->cnode : c->vspace, g->rights, 0, &slot);
    e->type = tcb ? PC_OBJ_TCB : cnode ? PC_OBJ_CNODE : PC_OBJ_VSPACE;
    e->slot = slot;
    e->rights = g->rights;
    if (cnode) {
        e->arg0 = c->t->policy->cnode_bits;
    }
    return err;
}

/* GRANT_SPARE_TCB: a second, unconfigured thread object. */
static pc_word_t grant_spare_tcb(grant_run_t *r)
{
    task_cap_t *e = grant_entry(r, r->g->name, TASK_CAP_TCB);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    pc_cptr_t tcb;
    uint32_t slot = 0;
    pc_word_t err = obj_new(PC_OBJ_TCB, 0, 1, &r->c->t->acct, &tcb);
    if (err == PC_OK) {
        err = give_move(r->c, tcb, &slot);
    }
    e->type = PC_OBJ_TCB;
    e->slot = slot;
    e->rights = PC_RIGHTS_ALL;
    return err;
}

/* GRANT_DMAR_UNITS: every VT-d unit's register pages, "<name>0", "<name>1", ... */
static pc_word_t grant_dmar_units(grant_run_t *r)
{
    pc_word_t err = PC_OK;
    for (unsigned i = 0; i < g_platform.dmar_units && err == PC_OK; i++) {
        task_cap_t *e = grant_entry_at(r, i, "", TASK_CAP_DEVICE_REGION);
        if (e == NULL) {
            return PC_ERR_RANGE;
        }
        err = give_device(r->c, g_platform.dmar_base[i], (uint64_t)g_platform.dmar_pages[i] * PAGE,
                          e);
        e->arg0 = i;
    }
    if (g_platform.dmar_units == 0) {
        return grant_refuse(r, "no DMAR unit in ACPI", PC_OK);
    }
    return err;
}

/* GRANT_ACPI_DMAR: a read-only copy of the validated DMAR table. */
static pc_word_t grant_acpi_dmar(grant_run_t *r)
{
    task_cap_t *e = grant_entry(r, r->g->name, TASK_CAP_MEMORY_REGION);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    if (g_platform.dmar_table == NULL) {
        return grant_refuse(r, "no DMAR table in ACPI", PC_OK);
    }
    return give_copy_ro(r->c, g_platform.dmar_table, g_platform.dmar_table_len, e);
}

/* GRANT_PCI_CONFIG_CLASS: the ECAM pages of (at most b) functions of class/subclass a. */
static pc_word_t grant_pci_config_class(grant_run_t *r)
{
    const init_grant_t *g = r->g;
    pc_word_t err = PC_OK;
    unsigned k = 0;
    for (unsigned i = 0; i < pci_port_count() && k < g->b && err == PC_OK; i++) {
        const init_pci_dev_t *d = pci_port_dev(i);
        if ((d->class_rev >> 16) != g->a) {
            continue;
        }
        task_cap_t *e = grant_entry_at(r, k++, "", TASK_CAP_DEVICE_REGION);
        if (e == NULL) {
            return PC_ERR_RANGE;
        }
        err = give_config_page(r->c, d->sid, e);
        e->arg1 = d->class_rev >> 8;
    }
    return err;
}

/* GRANT_HOTPLUG_SLOTS, one port k: its config page, its device's, its BAR0 and an MSI vector
 * that signals `ntfn` with badge bit k. */
static pc_word_t hotplug_slot(grant_run_t *r, const init_pci_dev_t *d, unsigned k, pc_cptr_t ntfn)
{
    spawn_ctx_t *c = r->c;
    task_cap_t *e = grant_entry_at(r, k, "", TASK_CAP_DEVICE_REGION);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    pc_word_t err = give_config_page(c, d->sid, e);
    e->arg1 = d->secondary;
    uint16_t dev_sid = (uint16_t)(d->secondary << 8);
    e = grant_entry_at(r, k, "_dev", TASK_CAP_DEVICE_REGION);
    if (e == NULL) {
        return PC_ERR_RANGE;
    }
    if (err == PC_OK) {
        err = give_config_page(c, dev_sid, e);
    } else {
        e->arg0 = dev_sid;
    }
    uint64_t base = 0, size = 0;
    if (err == PC_OK && pci_port_bar(d->sid, 0, &base, &size) == PCI_OK) {
        e = grant_entry_at(r, k, "_bar", TASK_CAP_DEVICE_REGION);
        if (e == NULL) {
            return PC_ERR_RANGE;
        }
        err = give_device(c, base, size, e);
        e->arg0 = d->sid;
    }
    char nm[TASK_CAP_NAME_MAX];
    snprintf(nm, sizeof(nm), "%s%u_irq", r->g->name, k);
    e = task_start_add_cap(&g_si, nm, TASK_CAP_MSI);
    pc_cptr_t h = slot_map_alloc(&g_slots, 1);
    pc_cptr_t minted = slot_map_alloc(&g_slots, 1);
    if (e == NULL || h == 0 || minted == 0) {
        return grant_refuse(r, "start info or root CNode full", PC_OK);
    }
    pc_word_t res[3] = {0, 0, 0};
    if (err == PC_OK) {
        err = pc_irq_control_get_msi(PC_SLOT_IRQ_CONTROL, h, res);
    }
    if (err == PC_OK) {
        err = pc_cnode_mint(PC_SLOT_CNODE, minted, PC_SLOT_CNODE, ntfn, PC_RIGHT_WRITE, 1ull << k);
    }
    if (err == PC_OK) {
        err = pc_irq_handler_set_notification(h, minted);
    }
    uint32_t hslot = 0;
    if (err == PC_OK) {
        err = give_move(c, h, &hslot);
    }
    if (err == PC_OK) {
        err = keep_move(&c->t->keep, minted, &c->t->acct);
    }
    e->type = PC_CAP_IRQ_HANDLER;
    e->slot = hslot;
    e->badge = 1ull << k;
    e->arg0 = res[0];
    e->arg1 = res[1];
    e->arg2 = res[2];
    if (err == PC_OK && iommu_link_server_expected()) {
        /* remapped: the hotplug server asks the IOMMU server (port_irq) */
        if (!iommu_link_port_vector(d->sid, (unsigned)res[0])) {
            err = PC_ERR_RANGE;
        }
        e->arg0 = 0;
        e->arg1 = 0;
        e->arg2 = 0;
    }
    return err;
}

/* GRANT_HOTPLUG_SLOTS: every PCI-to-PCI bridge with a secondary bus (at most a of them). */
static pc_word_t grant_hotplug_slots(grant_run_t *r)
{
    spawn_ctx_t *c = r->c;
    /* One notification for every slot interrupt, bound to the task's thread, so a receive on its
     * endpoint also returns slot interrupts: badge bit k = slot k. */
    pc_cptr_t ntfn;
    pc_word_t err = obj_new(PC_OBJ_NOTIFICATION, 0, 1, &c->t->acct, &ntfn);
    if (err == PC_OK) {
        err = pc_tcb_bind_notification(c->tcb, ntfn);
    }
    unsigned k = 0;
    for (unsigned i = 0; i < pci_port_count() && k < r->g->a && k < 32 && err == PC_OK; i++) {
        const init_pci_dev_t *d = pci_port_dev(i);
        if ((d->class_rev >> 16) != 0x0604 || d->secondary == 0) {
            continue;
        }
        err = hotplug_slot(r, d, k++, ntfn);
        if (r->why != NULL) {
            return err;
        }
    }
    if (err == PC_OK) {
        err = keep_move(&c->t->keep, ntfn, &c->t->acct);
    }
    return err;
}

#define GRANT_HANDLER_(kind, handler, name) [GRANT_##kind] = grant_##handler,
static const grant_handler_t g_grant_handlers[GRANT_KIND_COUNT_] = {
    INIT_GRANT_KINDS(GRANT_HANDLER_)};
#undef GRANT_HANDLER_

static const char *do_grant(spawn_ctx_t *c, const init_grant_t *g)
{
    grant_handler_t handler = g->kind < GRANT_KIND_COUNT_ ? g_grant_handlers[g->kind] : NULL;
    if (handler == NULL) {
        return "unknown grant kind";
    }
    grant_run_t r = {
        .c = c,
        .g = g,
        .badge = g->badge | ((g->flags & GRANT_BADGE_TASK_ID) ? c->t->id : 0),
        .why = NULL,
        .caps = 1,
    };
    pc_word_t err = handler(&r);
    if (r.why != NULL) {
        return r.why;
    }
    if (err != PC_OK) {
        static char buf[80];
        snprintf(buf, sizeof(buf), "grant '%s' (%s) failed: error %llu", g->name,
                 init_grant_kind_name(g->kind), (unsigned long long)err);
        return buf;
    }
    c->t->caps_granted += r.caps;
    return NULL;
}

/* ---- the whole task ---- */

static unsigned log2_ceil(uint64_t v)
{
    unsigned b = 0;
    while ((1ull << b) < v) {
        b++;
    }
    return b;
}

/* Pages the segments need (an upper bound for the keep CNode). */
static uint64_t count_pages(const elf_image_t *img)
{
    uint64_t pages = 0;
    size_t cur = 0;
    elf_segment_t seg;
    while (elf_segment_next(img, &cur, &seg)) {
        pages += (align_up(seg.vaddr + seg.memsz, PAGE) - (seg.vaddr & ~(PAGE - 1))) / PAGE;
    }
    return pages;
}

static const char *build(spawn_ctx_t *c, const pc_bootinfo_module_t *mod, const char *cmdline)
{
    init_task_t *t = c->t;
    init_acct_t *acct = &t->acct;
    const init_role_t *r = t->policy;

    /* 1. The module is untrusted: validate all of it before creating anything. */
    elf_limits_t limits;
    elf_limits_default(&limits);
    limits.user_min = TASK_ELF_MIN;
    limits.user_max = TASK_ELF_MAX;
    elf_image_t img;
    elf_error_t eerr = elf_parse(&img, (const void *)(uintptr_t)mod->vaddr, mod->size, &limits);
    if (eerr != ELF_OK) {
        static char buf[96];
        snprintf(buf, sizeof(buf), "invalid ELF: %s", elf_strerror(eerr));
        return buf;
    }
    t->entry = img.entry;
    uint64_t stack_bottom = 0, stack_top = 0;
    if (elf_sym_lookup((const void *)(uintptr_t)mod->vaddr, mod->size, "__pc_stack_bottom",
                       &stack_bottom) &&
        elf_sym_lookup((const void *)(uintptr_t)mod->vaddr, mod->size, "__pc_stack_top",
                       &stack_top) &&
        (stack_bottom & (PAGE - 1)) == 0 && stack_top >= stack_bottom + 2 * PAGE &&
        stack_bottom >= img.lowest && stack_top <= img.highest) {
        c->guard = stack_bottom;
        t->guard = stack_bottom;
    } else {
        stack_bottom = stack_top = 0;
    }

    /* 2. The device this role drives, if any. */
    uint64_t device_pages = 0;
    if (r->pci_vendor != 0) {
        init_pci_dev_t *d = pci_port_claim(r->pci_vendor, r->pci_device);
        if (d == NULL) {
            static char buf[64];
            snprintf(buf, sizeof(buf), "PCI device %04x:%04x not present", r->pci_vendor,
                     r->pci_device);
            return buf;
        }
        c->pci = d;
        t->pci_sid = d->sid;
        for (size_t i = 0; i < r->grant_count; i++) {
            if (r->grants[i].kind == GRANT_PCI_BAR) {
                uint64_t base, size;
                if (pci_port_bar(d->sid, (unsigned)r->grants[i].a, &base, &size) == PCI_OK) {
                    device_pages += align_up(size, PAGE) / PAGE;
                }
            } else if (r->grants[i].kind == GRANT_PCI_CONFIG) {
                device_pages += 1;
            }
        }
    }

    for (size_t i = 0; i < r->grant_count; i++) {
        if (r->grants[i].kind == GRANT_DMAR_UNITS) {
            for (unsigned u = 0; u < g_platform.dmar_units; u++) {
                device_pages += g_platform.dmar_pages[u];
            }
        } else if (r->grants[i].kind == GRANT_ACPI_DMAR) {
            device_pages += align_up(g_platform.dmar_table_len, PAGE) / PAGE;
        } else if (r->grants[i].kind == GRANT_PCI_CONFIG_CLASS) {
            device_pages += r->grants[i].b;
        } else if (r->grants[i].kind == GRANT_HOTPLUG_SLOTS) {
            device_pages += 3 * r->grants[i].a + 8; /* config, device config, BAR0 (+ MSIs) */
        } else if (r->grants[i].kind == GRANT_DMA_POOL) {
            device_pages += (1ull << r->grants[i].a) / PAGE + 2;
        }
    }

    /* 3. Its objects: keep CNode, CNode, VSpace, TCB. */
    uint64_t keep_need = count_pages(&img) + device_pages + 64;
    unsigned keep_bits = log2_ceil(keep_need);
    if (keep_bits > PC_CNODE_MAX_BITS) {
        return "task too large for a keep CNode";
    }
    /* Its arena: an estimate of everything below (segments with 2 MiB alignment slack, paging
     * structures, CNodes, grants), a quarter more, rounded up to a power of two. */
    uint64_t need = count_pages(&img) * PAGE + 2 * LARGE + (count_pages(&img) / 256 + 32) * PAGE +
                    (1ull << (keep_bits + PC_SLOT_BITS)) + (1ull << (r->cnode_bits + PC_SLOT_BITS));
    for (size_t i = 0; i < r->grant_count; i++) {
        const init_grant_t *g = &r->grants[i];
        need += (g->kind == GRANT_UNTYPED || g->kind == GRANT_DMA_POOL) && g->a < 40
                    ? (1ull << g->a) + PAGE
                    : 2 * PAGE;
    }
    unsigned arena_bits = log2_ceil(need + need / 4) + c->extra_bits;
    arena_bits = g_arena_shrink < arena_bits ? arena_bits - (unsigned)g_arena_shrink : 0;
    if (arena_bits < PC_UNTYPED_MIN_BITS) {
        arena_bits = PC_UNTYPED_MIN_BITS;
    }
    if (arena_bits > PC_UNTYPED_MAX_BITS || !obj_arena_open(t->id, arena_bits, &t->arena)) {
        return "no memory for the task's arena";
    }
    pc_word_t err = keep_create(&t->keep, keep_bits, acct);
    if (err != PC_OK) {
        return fail(c, "no memory for the keep CNode", err);
    }
    err = obj_new(PC_OBJ_CNODE, r->cnode_bits, 1, acct, &c->cnode);
    if (err == PC_OK) {
        err = obj_new(PC_OBJ_VSPACE, 0, 1, acct, &c->vspace);
    }
    if (err == PC_OK) {
        err = obj_new(PC_OBJ_TCB, 0, 1, acct, &c->tcb);
    }
    if (err != PC_OK) {
        return fail(c, "no memory for CNode/VSpace/TCB", err);
    }
    t->tcb = c->tcb;
    c->cnode_slots = 1u << r->cnode_bits;
    c->next_slot = 1;
    c->device_vaddr = TASK_DEVICE_VADDR;

    /* 4. Segments. */
    size_t cur = 0;
    elf_segment_t seg;
    while (elf_segment_next(&img, &cur, &seg)) {
        const char *why = load_segment(c, &seg);
        if (why != NULL) {
            return why;
        }
    }

    /* 5. IPC buffer. */
    pc_cptr_t ipc;
    err = obj_new(PC_OBJ_FRAME_4K, 0, 1, acct, &ipc);
    if (err == PC_OK) {
        err = vs_map(ipc, c->vspace, TASK_IPC_BUFFER_VADDR, PC_VM_READ | PC_VM_WRITE, 0, &t->keep,
                     acct);
    }
    if (err != PC_OK) {
        return fail(c, "IPC buffer", err);
    }
    acct->frames++;

    /* 6. Grants, into the start information as they are made. */
    task_start_init(&g_si);
    for (size_t i = 0; i < r->grant_count; i++) {
        const char *why = do_grant(c, &r->grants[i]);
        if (why != NULL) {
            return why;
        }
    }
    g_si.tsc_hz = g_tsc_hz;
    g_si.ipc_buffer_vaddr = TASK_IPC_BUFFER_VADDR;
    g_si.stack_bottom = stack_bottom ? stack_bottom + PAGE : 0;
    g_si.stack_top = stack_top;
    g_si.task_id = t->id;
    g_si.cnode_size_bits = r->cnode_bits;
    g_si.first_free_slot = c->next_slot;
    g_si.end_free_slot = c->cnode_slots;
    g_si.priority = r->priority;
    g_si.mcp = r->mcp;
    snprintf(g_si.name, sizeof(g_si.name), "%s", t->name);
    snprintf(g_si.cmdline, sizeof(g_si.cmdline), "%s", cmdline);
    if (task_start_validate(&g_si) != TASK_START_OK) {
        return "start information does not validate";
    }

    /* 7. The start information page, read-only in the task. */
    pc_cptr_t si;
    err = obj_new(PC_OBJ_FRAME_4K, 0, 1, acct, &si);
    if (err != PC_OK) {
        return fail(c, "start info frame", err);
    }
    void *p = scratch_map(si);
    if (p == NULL) {
        return "cannot map the start info frame";
    }
    memcpy(p, &g_si, sizeof(g_si));
    scratch_unmap(si);
    err = vs_map(si, c->vspace, TASK_START_INFO_VADDR, PC_VM_READ, 0, &t->keep, acct);
    if (err == PC_OK) {
        err = keep_move(&t->keep, si, acct);
    }
    if (err != PC_OK) {
        return fail(c, "mapping the start info", err);
    }
    acct->frames++;

    /* 8. The thread: configured, prioritised, faults to the root task, started. */
    pc_cptr_t fault_ep = slot_map_alloc(&g_slots, 1);
    if (fault_ep == 0) {
        return "root CNode full";
    }
    err = pc_cnode_mint(PC_SLOT_CNODE, fault_ep, PC_SLOT_CNODE, g_init_ep, PC_RIGHT_WRITE, t->id);
    if (err != PC_OK) {
        return fail(c, "minting the fault endpoint", err);
    }
    err = pc_tcb_configure(c->tcb, c->cnode, c->vspace, ipc, TASK_IPC_BUFFER_VADDR);
    if (err != PC_OK) {
        return fail(c, "TCB_Configure", err);
    }
    err = pc_tcb_set_mcp(c->tcb, PC_SLOT_TCB, r->mcp);
    if (err == PC_OK) {
        err = pc_tcb_set_priority(c->tcb, PC_SLOT_TCB, r->priority);
    }
    if (err != PC_OK) {
        return fail(c, "TCB priority", err);
    }
    err = pc_tcb_set_fault_ep(c->tcb, fault_ep);
    if (err != PC_OK) {
        return fail(c, "TCB_SetFaultEP", err);
    }
    (void)keep_move(&t->keep, fault_ep, acct);
    (void)keep_move(&t->keep, ipc, acct);
    uint64_t rsp = stack_top ? (stack_top & ~0xfull) : 0;
    err = pc_tcb_start(c->tcb, img.entry, rsp, TASK_START_INFO_VADDR, 1);
    if (err != PC_OK) {
        return fail(c, "starting the thread", err);
    }
    /* The root task keeps only the TCB in its own CNode; the rest lives in the keep CNode. */
    (void)keep_move(&t->keep, c->cnode, acct);
    (void)keep_move(&t->keep, c->vspace, acct);
    return NULL;
}

unsigned g_tasks_reclaimed;
unsigned g_modules_reclaimed_exactly;
unsigned g_rebuilds;

uint32_t init_free_slots(void)
{
    /* a spare arena's slot is part of the reusable memory, not a leak */
    return (g_slots.end - g_slots.first) - g_slots.used + g_pool.nspare;
}

bool task_teardown(init_task_t *t)
{
    bool ok = true;
    if (t->tcb != 0) {
        (void)pc_tcb_suspend(t->tcb); /* its thread runs no more */
    }
    /* The IOMMU server lets go of it first (devices blocked and flushed, mappings gone, memory
     * grants withdrawn): only then may its memory be revoked and handed out again. */
    bool iommu_ok = iommu_link_remove(t->id);
    ok &= iommu_ok;
    unsigned saved = obj_root_scope_enter();
    for (uint32_t s = slot_map_next_owned(&g_slots, (uint8_t)t->id, 0); s != 0;
         s = slot_map_next_owned(&g_slots, (uint8_t)t->id, s + 1)) {
        obj_delete(s);
    }
    obj_root_scope_leave(saved);
    if (t->arena.slot != 0 && !iommu_ok) {
        /* The server could not confirm that no device reaches the task's memory any more (a
         * stuck invalidation keeps pages pinned): its objects stay alive and the arena is never
         * handed out again, rather than give a device's target to another task. */
        printf("init: task %u: arena of 2^%u bytes at %#llx kept out of use\n", t->id,
               t->arena.bits, (unsigned long long)t->arena.paddr);
    } else if (t->arena.slot != 0) {
        ok &= obj_arena_return(&t->arena);
    } else if (t->acct.objects != 0) {
        ok = false; /* objects made outside an arena cannot be taken back */
    }
    if (t->pci_sid >= 0) {
        pci_port_unclaim((uint16_t)t->pci_sid);
    }
    memset(&t->arena, 0, sizeof(t->arena));
    memset(&t->keep, 0, sizeof(t->keep));
    t->ram_pa = t->ram_size = 0;
    t->tcb = 0;
    t->hp_ntfn = 0;
    t->pci_sid = -1;
    t->reclaimed = ok;
    g_tasks_reclaimed += ok;
    return ok;
}

init_task_t *spawn_module_again(const pc_bootinfo_module_t *module, unsigned idx, const char *words)
{
    /* one copy per task entry: the task keeps pointing at it (a later instance there reuses it,
     * the command line is read before it is overwritten) */
    static pc_bootinfo_module_t copies[INIT_MAX_TASKS];
    if (idx >= INIT_MAX_TASKS || idx > g_task_count) {
        return NULL;
    }
    char cmd[PC_BOOTINFO_MODULE_NAME_MAX + 1];
    memcpy(cmd, module->cmdline, PC_BOOTINFO_MODULE_NAME_MAX);
    cmd[PC_BOOTINFO_MODULE_NAME_MAX] = '\0';
    pc_bootinfo_module_t *mod = &copies[idx];
    if (mod != module) {
        *mod = *module;
    }
    int n = snprintf(mod->cmdline, sizeof(mod->cmdline), "%s %s", cmd, words);
    if (n < 0 || (size_t)n >= sizeof(mod->cmdline)) {
        memcpy(mod->cmdline, cmd, sizeof(mod->cmdline)); /* no room: as it was */
    }
    spawn_module_at(mod, 0, idx);
    return idx < g_task_count ? &g_tasks[idx] : NULL;
}

void spawn_module(const pc_bootinfo_module_t *mod, unsigned module_index)
{
    spawn_module_at(mod, module_index, g_task_count);
}

void spawn_module_at(const pc_bootinfo_module_t *mod, unsigned module_index, unsigned idx)
{
    if (idx > g_task_count || idx >= INIT_MAX_TASKS ||
        (idx < g_task_count && !g_tasks[idx].reclaimed)) {
        printf("init: module %u skipped: more than %u tasks\n", module_index, INIT_MAX_TASKS);
        return;
    }
    init_task_t *t = &g_tasks[idx];
    memset(t, 0, sizeof(*t)); /* a reclaimed entry is reused under the same id */
    t->id = idx + 1;
    t->module = mod;
    t->pci_sid = -1;
    if (idx == g_task_count) {
        g_task_count++;
    }

    char cmdline[PC_BOOTINFO_MODULE_NAME_MAX + 1];
    memcpy(cmdline, mod->cmdline, PC_BOOTINFO_MODULE_NAME_MAX);
    cmdline[PC_BOOTINFO_MODULE_NAME_MAX] = '\0';
    task_cmdline_program(cmdline, t->name, sizeof(t->name));
    if (t->name[0] == '\0') {
        snprintf(t->name, sizeof(t->name), "module%u", module_index);
    }
    const char *why = NULL;
    t->policy = init_policy_of_cmdline(cmdline, t->role, sizeof(t->role));
    if (t->role[0] == '\0') {
        why = "no role= on its command line";
    } else if (t->policy == NULL) {
        why = "unknown role";
    } else if (mod->size == 0 || mod->vaddr == 0 || mod->vaddr + mod->size < mod->vaddr) {
        why = "empty or unmapped module";
    } else {
        spawn_ctx_t c;
        uint64_t ram_before = ut_pool_ram_free(&g_pool);
        uint32_t slots_before = init_free_slots();
        for (unsigned attempt = 0;; attempt++) {
            memset(&c, 0, sizeof(c));
            c.t = t;
            c.extra_bits = attempt;
            obj_arena_reset_exhausted();
            why = build(&c, mod, cmdline);
            obj_arena_close();
            if (why == NULL || !obj_arena_exhausted() || attempt >= 3) {
                break;
            }
            printf("init: module %u (%s): arena of 2^%u bytes too small, building again\n",
                   module_index, t->name, t->arena.bits);
            g_rebuilds++;
            (void)task_teardown(t);
            t->reclaimed = false;
            g_tasks_reclaimed--;
            memset(&t->acct, 0, sizeof(t->acct));
            t->caps_granted = 0;
        }
        if (why != NULL && t->acct.objects != 0) {
            /* whatever was made for it goes back (a module failing midway leaks nothing) */
            static char buf[sizeof(t->skip_reason)];
            snprintf(buf, sizeof(buf), "%s", why);
            why = buf;
            uint32_t made = t->acct.objects;
            bool back = task_teardown(t);
            uint64_t ram_after = ut_pool_ram_free(&g_pool);
            uint32_t slots_after = init_free_slots();
            bool exact = back && ram_after == ram_before && slots_after == slots_before;
            g_modules_reclaimed_exactly += exact;
            printf("init: module %u (%s): %u objects made before it failed %s (RAM free %llu -> "
                   "%llu KiB, root slots free %u -> %u)\n",
                   module_index, t->name, made, back ? "reclaimed" : "NOT reclaimed",
                   (unsigned long long)(ram_before >> 10), (unsigned long long)(ram_after >> 10),
                   slots_before, slots_after);
        }
    }
    if (why != NULL) {
        t->state = TASK_SKIPPED;
        snprintf(t->skip_reason, sizeof(t->skip_reason), "%s", why);
        printf("init: module %u (%s) SKIPPED: %s\n", module_index, t->name, why);
        return;
    }
    t->state = TASK_RUNNING;
    printf("init: started task %u %s role=%s entry=%#llx caps=%u\n", t->id, t->name, t->role,
           (unsigned long long)t->entry, t->caps_granted);
}
