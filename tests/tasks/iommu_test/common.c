/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared helpers of the IOMMU server's QEMU test tasks (see iommu_test.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu_test.h"

uint64_t it_call_raw(pc_cptr_t ep, uint64_t label, unsigned len, const uint64_t *w, pc_cptr_t cap,
                     struct iommu_reply *r)
{
    /* The benchmark measures this stub: the reply's word array is not cleared, r->len says how
     * much of it is valid. */
    if (cap != 0) {
        pc_ipc_buffer()->caps_or_badges[0] = cap;
    }
    r->len = 0;
    r->cap_kept = false;
    pc_msginfo_t info;
    pc_word_t err =
        pc_call_words(ep, label, cap != 0 ? 1 : 0, w, len, r->w, IOMMU_MSG_WORDS, &info);
    if (err != PC_OK) {
        r->err = pc_call_ipc_failed(err);
        return r->err;
    }
    r->err = pc_msginfo_label(info);
    r->len = pc_msginfo_length(info);
    if (r->len > IOMMU_MSG_WORDS) {
        r->len = IOMMU_MSG_WORDS;
    }
    return r->err;
}

uint64_t it_call(pc_cptr_t ep, const struct iommu_msg *m, pc_cptr_t cap, struct iommu_reply *r)
{
    return it_call_raw(ep, m->label, m->len, m->w, cap, r);
}

/* ---- frames ---- */

static uint64_t g_next_va = 0x0000100000000000ull; /* TASK_SELF_MIN */
static uint32_t g_next_slot;

static pc_cptr_t take_slot(void)
{
    const task_start_info_t *si = task_start();
    if (g_next_slot == 0) {
        g_next_slot = si->first_free_slot;
    }
    return g_next_slot < si->end_free_slot ? g_next_slot++ : 0;
}

bool it_frame_new(unsigned bits, struct it_frame *f)
{
    const task_start_info_t *si = task_start();
    pc_cptr_t ut = task_cap_slot(si, "untyped", TASK_CAP_UNTYPED);
    pc_cptr_t vs = task_cap_slot(si, "vspace", TASK_CAP_OWN_VSPACE);
    if (ut == 0 || vs == 0 || (bits != 12 && bits != 21)) {
        return false;
    }
    uint64_t size = 1ull << bits;
    g_next_va = (g_next_va + size - 1) & ~(size - 1);
    pc_cptr_t frame = take_slot();
    if (frame == 0 || pc_untyped_retype(ut, bits == 12 ? PC_OBJ_FRAME_4K : PC_OBJ_FRAME_2M, 0,
                                        PC_NULL_CPTR, frame, 1) != PC_OK) {
        return false;
    }
    for (int attempt = 0; attempt < 4; attempt++) {
        pc_word_t a[3] = {g_next_va, PC_VM_READ | PC_VM_WRITE, 0};
        pc_word_t missing = 0;
        pc_word_t err = pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &vs, &missing, 1);
        if (err == PC_OK) {
            break;
        }
        if (err != PC_ERR_FAILED_LOOKUP ||
            (missing != PC_OBJ_PDPT && missing != PC_OBJ_PD && missing != PC_OBJ_PT)) {
            return false;
        }
        pc_cptr_t table = take_slot();
        if (table == 0 ||
            pc_untyped_retype(ut, (unsigned)missing, 0, PC_NULL_CPTR, table, 1) != PC_OK ||
            pc_page_table_map(table, vs, g_next_va) != PC_OK) {
            return false;
        }
        if (attempt == 3) {
            return false;
        }
    }
    if (pc_frame_get_address(frame, &f->pa) != PC_OK) {
        return false;
    }
    f->cap = frame;
    f->va = (volatile uint8_t *)(uintptr_t)g_next_va;
    f->size = size;
    g_next_va += size + 4096; /* a hole between buffers */
    return true;
}

/* ---- buffer contents ---- */

void it_fill(volatile uint8_t *p, unsigned n, uint8_t seed)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 7u);
    }
}

