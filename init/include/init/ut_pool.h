/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task's picture of its untyped memory and of its CNode's free slots. The kernel places
 * each retyped object at its untyped's watermark rounded up to the object's size; this module
 * mirrors that rule (with the kernel's code, <portcullis/object_size.h>) so the root task can
 * choose an untyped that will fit before asking, place device frames at exact physical addresses,
 * and account every byte and slot it hands out. Pure bookkeeping: the kernel calls live in
 * objects.c, and the host tests drive this directly.
 */
#ifndef INIT_UT_POOL_H
#define INIT_UT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UT_POOL_MAX 192

typedef struct ut_region {
    uint64_t paddr;
    uint64_t watermark; /* bytes from paddr already handed out (as the kernel counts them) */
    uint32_t slot;      /* the untyped cap in the root task's CNode */
    uint8_t size_bits;
    bool device;
    bool exhausted; /* the kernel refused an allocation the mirror allowed: never use again */
} ut_region_t;

/* An untyped the root task retyped for a task (its arena) and revoked when the task went away:
 * empty again, kept whole for the next task that needs at most its size. */
#define UT_SPARE_MAX 32
typedef struct ut_spare {
    uint64_t paddr;
    uint32_t slot;
    uint8_t size_bits;
} ut_spare_t;

typedef struct ut_pool {
    ut_region_t r[UT_POOL_MAX];
    unsigned count;
    ut_spare_t spare[UT_SPARE_MAX];
    unsigned nspare;
} ut_pool_t;

/* Returns a revoked arena to the pool (false: the spare list is full, the caller keeps it). */
bool ut_spare_put(ut_pool_t *pool, uint64_t paddr, unsigned size_bits, uint32_t slot);
/* Takes the smallest spare of at least size_bits; false if none. */
bool ut_spare_take(ut_pool_t *pool, unsigned size_bits, ut_spare_t *out);

void ut_pool_init(ut_pool_t *pool);
/* Adds a region; false if full, misaligned or of an impossible size. */
bool ut_pool_add(ut_pool_t *pool, uint64_t paddr, unsigned size_bits, bool device, uint32_t slot);

/*
 * Chooses a RAM region for `count` objects of 2^obj_bits bytes each: the smallest region whose
 * aligned watermark leaves room (keeps big regions for big objects). Returns the region index
 * and the offset of the first object, or -1 if nothing fits. Does not change the pool.
 */
int ut_pool_plan(const ut_pool_t *pool, unsigned obj_bits, uint64_t count, uint64_t *offset);
/* Records that the plan was carried out: watermark = offset + count << obj_bits. */
void ut_pool_commit(ut_pool_t *pool, int index, uint64_t offset, unsigned obj_bits, uint64_t count);

/*
 * Device memory. The kernel hands out device memory as untyped regions that become frames only.
 * To place a frame at an exact physical address, in any order and more than once, the root task
 * splits a region in halves (each half an untyped child) down to DEV_LEAF_BITS around the address
 * and turns that leaf into all of its 4 KiB frames; the other halves stay whole for later
 * requests. The tree below mirrors those splits; its slots are caps in the root task's CNode.
 */
#define DEV_TREE_MAX 1024
#define DEV_LEAF_BITS 16 /* 64 KiB: 16 frames per leaf */

typedef struct dev_node {
    uint64_t paddr;
    uint32_t slot;   /* the untyped cap of this node */
    uint32_t frames; /* leaf: first of its 2^(bits - 12) frame caps, 0 until made */
    int32_t child;   /* index of the first of two halves, -1 while whole */
    uint8_t bits;
} dev_node_t;

typedef struct dev_tree {
    dev_node_t n[DEV_TREE_MAX];
    unsigned count;
} dev_tree_t;

void dev_tree_init(dev_tree_t *t);
/* The deepest node containing paddr, or -1 if there is none (see dev_tree_region). */
int dev_tree_lookup(const dev_tree_t *t, uint64_t paddr);
/* The pool's device region containing paddr (index), or -1. */
int dev_tree_region(const ut_pool_t *pool, uint64_t paddr);
/* Adds a root node for a device region; its index or -1 if the tree is full. */
int dev_tree_add_root(dev_tree_t *t, uint64_t paddr, unsigned bits, uint32_t slot);
/* Records that node `parent` was split into halves in slots first_slot, first_slot + 1. */
bool dev_tree_split(dev_tree_t *t, int parent, uint32_t first_slot);
/* Whether node i is a leaf: at most DEV_LEAF_BITS, or a region that small to begin with. */
bool dev_tree_is_leaf(const dev_tree_t *t, int i);

/* Total and free RAM bytes (device regions excluded). */
uint64_t ut_pool_ram_total(const ut_pool_t *pool);
uint64_t ut_pool_ram_free(const ut_pool_t *pool);

/* ---- slots of the root task's CNode ---- */

#define SLOT_MAP_MAX 65536u

typedef struct slot_map {
    uint32_t first; /* managed range [first, end) */
    uint32_t end;
    uint32_t used;
    uint32_t high_water;
    uint64_t bits[SLOT_MAP_MAX / 64];
    uint8_t owner[SLOT_MAP_MAX]; /* task id the slot was allocated for (0: the root task) */
    uint8_t cur_owner;           /* owner of the slots allocated from now on */
} slot_map_t;

/* Slots allocated from now on belong to task `owner` (0: the root task itself). */
void slot_map_set_owner(slot_map_t *m, uint8_t owner);
/* The first used slot >= from that belongs to `owner` (owner != 0), or 0 if none. */
uint32_t slot_map_next_owned(const slot_map_t *m, uint8_t owner, uint32_t from);

void slot_map_init(slot_map_t *m, uint32_t first, uint32_t end);
/* The lowest run of `count` free slots; its first slot, or 0 (never a valid slot) if none. */
uint32_t slot_map_alloc(slot_map_t *m, uint32_t count);
/* Frees [slot, slot + count); slots outside the range or already free are ignored. */
void slot_map_free(slot_map_t *m, uint32_t slot, uint32_t count);

#endif /* INIT_UT_POOL_H */
