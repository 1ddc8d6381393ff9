/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Creating kernel objects from untyped memory (seL4 style: the kernel never allocates after boot,
 * the root task retypes), placing device frames at exact physical addresses, mapping frames with
 * the paging structures created on demand, and parking capabilities in per-task keep CNodes.
 * Every object is charged to the task it is for, so the summary can say what each task costs.
 */
#include <stdio.h>
#include <string.h>

#include <init/init.h>
#include <portcullis/object_size.h>

ut_pool_t g_pool;
static uint64_t g_last_paddr; /* physical address of the last retype's first object */
static dev_tree_t g_dev;
slot_map_t g_slots;

/* The root task's window for filling a frame before it goes to a task (one page at a time). */
#define INIT_SCRATCH_VADDR 0x00007d0000000000ull

/* Largest count one Untyped_Retype accepts. */
#define RETYPE_MAX 256u

void obj_init(const pc_bootinfo_t *bi)
{
    ut_pool_init(&g_pool);
    uint32_t n =
        bi->untyped_count <= PC_BOOTINFO_MAX_UNTYPED ? bi->untyped_count : PC_BOOTINFO_MAX_UNTYPED;
    for (uint32_t i = 0; i < n; i++) {
        const pc_bootinfo_untyped_t *u = &bi->untyped[i];
        if (!ut_pool_add(&g_pool, u->paddr, u->size_bits, u->is_device != 0, u->slot)) {
            printf("init: ignoring untyped %u (paddr %#llx, %u bits): malformed\n", i,
                   (unsigned long long)u->paddr, u->size_bits);
        }
    }
    uint32_t end = bi->end_free_slot;
    uint32_t cn_slots = bi->cnode_size_bits < 17 ? (1u << bi->cnode_size_bits) : SLOT_MAP_MAX;
    if (end > cn_slots) {
        end = cn_slots;
    }
    slot_map_init(&g_slots, bi->first_free_slot, end);
    dev_tree_init(&g_dev);
}

static void charge(init_acct_t *acct, unsigned bits, uint32_t count)
{
    if (acct != NULL) {
        acct->untyped_bytes += (uint64_t)count << bits;
        acct->objects += count;
    }
}

/*
 * The arena of the task being built: one untyped retyped for it from the pool, from which all
 * its objects come, so revoking that one capability takes every object back (task_teardown).
 * While an arena is open, new root-CNode slots are recorded as the task's.
 */
static ut_pool_t g_arena;
static bool g_arena_open;
static bool g_arena_exhausted;

bool obj_arena_exhausted(void)
{
    return g_arena_exhausted;
}

void obj_arena_reset_exhausted(void)
{
    g_arena_exhausted = false;
}
static unsigned g_arena_owner;

bool obj_arena_open(unsigned owner, unsigned bits, init_arena_t *a)
{
    memset(a, 0, sizeof(*a));
    ut_spare_t sp;
    if (ut_spare_take(&g_pool, bits, &sp)) {
        a->slot = sp.slot;
        a->paddr = sp.paddr;
        a->bits = sp.size_bits;
        printf("init: task %u built in a returned arena (2^%u bytes at %#llx)\n", owner, a->bits,
               (unsigned long long)a->paddr);
    } else {
        pc_cptr_t u;
        if (obj_new(PC_OBJ_UNTYPED, bits, 1, NULL, &u) != PC_OK) {
            return false;
        }
        a->slot = u;
        a->bits = (uint8_t)bits;
        a->paddr = g_last_paddr;
    }
    ut_pool_init(&g_arena);
    if (!ut_pool_add(&g_arena, a->paddr, a->bits, false, (uint32_t)a->slot)) {
        (void)ut_spare_put(&g_pool, a->paddr, a->bits, (uint32_t)a->slot);
        memset(a, 0, sizeof(*a));
        return false;
    }
    g_arena_open = true;
    g_arena_owner = owner;
    slot_map_set_owner(&g_slots, (uint8_t)owner);
    return true;
}