bool it_same(volatile const uint8_t *a, volatile const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

bool it_all_byte(volatile const uint8_t *p, unsigned n, uint8_t v)
{
    for (unsigned i = 0; i < n; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

/* ---- benchmark lines ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void it_bench_report(const char *name, uint64_t *s, unsigned n)
{
    if (n == 0) {
        return;
    }
    qsort(s, n, sizeof(s[0]), cmp_u64);
    char line[160];
    snprintf(line, sizeof(line), "BENCH %s median=%llu min=%llu p90=%llu iters=%u", name,
             (unsigned long long)s[n / 2], (unsigned long long)s[0],
             (unsigned long long)s[(n * 9) / 10], n);
    task_log(line);
}

/* ---- edu ---- */

#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_RUN 1u
#define EDU_CMD_TO_RAM 2u

static volatile uint8_t *g_bar;
static bool g_fault_signalled;

/* Wait up to timeout_us on "iommu_fault"; remembers a signal for it_wait_fault. */
static bool sleep_on_faults(uint64_t timeout_us)
{
    pc_cptr_t ntfn = task_cap_slot(task_start(), "iommu_fault", TASK_CAP_NOTIFICATION);
    pc_word_t word = 0;
    if (ntfn == 0) {
        uint64_t until = task_rdtsc() + kt_us_to_tsc(timeout_us);
        while (task_rdtsc() < until) {
            pc_yield();
        }
        return false;
    }
    if (pc_wait(ntfn, timeout_us, &word) == PC_OK) {
        g_fault_signalled = true;
        return true;
    }
    return false;
}

bool it_edu_init(const task_start_info_t *si)
{
    const task_cap_t *bar = task_cap_find(si, "bar0");
    if (bar == NULL || bar->vaddr == 0) {
        return false;
    }
    g_bar = (volatile uint8_t *)(uintptr_t)bar->vaddr;
    return (*(volatile uint32_t *)g_bar & 0xffffu) == 0x00ed;
}

#define EDU_INTR_STATUS 0x24
#define EDU_INTR_RAISE 0x60
#define EDU_INTR_ACK 0x64

void it_edu_raise(uint32_t bits)
{
    if (g_bar != NULL) {
        *(volatile uint32_t *)(g_bar + EDU_INTR_RAISE) = bits;
    }
}

void it_edu_ack(void)
{
    if (g_bar != NULL) {
        uint32_t st = *(volatile uint32_t *)(g_bar + EDU_INTR_STATUS);
        *(volatile uint32_t *)(g_bar + EDU_INTR_ACK) = st;
    }
}

bool it_edu_dma(uint64_t ram_addr, uint32_t dev_off, uint32_t len, bool to_ram)
{
    if (g_bar == NULL || len == 0 || len >= 4096 || dev_off + len > 4096) {
        return false; /* QEMU 7.2's edu aborts on a full 4096-byte transfer */
    }
    uint64_t dev = IT_EDU_BUF + dev_off;
    *(volatile uint64_t *)(g_bar + EDU_DMA_SRC) = to_ram ? dev : ram_addr;
    *(volatile uint64_t *)(g_bar + EDU_DMA_DST) = to_ram ? ram_addr : dev;
    *(volatile uint64_t *)(g_bar + EDU_DMA_CNT) = len;
    *(volatile uint64_t *)(g_bar + EDU_DMA_CMD) = EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0u);
    /* The transfer completes 100 ms of virtual time later. Sleep on the fault notification in
     * 1 ms steps (lower-priority tasks run meanwhile); a fault signal seen here is kept. */
    for (unsigned i = 0; i < 3000; i++) {
        if ((*(volatile uint64_t *)(g_bar + EDU_DMA_CMD) & EDU_CMD_RUN) == 0) {
            return true;
        }
        sleep_on_faults(1000);
    }
    return false;
}

/* ---- config space through the one granted page ---- */

struct one_page {
    volatile uint8_t *base;
    uint64_t page;
};
static struct one_page g_page;

static uint32_t page_read(void *ctx, uint64_t off, unsigned width)
{
    struct one_page *p = ctx;
    if ((off >> 12) != p->page) {
        return width == 1 ? 0xffu : width == 2 ? 0xffffu : 0xffffffffu;
    }
    volatile uint8_t *a = p->base + (off & 0xfffu);
    return width == 1 ? *a : width == 2 ? *(volatile uint16_t *)a : *(volatile uint32_t *)a;
}

static void page_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    struct one_page *p = ctx;
    if ((off >> 12) != p->page) {
        return;
    }
    volatile uint8_t *a = p->base + (off & 0xfffu);
    if (width == 1) {
        *a = (uint8_t)val;
    } else if (width == 2) {
        *(volatile uint16_t *)a = (uint16_t)val;
    } else {
        *(volatile uint32_t *)a = val;
    }
}

const struct pci_ecam *it_config(const task_start_info_t *si, pci_sid_t *sid)
{
    static struct pci_mmio mmio;
    static struct pci_ecam ecam;
    const task_cap_t *cfg = task_cap_find(si, "config");
    if (cfg == NULL || cfg->vaddr == 0) {
        return NULL;
    }
    *sid = (pci_sid_t)cfg->arg0;
    g_page.base = (volatile uint8_t *)(uintptr_t)cfg->vaddr;
    g_page.page = cfg->arg0 & 0xffu; /* devfn: the page inside its bus's window */
    mmio.ctx = &g_page;
    mmio.read = page_read;
    mmio.write = page_write;
    if (pci_ecam_init(&ecam, &mmio, 0, PCI_SID_BUS(*sid), PCI_SID_BUS(*sid)) != PCI_OK) {
        return NULL;
    }
    return &ecam;
}

bool it_wait_fault(uint64_t timeout_us)
{
    if (g_fault_signalled) {
        g_fault_signalled = false;
        return true;
    }
    bool got = sleep_on_faults(timeout_us);
    g_fault_signalled = false;
    return got;
}
