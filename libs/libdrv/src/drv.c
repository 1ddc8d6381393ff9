/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Start information, result lines, TSC time and the one-page config accessor shared by the
 * drivers (see drv/drv.h). Result lines go through the root task as whole lines (task_log), so a
 * driver's TEST lines never interleave with the IOMMU or hotplug server's output.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <drv/drv.h>

static const task_start_info_t *g_si;
static char g_name[32] = "drv";
static unsigned g_passed, g_failed;
static bool g_quiet; /* checks are counted, not printed (drv_set_quiet) */
static unsigned g_quiet_failed;
static char g_quiet_first[TASK_LOG_MAX];
static bool g_reported;
static uint64_t g_tsc_per_us = 1000; /* 1 GHz until the start info says otherwise */
static char g_phase[16];

const task_start_info_t *drv_start(const char *name)
{
    snprintf(g_name, sizeof(g_name), "%s", name);
    g_si = task_start();
    if (g_si == NULL) {
        printf("%s: no valid start information (%s)\n", g_name,
               task_start_strerror(task_start_status()));
        return NULL;
    }
    /* tag=X: several instances of one driver print distinct names ("<name>_X") */
    char tag[16];
    if (task_cmdline_get(g_si->cmdline, "tag", tag, sizeof(tag)) && tag[0] != '\0') {
        snprintf(g_name, sizeof(g_name), "%s_%s", name, tag);
    }
    if (g_si->tsc_hz >= 1000000u) {
        g_tsc_per_us = g_si->tsc_hz / 1000000u;
    }
    return g_si;
}

bool drv_check(const char *check, bool ok, const char *fmt, ...)
{
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    char line[TASK_LOG_MAX];
    snprintf(line, sizeof(line), "TEST %s_%s%s: %s%s%s", g_name, g_phase, check,
             ok ? "PASS" : "FAIL", detail[0] ? " " : "", detail);
    if (g_quiet) {
        if (!ok && g_quiet_failed++ == 0) {
            memcpy(g_quiet_first, line, sizeof(g_quiet_first));
        }
        return ok;
    }
    task_log(line);
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
    }
    return ok;
}

void drv_set_phase(const char *phase)
{
    snprintf(g_phase, sizeof(g_phase), "%s", phase != NULL ? phase : "");
}

void drv_set_quiet(bool quiet)
{
    g_quiet = quiet;
}

unsigned drv_quiet_failed(const char **first)
{
    if (first != NULL) {
        *first = g_quiet_failed ? g_quiet_first : "";
    }
    return g_quiet_failed;
}

const char *drv_name(void)
{
    return g_name;
}

void drv_log(const char *fmt, ...)
{
    char text[TASK_LOG_MAX - 20];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    char line[TASK_LOG_MAX];
    snprintf(line, sizeof(line), "%s: %s", g_name, text);
    task_log(line);
}

unsigned drv_passed(void)
{
    return g_passed;
}

unsigned drv_failed(void)
{
    return g_failed;
}

void drv_report(void)
{
    if (g_reported) {
        return;
    }
    g_reported = true;
    pc_word_t err = task_report_done(g_passed, g_failed);
    if (err != PC_OK) {
        printf("%s: report to the root task failed: %s\n", g_name, drv_pc_err(err));
    }
}

const char *drv_pc_err(pc_word_t err)
{
    static const char *const names[] = {
#define DRV_ERR_NAME_(name, value, text) [value] = #name,
        PC_ERRORS(DRV_ERR_NAME_)
#undef DRV_ERR_NAME_
    };
    return err < sizeof(names) / sizeof(names[0]) && names[err] ? names[err] : "PC_ERR_?";
}

uint64_t drv_now_us(void)
{
    return task_rdtsc() / g_tsc_per_us;
}

uint64_t drv_deadline(uint64_t us)
{
    return drv_now_us() + us;
}

uint64_t drv_left_us(uint64_t deadline)
{
    uint64_t now = drv_now_us();
    return now >= deadline ? 0 : deadline - now;
}

/* ---- the one config page ---- */

static uint32_t cfg_read(void *ctx, uint64_t off, unsigned width)
{
    struct drv_cfg *c = ctx;
    if ((off >> 12) != PCI_SID_DEVFN(c->sid)) {
        return width == 1 ? 0xffu : width == 2 ? 0xffffu : 0xffffffffu;
    }
    volatile uint8_t *a = c->base + (off & 0xfff);
    return width == 1 ? *a : width == 2 ? *(volatile uint16_t *)a : *(volatile uint32_t *)a;
}

static void cfg_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    struct drv_cfg *c = ctx;
    if ((off >> 12) != PCI_SID_DEVFN(c->sid)) {
        return;
    }
    volatile uint8_t *a = c->base + (off & 0xfff);
    if (width == 1) {
        *a = (uint8_t)val;
    } else if (width == 2) {
        *(volatile uint16_t *)a = (uint16_t)val;
    } else {
        *(volatile uint32_t *)a = val;
    }
}

int drv_cfg_open(struct drv_cfg *cfg, const task_start_info_t *si, const char *name)
{
    const task_cap_t *c = task_cap_find(si, name);
    if (c == NULL || c->kind != TASK_CAP_DEVICE_REGION || c->vaddr == 0 || c->size < 4096 ||
        c->arg0 > 0xffffu) {
        return PCI_ERR_INVALID;
    }
    memset(cfg, 0, sizeof(*cfg));
    cfg->base = (volatile uint8_t *)(uintptr_t)c->vaddr;
    cfg->sid = (pci_sid_t)c->arg0;
    cfg->mmio.ctx = cfg;
    cfg->mmio.read = cfg_read;
    cfg->mmio.write = cfg_write;
    /* the page is the function's slot in its bus's 1 MiB ECAM window: offsets are devfn << 12 */
    return pci_ecam_init(&cfg->ecam, &cfg->mmio, 0, PCI_SID_BUS(cfg->sid), PCI_SID_BUS(cfg->sid));
}

bool drv_region_get(const task_start_info_t *si, const char *name, uint64_t min_size,
                    struct drv_region *out)
{
    const task_cap_t *c = task_cap_find(si, name);
    if (c == NULL || c->kind != TASK_CAP_DEVICE_REGION || c->vaddr == 0 || c->size < min_size) {
        return false;
    }
    out->va = (volatile uint8_t *)(uintptr_t)c->vaddr;
    out->pa = c->paddr;
    out->size = c->size;
    return true;
}

bool drv_mode(const task_start_info_t *si, char *mode, size_t n)
{
    char iommu[8];
    if (!task_cmdline_get(si->cmdline, "mode", mode, n)) {
        snprintf(mode, n, "selftest");
    }
    bool bringup =
        task_cmdline_get(si->cmdline, "iommu", iommu, sizeof(iommu)) && strcmp(iommu, "off") == 0;
    drv_log("mode=%s, DMA addresses: %s", mode,
            bringup ? "PHYSICAL (bring-up mode, iommu=off)" : "IOVAs mapped by the IOMMU server");
    return bringup;
}
