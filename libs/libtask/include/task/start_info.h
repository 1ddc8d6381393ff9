/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The start information a task receives from the root task. The root task writes one page of it
 * into the new task's address space (read-only) and passes its address in rdi at entry, where the
 * runtime's crt0 stores it in __pc_start_arg. It says what the task was given: every capability
 * the root task granted, by name and kind, with the slot it sits in and what it means (a device
 * region's physical and mapped address, an interrupt's vector and MSI address/data, a badge);
 * the task's IPC buffer address, its free slot range, the TSC frequency and its command line.
 * A task looks its capabilities up by name (task_cap_find) and never hard-codes a slot.
 *
 * Everything here is plain data with fixed layout: the same header compiles for the root task,
 * every task, and the host tests that check the validation.
 */
#ifndef TASK_START_INFO_H
#define TASK_START_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TASK_START_MAGIC 0x6f666e496b736154ull /* "TaskInfo" as little-endian bytes */
#define TASK_START_VERSION 1u

#define TASK_MAX_CAPS 32u
#define TASK_CAP_NAME_MAX 24u /* including the NUL */
#define TASK_CMDLINE_MAX 256u /* including the NUL */
#define TASK_NAME_MAX 32u     /* including the NUL */

/* What a granted capability is (the cap's kernel type is in `type`). */
enum task_cap_kind {
    TASK_CAP_NONE = 0,
    TASK_CAP_ENDPOINT = 1,       /* an endpoint; badge = the badge it was minted with (0 = none) */
    TASK_CAP_NOTIFICATION = 2,   /* a notification */
    TASK_CAP_IRQ = 3,            /* an IRQHandler; arg0 = vector, arg1 = GSI (IOAPIC) or 0 (MSI),
                                    aux_slot = the notification it signals (READ) */
    TASK_CAP_MSI = 4,            /* an IRQHandler for an MSI vector; arg0 = vector, arg1 = MSI
                                    address, arg2 = MSI data; aux_slot = its notification */
    TASK_CAP_IOPORT = 5,         /* an IOPort range; arg0 = first port, arg1 = last port */
    TASK_CAP_DEVICE_REGION = 6,  /* device memory mapped into the task; no capability is held by the
                                    task (slot 0): paddr/vaddr/size describe the mapping */
    TASK_CAP_UNTYPED = 7,        /* an untyped region; paddr, size (bytes) */
    TASK_CAP_OWN_TCB = 8,        /* the task's own thread (authority for priorities) */
    TASK_CAP_OWN_CNODE = 9,      /* the task's own root CNode; arg0 = size in bits */
    TASK_CAP_OWN_VSPACE = 10,    /* the task's own VSpace */
    TASK_CAP_FRAMES = 11,        /* `count` frame capabilities in consecutive slots from `slot`,
                                    mapped at vaddr (0 = not mapped); paddr = first frame */
    TASK_CAP_TCB = 12,           /* a spare thread object */
    TASK_CAP_MEMORY_REGION = 13, /* RAM the root task filled (e.g. a copy of a firmware table),
                                    mapped read-only at vaddr, size bytes valid; no cap (slot 0) */
    TASK_CAP_DMA_POOL = 14,      /* RAM the root task owns (no cap, slot 0), mapped read-write at
                                    vaddr, physically contiguous [paddr, paddr + size); registered
                                    at the IOMMU server as the task's memory grant arg0 */
    TASK_CAP_KIND_COUNT_
};

/* One granted capability (or mapped region). */
typedef struct task_cap {
    char name[TASK_CAP_NAME_MAX]; /* NUL-terminated, unique within one start info */
    uint32_t kind;                /* enum task_cap_kind */
    uint32_t type;                /* the kernel cap type (enum pc_object_type), 0 if no cap */
    uint32_t slot;                /* cptr in the task's root CNode, 0 if no cap */
    uint32_t aux_slot;            /* a second, associated cap (the notification of an IRQ) */
    uint32_t rights;              /* PC_RIGHT_* the cap carries */
    uint32_t count;               /* consecutive caps (FRAMES), else 1 */
    uint64_t badge;
    uint64_t paddr; /* DEVICE_REGION / FRAMES / UNTYPED: physical base */
    uint64_t vaddr; /* where it is mapped in the task, 0 if not */
    uint64_t size;  /* bytes (regions, untyped) */
    uint64_t arg0;
    uint64_t arg1;
    uint64_t arg2;
} task_cap_t;
_Static_assert(sizeof(task_cap_t) == 104, "task_cap_t layout");

