/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What every Portcullis device driver task needs besides its device: its granted capabilities
 * looked up by name, result lines in the guest result protocol (one whole line per check, printed
 * through the root task so lines of several tasks never interleave), time from the TSC for
 * deadlines, and a PCI configuration accessor over the one ECAM page the root task granted (the
 * driver can address no other function). Shared by the edu and virtio drivers.
 */
#ifndef DRV_DRV_H
#define DRV_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pci/pci.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

/* ---- start, results ---------------------------------------------------------------------- */

/*
 * Validates the start information and remembers the driver's short name (the prefix of its
 * test and log lines, e.g. "edu"; with `tag=X` on the command line "edu_X", so several
 * instances of one driver print distinct names). Returns NULL (after printing why) if the task was
 * not started by the root task with a valid start page.
 */
const task_start_info_t *drv_start(const char *name);

/*
 * The driver's mode from its command line: `mode=` into mode[n] ("selftest" by default) and
 * `iommu=off` (bring-up: DMA to physical addresses, no IOMMU server). Prints the mode line.
 * Returns bringup.
 */
bool drv_mode(const task_start_info_t *si, char *mode, size_t n);

/* Prints "TEST <name>_<check>: PASS|FAIL <detail>" and counts it. Returns ok. */
bool drv_check(const char *check, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A prefix for the following check names ("replug_": the checks of a re-plugged device), or "". */
void drv_set_phase(const char *phase);
/* Quiet: checks are neither printed nor counted (a loop of many cycles prints one summary
 * check instead); failures are counted and the first failing line kept for the summary. */
void drv_set_quiet(bool quiet);
/* Failed checks while quiet so far, and the first of them (or ""). */
unsigned drv_quiet_failed(const char **first);
/* The prefix of this driver's lines ("edu", "edu_hp5"). */
const char *drv_name(void);
/* Prints one informational line "<name>: ..." (never a TEST line). */
void drv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Checks so far. */
unsigned drv_passed(void);
unsigned drv_failed(void);
/* Reports the counts to the root task (TASK_LABEL_DONE). Safe to call once. */
void drv_report(void);

/* Symbolic kernel error name (PC_ERR_...). */
const char *drv_pc_err(pc_word_t err);

/* ---- time --------------------------------------------------------------------------------- */

uint64_t drv_now_us(void);
/* A deadline `us` microseconds from now, and the microseconds left until it (0 = passed). */
uint64_t drv_deadline(uint64_t us);
uint64_t drv_left_us(uint64_t deadline);

/* ---- configuration space ------------------------------------------------------------------- */

/*
 * A pci_ecam over the driver's one granted config page (start-info entry `name`, arg0 =
 * source-id): every other function reads as absent, writes to it are dropped.
 */
struct drv_cfg {
    volatile uint8_t *base;
    pci_sid_t sid;
    struct pci_mmio mmio;
    struct pci_ecam ecam;
};
/* PCI_OK, PCI_ERR_INVALID if the grant is missing or not one page. */
int drv_cfg_open(struct drv_cfg *cfg, const task_start_info_t *si, const char *name);

/* ---- device registers ---------------------------------------------------------------------- */

/* A granted device region (BAR): start-info entry `name`, mapped uncached. */
struct drv_region {
    volatile uint8_t *va;
    uint64_t pa;
    uint64_t size;
};
/* true if present and mapped with at least min_size bytes. */
bool drv_region_get(const task_start_info_t *si, const char *name, uint64_t min_size,
                    struct drv_region *out);

static inline uint32_t drv_rd32(const struct drv_region *r, uint64_t off)
{
    return *(volatile uint32_t *)(r->va + off);
}
static inline void drv_wr32(const struct drv_region *r, uint64_t off, uint32_t v)
{
    *(volatile uint32_t *)(r->va + off) = v;
}
static inline uint64_t drv_rd64(const struct drv_region *r, uint64_t off)
{
    return *(volatile uint64_t *)(r->va + off);
}
static inline void drv_wr64(const struct drv_region *r, uint64_t off, uint64_t v)
{
    *(volatile uint64_t *)(r->va + off) = v;
}

#endif /* DRV_DRV_H */
