/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Implementation of the capture loader, the ACPI physical-memory server and the fake ECAM
 * described in fixture.h.
 */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PC_TEST_DATA_DIR
#error "PC_TEST_DATA_DIR must point at tests/data"
#endif

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "fixture: %s %s\n", what, arg ? arg : "");
    exit(2);
}

uint8_t *capture_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        die("cannot open", path);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        die("cannot read", path);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

void capture_load(struct capture *c, const char *variant)
{
    char path[1024], line[256];
    memset(c, 0, sizeof(*c));
    snprintf(path, sizeof(path), "%s/%s/MANIFEST", PC_TEST_DATA_DIR, variant);
    FILE *m = fopen(path, "r");
    if (!m) {
        die("no manifest", path);
    }
    while (fgets(line, sizeof(line), m)) {
        char kind[16], a[32], b[32], file[128];
        unsigned long long pa;
        unsigned len;
        struct capture_blob *bl = &c->blobs[c->n];
        if (c->n == CAPTURE_MAX_BLOBS) {
            die("too many blobs in", path);
        }
        memset(bl, 0, sizeof(*bl));
        if (sscanf(line, "rsdp %llx %u %127s", &pa, &len, file) == 3) {
            bl->kind = CAPTURE_RSDP;
            bl->pa = pa;
            strcpy(bl->sig, "RSDP");
        } else if (sscanf(line, "table %4s %llx %u %127s", a, &pa, &len, file) == 4) {
            bl->kind = CAPTURE_TABLE;
            bl->pa = pa;
            memcpy(bl->sig, a, 5);
        } else if (sscanf(line, "cfg %31s %127s", b, file) == 2) {
            bl->kind = CAPTURE_CFG;
            if (pci_sid_parse(b, &bl->sid) != 0) {
                die("bad sid in manifest", b);
            }
        } else if (sscanf(line, "bars %31s", b) == 1) {
            unsigned m[6];
            pci_sid_t sid;
            struct capture_blob *cfg;
            if (pci_sid_parse(b, &sid) != 0 ||
                sscanf(line, "bars %*s %x %x %x %x %x %x", &m[0], &m[1], &m[2], &m[3], &m[4],
                       &m[5]) != 6 ||
                (cfg = capture_cfg(c, sid)) == NULL) {
                die("bad bars line in manifest", b);
            }
            for (int i = 0; i < 6; i++) {
                cfg->bar_mask[i] = m[i];
            }
            continue;
        } else {
            (void)kind;
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s/%s", PC_TEST_DATA_DIR, variant, file);
        bl->data = capture_read_file(path, &bl->len);
        c->n++;
    }
    fclose(m);
    c->bios = calloc(1, CAPTURE_BIOS_LEN);
    for (size_t i = 0; i < c->n; i++) {
        struct capture_blob *bl = &c->blobs[i];
        if (bl->kind == CAPTURE_RSDP && bl->pa >= CAPTURE_BIOS_START &&
            bl->pa + bl->len <= CAPTURE_BIOS_START + CAPTURE_BIOS_LEN) {
            memcpy(c->bios + (bl->pa - CAPTURE_BIOS_START), bl->data, bl->len);
        }
    }
}

void capture_free(struct capture *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->blobs[i].data);
    }
    free(c->bios);
    c->n = 0;
}

struct capture_blob *capture_table(struct capture *c, const char *sig)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->blobs[i].kind != CAPTURE_CFG && strcmp(c->blobs[i].sig, sig) == 0) {
            return &c->blobs[i];
        }
    }
    return NULL;
}

struct capture_blob *capture_cfg(struct capture *c, pci_sid_t sid)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->blobs[i].kind == CAPTURE_CFG && c->blobs[i].sid == sid) {
            return &c->blobs[i];
        }
    }
    return NULL;
}

static const void *phys_map(void *ctx, uint64_t pa, size_t len)
{
    struct capture *c = ctx;
    if (pa >= CAPTURE_BIOS_START && len <= CAPTURE_BIOS_LEN &&
        pa - CAPTURE_BIOS_START <= CAPTURE_BIOS_LEN - len) {
        c->maps++;
        return c->bios + (pa - CAPTURE_BIOS_START);
    }
    for (size_t i = 0; i < c->n; i++) {
        struct capture_blob *bl = &c->blobs[i];
        if (bl->kind == CAPTURE_CFG || pa < bl->pa) {
            continue;
        }
        if (len <= bl->len && pa - bl->pa <= bl->len - len) {
            c->maps++;
            return bl->data + (pa - bl->pa);
        }
    }
    return NULL;
}

static void phys_unmap(void *ctx, const void *va, size_t len)
{
    struct capture *c = ctx;
    (void)va;
    (void)len;
    c->unmaps++;
}

void capture_phys(struct capture *c, struct acpi_phys *phys)
{
    phys->ctx = c;
    phys->map = phys_map;
    phys->unmap = phys_unmap;
}

void acpi_fix_checksum(uint8_t *t, size_t len)
{
    uint8_t s = 0;
    t[9] = 0;
    for (size_t i = 0; i < len; i++) {
        s = (uint8_t)(s + t[i]);
    }
    t[9] = (uint8_t)(0x100 - s);
}

/* ---- fake ECAM ---- */

struct fake_fn *fake_ecam_fn(struct fake_ecam *f, pci_sid_t sid)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->fns[i].sid == sid) {
            return &f->fns[i];
        }
    }
    return NULL;
}