void obj_arena_close(void)
{
    g_arena_open = false;
    g_arena_owner = 0;
    slot_map_set_owner(&g_slots, 0);
}

unsigned obj_root_scope_enter(void)
{
    unsigned saved = g_arena_open ? g_arena_owner : 0;
    g_arena_open = false;
    slot_map_set_owner(&g_slots, 0);
    return saved;
}

void obj_root_scope_leave(unsigned saved)
{
    if (saved != 0) {
        g_arena_open = true;
        slot_map_set_owner(&g_slots, (uint8_t)saved);
    }
}

bool obj_arena_return(const init_arena_t *a)
{
    if (a->slot == 0) {
        return true;
    }
    /* every object retyped from it, and every copy of those, goes; the watermark resets */
    pc_word_t err = pc_cnode_revoke(PC_SLOT_CNODE, a->slot);
    if (err != PC_OK) {
        printf("init: revoking an arena failed: %llu (its memory stays taken)\n",
               (unsigned long long)err);
        return false;
    }
    if (!ut_spare_put(&g_pool, a->paddr, a->bits, (uint32_t)a->slot)) {
        printf("init: spare list full: an arena of 2^%u bytes is kept aside\n", a->bits);
        return false;
    }
    return true;
}

/* Retypes `count` objects into [slot, slot+count) (slots already reserved). */
static pc_word_t retype_into(unsigned type, unsigned size_bits, unsigned bits, uint32_t count,
                             pc_cptr_t slot)
{
    ut_pool_t *pool = g_arena_open ? &g_arena : &g_pool;
    for (;;) {
        uint64_t off;
        int idx = ut_pool_plan(pool, bits, count, &off);
        if (idx < 0 && g_arena_open) {
            g_arena_exhausted = true;
        }
        if (idx < 0) {
            return PC_ERR_NOT_ENOUGH_MEMORY;
        }
        pc_word_t err =
            pc_untyped_retype(pool->r[idx].slot, type, size_bits, PC_NULL_CPTR, slot, count);
        if (err == PC_ERR_NOT_ENOUGH_MEMORY && g_arena_open) {
            g_arena_exhausted = true; /* the estimate was short: spawn builds again, larger */
            return err;
        }
        if (err == PC_ERR_NOT_ENOUGH_MEMORY) {
            /* The kernel knows better than the mirror (e.g. it carved boot objects there). */
            pool->r[idx].exhausted = true;
            continue;
        }
        if (err != PC_OK) {
            return err;
        }
        g_last_paddr = pool->r[idx].paddr + off;
        ut_pool_commit(pool, idx, off, bits, count);
        return PC_OK;
    }
}

uint64_t obj_last_paddr(void)
{
    return g_last_paddr;
}

pc_word_t obj_new(unsigned type, unsigned size_bits, uint32_t count, init_acct_t *acct,
                  pc_cptr_t *slot)
{
    int obj_bits = pc_object_bits(type, size_bits);
    if (obj_bits < 0 || count == 0 || count > RETYPE_MAX) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    unsigned bits = (unsigned)obj_bits;
    uint32_t s = slot_map_alloc(&g_slots, count);
    if (s == 0) {
        return PC_ERR_RANGE;
    }
    pc_word_t err = retype_into(type, size_bits, bits, count, s);
    if (err != PC_OK) {
        slot_map_free(&g_slots, s, count);
        return err;
    }
    charge(acct, bits, count);
    *slot = s;
    return PC_OK;
}

/* The original frame cap of the device page at paddr, splitting device untypeds as needed. */
static pc_word_t device_page_(uint64_t paddr, pc_cptr_t *frame);

/* The split tree and the original frame caps belong to the root task, whoever asked first. */
static pc_word_t device_page(uint64_t paddr, pc_cptr_t *frame)
{
    unsigned saved = obj_root_scope_enter();
    pc_word_t err = device_page_(paddr, frame);
    obj_root_scope_leave(saved);
    return err;
}

