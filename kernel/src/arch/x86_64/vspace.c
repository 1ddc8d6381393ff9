/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Address spaces. The kernel half (PML4 entries 256..511: the direct map and the kernel image)
 * is shared by every VSpace. User paging structures and frames are capabilities; each mapping is
 * recorded in the capability that made it (ASID + vaddr), so deleting that capability removes
 * exactly that mapping. ASIDs carry a generation so a mapping record that outlived its VSpace
 * can never touch a new VSpace that reuses the slot.
 */
#include <arch/machine.h>
#include <arch/vspace.h>
#include <portcullis/invocation.h>

#define K_ASID_BITS 12
#define K_NUM_ASIDS (1u << K_ASID_BITS)

static uint64_t kernel_pml4[512] __attribute__((aligned(4096)));
static uint64_t kernel_pdpt_phys[512] __attribute__((aligned(4096)));
static uint64_t kernel_pd_phys[16][512] __attribute__((aligned(4096)));
extern uint64_t boot_pdpt_high[512];
uint64_t k_kernel_pml4_pa;

static struct {
    uint64_t pml4; /* kernel address, 0 = free */
    uint32_t gen;
} asid_table[K_NUM_ASIDS];
static unsigned asids_free = K_NUM_ASIDS - 1;

void k_vspace_boot_init(const k_memmap_t *ram)
{
    for (unsigned g = 0; g < 16; g++) {
        for (unsigned i = 0; i < 512; i++) {
            uint64_t pa = ((uint64_t)g << 30) | ((uint64_t)i << 21);
            bool wb = false;
            for (unsigned r = 0; r < ram->n; r++) {
                if (ram->r[r].start <= pa && ram->r[r].end >= pa + (1u << 21)) {
                    wb = true;
                }
            }
            kernel_pd_phys[g][i] =
                pa | PTE_P | PTE_RW | PTE_PS | PTE_G | PTE_NX | (wb ? 0 : PTE_PCD | PTE_PWT);
        }
        kernel_pdpt_phys[g] = k_virt_to_phys(kernel_pd_phys[g]) | PTE_P | PTE_RW;
    }
    kernel_pml4[256] = k_virt_to_phys(kernel_pdpt_phys) | PTE_P | PTE_RW;
    kernel_pml4[511] = k_virt_to_phys(boot_pdpt_high) | PTE_P | PTE_RW;
    k_kernel_pml4_pa = k_virt_to_phys(kernel_pml4);
    k_write_cr3(k_kernel_pml4_pa);
    asid_table[0].pml4 = 1; /* ASID 0 is never handed out */
}

void k_vspace_init_pml4(uint64_t *pml4)
{
    for (unsigned i = 256; i < 512; i++) {
        pml4[i] = kernel_pml4[i];
    }
}

bool k_asid_available(unsigned n)
{
    return asids_free >= n;
}

int k_asid_alloc(uint64_t pml4_kva, uint32_t *asid)
{
    for (unsigned i = 1; i < K_NUM_ASIDS; i++) {
        if (asid_table[i].pml4 == 0) {
            asid_table[i].pml4 = pml4_kva;
            asid_table[i].gen = (asid_table[i].gen + 1) & 0xFFFFF;
            asids_free--;
            *asid = i | (asid_table[i].gen << K_ASID_BITS);
            return PC_OK;
        }
    }
    return PC_ERR_NOT_ENOUGH_MEMORY;
}

static uint64_t *asid_lookup(uint32_t asid)
{
    unsigned i = asid & (K_NUM_ASIDS - 1);
    if (i == 0 || asid_table[i].pml4 == 0 || asid_table[i].gen != (asid >> K_ASID_BITS)) {
        return NULL;
    }
    return (uint64_t *)asid_table[i].pml4;
}

void k_asid_free(uint32_t asid)
{
    unsigned i = asid & (K_NUM_ASIDS - 1);
    if (i != 0 && asid_table[i].pml4 != 0 && asid_table[i].gen == (asid >> K_ASID_BITS)) {
        asid_table[i].pml4 = 0;
        asids_free++;
    }
}

static uint64_t *next_table(uint64_t *table, unsigned idx)
{
    uint64_t e = table[idx];
    if (!(e & PTE_P) || (e & PTE_PS)) {
        return NULL;
    }
    return k_phys_to_virt(e & PTE_ADDR);
}