static struct fake_fn *decode(struct fake_ecam *f, uint64_t off, uint16_t *reg)
{
    uint64_t bus = (off >> 20) + f->bus_start;
    if (bus > f->bus_end) {
        return NULL;
    }
    *reg = (uint16_t)(off & 0xfff);
    struct fake_fn *fn = fake_ecam_fn(f, PCI_SID(bus, (off >> 15) & 0x1f, (off >> 12) & 7));
    return fn && fn->present ? fn : NULL;
}

static uint32_t fake_read(void *ctx, uint64_t off, unsigned width)
{
    struct fake_ecam *f = ctx;
    uint16_t reg;
    f->reads++;
    struct fake_fn *fn = decode(f, off, &reg);
    if (!fn) {
        return 0xffffffffu;
    }
    return fake_fn_get(fn, reg, width);
}

static void fake_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    struct fake_ecam *f = ctx;
    uint16_t reg;
    f->writes++;
    struct fake_fn *fn = decode(f, off, &reg);
    if (!fn) {
        return;
    }
    for (unsigned i = 0; i < width; i++) {
        uint8_t v = (uint8_t)(val >> (8 * i)), old = fn->cfg[reg + i];
        uint8_t nv = (uint8_t)((old & ~fn->wmask[reg + i]) | (v & fn->wmask[reg + i]));
        nv = (uint8_t)(nv & ~(v & fn->w1c[reg + i]));
        fn->cfg[reg + i] = nv;
    }
    if (fn->on_write) {
        fn->on_write(f, fn, reg, width, val);
    }
}

static uint64_t clock_now(void *ctx)
{
    return ((struct fake_ecam *)ctx)->now_ns;
}
static void clock_relax(void *ctx)
{
    struct fake_ecam *f = ctx;
    f->now_ns += f->clock_step_ns;
    f->relaxes++;
}

void fake_ecam_init(struct fake_ecam *f, uint8_t bus_start, uint8_t bus_end)
{
    memset(f, 0, sizeof(*f));
    f->bus_start = bus_start;
    f->bus_end = bus_end;
    f->mmio.ctx = f;
    f->mmio.read = fake_read;
    f->mmio.write = fake_write;
    f->clock_step_ns = 1000;
    f->clock.ctx = f;
    f->clock.now_ns = clock_now;
    f->clock.relax = clock_relax;
    if (pci_ecam_init(&f->ecam, &f->mmio, 0, bus_start, bus_end) != PCI_OK) {
        die("pci_ecam_init", NULL);
    }
}

void fake_fn_set(struct fake_fn *fn, uint16_t off, unsigned width, uint32_t val)
{
    for (unsigned i = 0; i < width; i++) {
        fn->cfg[off + i] = (uint8_t)(val >> (8 * i));
    }
}

uint32_t fake_fn_get(const struct fake_fn *fn, uint16_t off, unsigned width)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < width; i++) {
        v |= (uint32_t)fn->cfg[off + i] << (8 * i);
    }
    return v;
}

void fake_fn_wmask(struct fake_fn *fn, uint16_t off, unsigned width, uint32_t mask)
{
    for (unsigned i = 0; i < width; i++) {
        fn->wmask[off + i] = (uint8_t)(mask >> (8 * i));
    }
}

void fake_fn_w1c(struct fake_fn *fn, uint16_t off, unsigned width, uint32_t mask)
{
    for (unsigned i = 0; i < width; i++) {
        fn->w1c[off + i] = (uint8_t)(mask >> (8 * i));
    }
}

void fake_fn_bar_size(struct fake_fn *fn, unsigned idx, uint64_t size)
{
    uint16_t off = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * idx);
    uint32_t lo = fake_fn_get(fn, off, 4);
    uint64_t mask = ~(size - 1);
    if (lo & PCI_BAR_SPACE_IO) {
        fake_fn_wmask(fn, off, 4, (uint32_t)mask & PCI_BAR_IO_MASK);
    } else {
        fake_fn_wmask(fn, off, 4, (uint32_t)mask & PCI_BAR_MEM_MASK);
        if ((lo & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64) {
            fake_fn_wmask(fn, (uint16_t)(off + 4), 4, (uint32_t)(mask >> 32));
        }
    }
}

struct fake_fn *fake_ecam_add(struct fake_ecam *f, pci_sid_t sid, const uint8_t *image)
{
    if (f->n == FAKE_MAX_FNS) {
        die("fake ECAM full", NULL);
    }
    struct fake_fn *fn = &f->fns[f->n++];
    memset(fn, 0, sizeof(*fn));
    fn->sid = sid;
    fn->present = true;
    memcpy(fn->cfg, image, sizeof(fn->cfg));
    fake_fn_wmask(fn, PCI_COMMAND, 2, 0x0547);
    if ((fn->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE) {
        fake_fn_wmask(fn, PCI_PRIMARY_BUS, 4, 0xffffffffu);
    }
    return fn;
}

void fake_ecam_add_capture(struct fake_ecam *f, struct capture *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct capture_blob *bl = &c->blobs[i];
        if (bl->kind != CAPTURE_CFG || bl->len != 4096) {
            continue;
        }
        struct fake_fn *fn = fake_ecam_add(f, bl->sid, bl->data);
        bool upper = false; /* this slot is the high half of a 64-bit memory BAR */
        for (unsigned b = 0; b < 6; b++) {
            uint16_t off = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * b);
            uint32_t v = fake_fn_get(fn, off, 4), m = bl->bar_mask[b];
            if (upper) {
                fake_fn_wmask(fn, off, 4, m);
                upper = false;
            } else if (m != 0) {
                fake_fn_wmask(fn, off, 4,
                              m & ((v & PCI_BAR_SPACE_IO) ? PCI_BAR_IO_MASK : PCI_BAR_MEM_MASK));
                upper =
                    !(v & PCI_BAR_SPACE_IO) && (v & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64;
            }
        }
    }
}