typedef struct task_start_info {
    uint64_t magic;            /* TASK_START_MAGIC */
    uint32_t version;          /* TASK_START_VERSION */
    uint32_t size;             /* sizeof(task_start_info_t) */
    uint64_t tsc_hz;           /* TSC ticks per second (from the kernel's calibration) */
    uint64_t ipc_buffer_vaddr; /* the initial thread's IPC buffer (PC_IPC_BUFFER_ALIGN aligned) */
    uint64_t stack_bottom;     /* lowest usable byte of the initial stack (a guard page is below) */
    uint64_t stack_top;        /* one past the highest byte */
    uint32_t task_id;          /* the root task's number for this task (also its fault badge) */
    uint32_t cap_count;        /* valid entries in cap[] */
    uint32_t cnode_size_bits;  /* the task's root CNode has 2^cnode_size_bits slots */
    uint32_t first_free_slot;  /* slots [first_free_slot, end_free_slot) are empty: use them */
    uint32_t end_free_slot;    /*   to receive capabilities or to retype into */
    uint32_t priority;         /* the initial thread's priority ... */
    uint32_t mcp;              /* ... and its maximum controlled priority */
    uint32_t reserved0;
    uint64_t reserved[4];
    char name[TASK_NAME_MAX]; /* module file name without directories, e.g. "ktest_ping.elf" */
    char cmdline[TASK_CMDLINE_MAX]; /* the whole module command line */
    task_cap_t cap[TASK_MAX_CAPS];
} task_start_info_t;
_Static_assert(sizeof(task_start_info_t) <= 4096, "start info fits one page");
_Static_assert(sizeof(task_start_info_t) % 8 == 0, "start info layout");

/* Validation results. */
typedef enum task_start_error {
    TASK_START_OK = 0,
    TASK_START_ERR_NULL,    /* no start info (the argument was 0) */
    TASK_START_ERR_MAGIC,   /* not a start info */
    TASK_START_ERR_VERSION, /* another version */
    TASK_START_ERR_SIZE,    /* size field does not match this layout */
    TASK_START_ERR_COUNT,   /* cap_count > TASK_MAX_CAPS */
    TASK_START_ERR_STRING,  /* a name or the command line is not NUL-terminated */
    TASK_START_ERR_SLOTS,   /* free slot range or a cap slot outside the CNode */
} task_start_error_t;

/*
 * Checks a start info's header, counts, string termination and slot ranges. Pure: reads only the
 * sizeof(task_start_info_t) bytes at info. Returns TASK_START_OK or the first problem found.
 */
task_start_error_t task_start_validate(const task_start_info_t *info);
const char *task_start_strerror(task_start_error_t err);

/* Initialises an empty start info (magic, version, size; everything else zero). */
void task_start_init(task_start_info_t *info);

/*
 * Appends a cap entry named `name` (truncated names are refused). Returns a pointer to the new
 * entry (all other fields zero, count = 1) or NULL when the table is full, the name is empty,
 * too long, or already present.
 */
task_cap_t *task_start_add_cap(task_start_info_t *info, const char *name, uint32_t kind);

/* The entry named `name`, or NULL. */
const task_cap_t *task_cap_find(const task_start_info_t *info, const char *name);

/* The name of the index-th cap of a family: `base` for index 0, then `base`1, `base`2, ...
 * (one per DMAR unit: "fault_msi", "fault_msi1"). False, with out[0] = 0, if it does not fit. */
bool task_cap_name_nth(char *out, size_t n, const char *base, unsigned index);

/* The slot of the cap named `name` if it has the given kind, else 0 (the null cptr). */
uint32_t task_cap_slot(const task_start_info_t *info, const char *name, uint32_t kind);

/* Name of a cap kind ("endpoint", "irq", ...); "?" outside the enum. */
const char *task_cap_kind_name(uint32_t kind);

/*
 * Command-line access. A command line is words separated by spaces; the first word is the module
 * file name, the others are `key=value` or bare `flag` words. task_cmdline_get copies the value of
 * `key` (the first occurrence) to out (NUL-terminated, at most out_size - 1 bytes) and returns
 * true; it returns false if the key is absent or the value does not fit (out is then "").
 * A bare flag has the value "". task_cmdline_get_u64 parses decimal or 0x-hex values that fit in
 * 64 bits; false on absence or any malformation.
 */
bool task_cmdline_get(const char *cmdline, const char *key, char *out, size_t out_size);
bool task_cmdline_get_u64(const char *cmdline, const char *key, uint64_t *value);
/* Whether the word `flag` (or `flag=...`) appears after the first word. */
bool task_cmdline_has(const char *cmdline, const char *flag);
/* Copies the first word without its directories (the module's file name). */
void task_cmdline_program(const char *cmdline, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif /* TASK_START_INFO_H */