static unsigned idx(uint64_t va, unsigned level)
{
    return (va >> (12 + 9 * level)) & 511;
}

static void flush_va(uint64_t *pml4, uint64_t va)
{
    k_cpu_t *cpu = k_cpu();
    if (cpu->loaded_cr3 == k_virt_to_phys(pml4)) {
        k_invlpg(va);
    }
}

void k_vspace_boot_map(uint64_t *pml4, uint64_t va, uint64_t pa, uint64_t flags,
                       uint64_t (*alloc)(void))
{
    uint64_t *t = pml4;
    for (unsigned level = 3; level > 0; level--) {
        unsigned i = idx(va, level);
        if (!(t[i] & PTE_P)) {
            t[i] = alloc() | PTE_P | PTE_RW | PTE_US;
        }
        t = k_phys_to_virt(t[i] & PTE_ADDR);
    }
    t[idx(va, 0)] = pa | flags;
}

uint64_t *k_vspace_boot_lookup(uint64_t *pml4, uint64_t va)
{
    uint64_t *t = pml4;
    for (unsigned level = 3; level > 0; level--) {
        t = next_table(t, idx(va, level));
        if (!t) {
            return NULL;
        }
    }
    return (t[idx(va, 0)] & PTE_P) ? &t[idx(va, 0)] : NULL;
}

/* Level at which a structure of `type` sits: the entry that points to it lives in a table of
 * level+1 (PDPT: entry in PML4 = level 3, PD: in PDPT = 2, PT: in PD = 1; 4K frame: in PT = 0,
 * 2M frame: in PD = 1). */
static int entry_level(unsigned type)
{
    switch (type) {
    case PC_OBJ_PDPT:
        return 3;
    case PC_OBJ_PD:
        return 2;
    case PC_OBJ_PT:
        return 1;
    case PC_OBJ_FRAME_4K:
        return 0;
    case PC_OBJ_FRAME_2M:
        return 1;
    default:
        return -1;
    }
}

static const unsigned missing_type[4] = {PC_OBJ_PT, PC_OBJ_PD, PC_OBJ_PDPT, 0};

/* Walk to the table holding the level-`level` entry for va. On failure *missing is the object
 * type that has to be mapped first. */
static uint64_t *walk(uint64_t *pml4, uint64_t va, int level, unsigned *missing)
{
    uint64_t *t = pml4;
    for (int l = 3; l > level; l--) {
        uint64_t *n = next_table(t, idx(va, (unsigned)l));
        if (!n) {
            *missing = missing_type[l - 1];
            return NULL;
        }
        t = n;
    }
    return t;
}

static uint64_t cap_paddr(const k_cap_t *cap)
{
    return (cap->type == PC_OBJ_FRAME_4K || cap->type == PC_OBJ_FRAME_2M)
               ? cap->obj
               : k_virt_to_phys((void *)cap->obj);
}

void k_unmap_cap(k_cap_t *cap)
{
    int level = entry_level(cap->type);
    if (level < 0 || cap->aux == 0) {
        return;
    }
    uint64_t *pml4 = asid_lookup(cap->aux);
    uint64_t va = cap->w2;
    cap->aux = 0;
    cap->w2 = 0;
    if (!pml4) {
        return; /* the VSpace is gone, and the mapping with it */
    }
    unsigned missing;
    uint64_t *t = walk(pml4, va, level, &missing);
    if (!t) {
        return;
    }
    uint64_t *e = &t[idx(va, (unsigned)level)];
    if ((*e & PTE_P) && (*e & PTE_ADDR) == cap_paddr(cap)) {
        *e = 0;
        if (k_cpu()->loaded_cr3 == k_virt_to_phys(pml4)) {
            if (cap->type == PC_OBJ_FRAME_4K) {
                k_invlpg(va);
            } else {
                k_write_cr3(k_cpu()->loaded_cr3); /* a whole subtree went away */
            }
        }
    }
}

void k_vspace_destroyed(k_cap_t *cap)
{
    k_asid_free(cap->aux);
    k_cpu_t *cpu = k_cpu();
    if (cpu->loaded_cr3 == k_virt_to_phys((void *)cap->obj)) {
        cpu->loaded_cr3 = k_kernel_pml4_pa;
        k_write_cr3(k_kernel_pml4_pa);
    }
}