static pc_word_t device_page_(uint64_t paddr, pc_cptr_t *frame)
{
    int i = dev_tree_lookup(&g_dev, paddr);
    if (i < 0) {
        int r = dev_tree_region(&g_pool, paddr);
        if (r < 0) {
            return PC_ERR_FAILED_LOOKUP; /* not device memory the root task was given */
        }
        i = dev_tree_add_root(&g_dev, g_pool.r[r].paddr, g_pool.r[r].size_bits, g_pool.r[r].slot);
        if (i < 0) {
            return PC_ERR_RANGE;
        }
        g_pool.r[r].exhausted = true; /* managed by the tree from now on */
    }
    while (!dev_tree_is_leaf(&g_dev, i)) {
        dev_node_t *n = &g_dev.n[i];
        if (n->child < 0) {
            uint32_t s = slot_map_alloc(&g_slots, 2);
            if (s == 0) {
                return PC_ERR_RANGE;
            }
            pc_word_t err =
                pc_untyped_retype(n->slot, PC_OBJ_UNTYPED, n->bits - 1u, PC_NULL_CPTR, s, 2);
            if (err != PC_OK || !dev_tree_split(&g_dev, i, s)) {
                slot_map_free(&g_slots, s, 2);
                return err != PC_OK ? err : PC_ERR_RANGE;
            }
        }
        i = dev_tree_lookup(&g_dev, paddr);
    }
    dev_node_t *leaf = &g_dev.n[i];
    uint32_t pages = 1u << (leaf->bits - PC_PAGE_BITS);
    if (leaf->frames == 0) {
        uint32_t s = slot_map_alloc(&g_slots, pages);
        if (s == 0) {
            return PC_ERR_RANGE;
        }
        pc_word_t err = pc_untyped_retype(leaf->slot, PC_OBJ_FRAME_4K, 0, PC_NULL_CPTR, s, pages);
        if (err != PC_OK) {
            slot_map_free(&g_slots, s, pages);
            return err;
        }
        leaf->frames = s;
    }
    *frame = leaf->frames + (uint32_t)((paddr - leaf->paddr) >> PC_PAGE_BITS);
    return PC_OK;
}

pc_word_t obj_device_frames(uint64_t paddr, uint32_t count, init_acct_t *acct, pc_cptr_t *slot)
{
    if (count == 0 || count > RETYPE_MAX || (paddr & ((1ull << PC_PAGE_BITS) - 1)) != 0 ||
        paddr + ((uint64_t)count << PC_PAGE_BITS) < paddr) {
        return PC_ERR_ALIGNMENT;
    }
    uint32_t first = slot_map_alloc(&g_slots, count);
    if (first == 0) {
        return PC_ERR_RANGE;
    }
    for (uint32_t k = 0; k < count; k++) {
        pc_cptr_t orig;
        pc_word_t err = device_page(paddr + ((uint64_t)k << PC_PAGE_BITS), &orig);
        if (err == PC_OK) {
            err = pc_cnode_copy(PC_SLOT_CNODE, first + k, PC_SLOT_CNODE, orig,
                                PC_RIGHT_READ | PC_RIGHT_WRITE);
        }
        if (err != PC_OK) {
            for (uint32_t j = 0; j < k; j++) {
                (void)pc_cnode_delete(PC_SLOT_CNODE, first + j);
            }
            slot_map_free(&g_slots, first, count);
            return err;
        }
    }
    if (acct != NULL) {
        acct->objects += count;
    }
    *slot = first;
    return PC_OK;
}

unsigned obj_device_nodes(void)
{
    return g_dev.count;
}

void obj_delete(pc_cptr_t slot)
{
    (void)pc_cnode_delete(PC_SLOT_CNODE, slot);
    slot_map_free(&g_slots, (uint32_t)slot, 1);
}

/* Objects shared between tasks by the name the policy gives them (e.g. the ping-pong endpoint). */
#define SHARED_MAX 16
static struct {
    const char *name;
    unsigned type;
    pc_cptr_t slot;
} g_shared[SHARED_MAX];
static unsigned g_shared_count;