int k_decode_vspace(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf,
                    unsigned *nres)
{
    k_cap_t *cap = &slot->cap;
    unsigned len = pc_msginfo_length(t->ctx.rsi);
    bool is_frame = cap->type == PC_OBJ_FRAME_4K || cap->type == PC_OBJ_FRAME_2M;
    bool is_table = cap->type == PC_OBJ_PDPT || cap->type == PC_OBJ_PD || cap->type == PC_OBJ_PT;

    if (label == PC_FRAME_GET_ADDRESS && is_frame) {
        k_set_mr(t, buf, 0, cap->obj);
        *nres = 1;
        return PC_OK;
    }
    if ((label == PC_FRAME_UNMAP && is_frame) || (label == PC_PAGE_TABLE_UNMAP && is_table)) {
        k_unmap_cap(cap);
        return PC_OK;
    }
    if (!((label == PC_FRAME_MAP && is_frame) || (label == PC_PAGE_TABLE_MAP && is_table))) {
        return PC_ERR_ILLEGAL_OPERATION;
    }
    /* Map: decode everything first. */
    if (len < (is_frame ? 3u : 1u)) {
        return PC_ERR_TRUNCATED_MESSAGE;
    }
    uint64_t va = k_get_mr(t, buf, 0);
    uint64_t vm_rights = is_frame ? k_get_mr(t, buf, 1) : 0;
    uint64_t attrs = is_frame ? k_get_mr(t, buf, 2) : 0;
    k_slot_t *vs = k_extra_cap(t, buf, 0);
    if (!vs) {
        return PC_ERR_FAILED_LOOKUP;
    }
    if (vs->cap.type != PC_OBJ_VSPACE) {
        return PC_ERR_INVALID_CAPABILITY;
    }
    if (cap->aux != 0) {
        return PC_ERR_ILLEGAL_OPERATION; /* this cap already holds a mapping */
    }
    if ((vm_rights & ~(uint64_t)(PC_VM_READ | PC_VM_WRITE | PC_VM_EXEC)) ||
        (attrs & ~(uint64_t)PC_VM_ATTR_UNCACHED)) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    int level = entry_level(cap->type);
    uint64_t span = 1ull << (12 + 9 * level);
    if (is_frame && (va & (span - 1))) {
        return PC_ERR_ALIGNMENT;
    }
    va &= ~(span - 1);
    if (!k_user_addr_ok(va) || !k_user_addr_ok(va + span - 1)) {
        return PC_ERR_RANGE;
    }
    if (is_frame && !(cap->rights & PC_RIGHT_READ)) {
        return PC_ERR_INVALID_CAPABILITY;
    }
    uint64_t *pml4 = (uint64_t *)vs->cap.obj;
    unsigned missing = 0;
    uint64_t *tbl = walk(pml4, va, level, &missing);
    if (!tbl) {
        k_set_mr(t, buf, 0, missing);
        *nres = 1;
        return PC_ERR_FAILED_LOOKUP;
    }
    uint64_t *e = &tbl[idx(va, (unsigned)level)];
    if (*e & PTE_P) {
        return PC_ERR_DELETE_FIRST;
    }
    /* Perform. */
    uint64_t entry;
    if (is_frame) {
        entry = cap->obj | PTE_P | PTE_US;
        if ((vm_rights & PC_VM_WRITE) && (cap->rights & PC_RIGHT_WRITE)) {
            entry |= PTE_RW;
        }
        if (!(vm_rights & PC_VM_EXEC)) {
            entry |= PTE_NX;
        }
        if ((attrs & PC_VM_ATTR_UNCACHED) || (cap->flags & K_CAP_DEVICE)) {
            entry |= PTE_PCD | PTE_PWT;
        }
        if (cap->type == PC_OBJ_FRAME_2M) {
            entry |= PTE_PS;
        }
    } else {
        entry = k_virt_to_phys((void *)cap->obj) | PTE_P | PTE_RW | PTE_US;
    }
    *e = entry;
    cap->aux = vs->cap.aux;
    cap->w2 = va;
    flush_va(pml4, va);
    return PC_OK;
}