pc_word_t obj_shared(const char *name, unsigned type, init_acct_t *acct, pc_cptr_t *slot)
{
    for (unsigned i = 0; i < g_shared_count; i++) {
        if (strcmp(g_shared[i].name, name) == 0) {
            if (g_shared[i].type != type) {
                return PC_ERR_INVALID_CAPABILITY;
            }
            *slot = g_shared[i].slot;
            return PC_OK;
        }
    }
    if (g_shared_count >= SHARED_MAX) {
        return PC_ERR_RANGE;
    }
    /* shared objects outlive the task whose grant made them first: root-owned, from the pool */
    unsigned saved = obj_root_scope_enter();
    pc_word_t err = obj_new(type, 0, 1, acct, slot);
    obj_root_scope_leave(saved);
    if (err == PC_OK) {
        g_shared[g_shared_count].name = name;
        g_shared[g_shared_count].type = type;
        g_shared[g_shared_count].slot = *slot;
        g_shared_count++;
    }
    return err;
}

pc_cptr_t obj_shared_slot(const char *name)
{
    for (unsigned i = 0; name != NULL && i < g_shared_count; i++) {
        if (strcmp(g_shared[i].name, name) == 0) {
            return g_shared[i].slot;
        }
    }
    return 0;
}

pc_word_t keep_create(init_keep_t *k, unsigned bits, init_acct_t *acct)
{
    pc_cptr_t s;
    pc_word_t err = obj_new(PC_OBJ_CNODE, bits, 1, acct, &s);
    if (err != PC_OK) {
        return err;
    }
    k->cnode = s;
    k->next = 1; /* slot 0 stays the null cptr */
    k->size = 1u << bits;
    return PC_OK;
}

pc_word_t keep_move(init_keep_t *k, pc_cptr_t slot, init_acct_t *acct)
{
    if (k->next >= k->size) {
        return PC_ERR_RANGE;
    }
    pc_word_t err = pc_cnode_move(k->cnode, k->next, PC_SLOT_CNODE, slot);
    if (err != PC_OK) {
        return err;
    }
    k->next++;
    slot_map_free(&g_slots, (uint32_t)slot, 1);
    if (acct != NULL) {
        acct->keep_slots++;
    }
    return PC_OK;
}

pc_word_t vs_map(pc_cptr_t frame, pc_cptr_t vspace, uint64_t vaddr, unsigned rights, unsigned attrs,
                 init_keep_t *keep, init_acct_t *acct)
{
    /* At most three structures can be missing (PDPT, PD, PT); one more try maps the frame. */
    for (int attempt = 0; attempt < 4; attempt++) {
        pc_word_t a[3] = {vaddr, rights, attrs};
        pc_word_t missing = 0;
        pc_word_t err = pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &vspace, &missing, 1);
        if (err != PC_ERR_FAILED_LOOKUP ||
            (missing != PC_OBJ_PDPT && missing != PC_OBJ_PD && missing != PC_OBJ_PT)) {
            return err;
        }
        pc_cptr_t table;
        err = obj_new((unsigned)missing, 0, 1, acct, &table);
        if (err != PC_OK) {
            return err;
        }
        err = pc_page_table_map(table, vspace, vaddr);
        if (err != PC_OK) {
            obj_delete(table);
            return err;
        }
        if (acct != NULL) {
            acct->tables++;
        }
        if (keep != NULL) {
            err = keep_move(keep, table, acct);
            if (err != PC_OK) {
                return err; /* the table stays in the root CNode: still mapped, still kept */
            }
        }
    }
    return PC_ERR_FAILED_LOOKUP;
}

void *scratch_map(pc_cptr_t frame)
{
    if (vs_map(frame, PC_SLOT_VSPACE, INIT_SCRATCH_VADDR, PC_VM_READ | PC_VM_WRITE, 0, NULL,
               NULL) != PC_OK) {
        return NULL;
    }
    return (void *)(uintptr_t)INIT_SCRATCH_VADDR;
}

void scratch_unmap(pc_cptr_t frame)
{
    (void)pc_frame_unmap(frame);
}
