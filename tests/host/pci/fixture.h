/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test fixture shared by the libacpi and libpci host tests (and usable by other components'
 * tests): loads the QEMU captures under tests/data/, serves the ACPI tables back through a
 * struct acpi_phys at their physical addresses, and backs a struct pci_ecam with mutable 4 KiB
 * config images that behave like a device: per-byte write masks, RW1C bits, removal, and a
 * write hook for side effects (command completion, PRI stop...). A virtual clock gives the
 * library's deadlines something to run against.
 */
#ifndef PC_TEST_FIXTURE_H
#define PC_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <acpi/acpi.h>
#include <pci/pci.h>

/* ---- captured data ---- */

enum capture_kind { CAPTURE_RSDP, CAPTURE_TABLE, CAPTURE_CFG };

struct capture_blob {
    enum capture_kind kind;
    char sig[5];
    uint64_t pa;
    pci_sid_t sid;
    size_t len;
    uint8_t *data;
    /* config images: BAR read-back after writing all-ones, as the probe measured it */
    uint32_t bar_mask[6];
};

#define CAPTURE_MAX_BLOBS 64
#define CAPTURE_BIOS_START 0xe0000u
#define CAPTURE_BIOS_LEN 0x20000u

struct capture {
    struct capture_blob blobs[CAPTURE_MAX_BLOBS];
    size_t n;
    uint8_t *bios; /* 0xE0000-0xFFFFF with the RSDP at its captured address */
    unsigned maps, unmaps;
};

/* Loads tests/data/<variant>/MANIFEST and its blobs; aborts the test program on failure. */
void capture_load(struct capture *c, const char *variant);
void capture_free(struct capture *c);
/* The blob for a table signature / a config image; NULL if the capture has none. */
struct capture_blob *capture_table(struct capture *c, const char *sig);
struct capture_blob *capture_cfg(struct capture *c, pci_sid_t sid);
/* Reads a whole file (for fuzz seeds etc.); returns malloc'd data. */
uint8_t *capture_read_file(const char *path, size_t *len);

/* struct acpi_phys serving the capture: map succeeds only inside one blob (or the BIOS area). */
void capture_phys(struct capture *c, struct acpi_phys *phys);

/* Recomputes the ACPI checksum byte of a table after a test modified it. */
void acpi_fix_checksum(uint8_t *table, size_t len);

/* ---- fake ECAM ---- */

#define FAKE_MAX_FNS 32

struct fake_ecam;
struct fake_fn {
    pci_sid_t sid;
    bool present;
    uint8_t cfg[4096];
    uint8_t wmask[4096]; /* 1 bits are writable */
    uint8_t w1c[4096];   /* 1 bits clear when written with 1 */
    /* Called after every write that reached this function. */
    void (*on_write)(struct fake_ecam *f, struct fake_fn *fn, uint16_t off, unsigned width,
                     uint32_t val);
};

struct fake_ecam {
    struct fake_fn fns[FAKE_MAX_FNS];
    size_t n;
    uint8_t bus_start, bus_end;
    unsigned reads, writes;
    struct pci_mmio mmio;
    struct pci_ecam ecam;
    /* virtual clock: advances clock_step_ns per relax() */
    uint64_t now_ns, clock_step_ns;
    unsigned relaxes;
    struct pci_clock clock;
    void *user;
};

/* Empty fake ECAM over buses bus_start..bus_end, segment 0. */
void fake_ecam_init(struct fake_ecam *f, uint8_t bus_start, uint8_t bus_end);
/* Adds a function with the given image (4096 bytes) and the default writable set: Command,
 * bridge bus numbers; nothing else until the test opens it with fake_fn_wmask. */
struct fake_fn *fake_ecam_add(struct fake_ecam *f, pci_sid_t sid, const uint8_t *image);
/* Adds every config image of a capture, with the BARs' writable bits set from the captured
 * size masks, so BAR sizing sees QEMU's real sizes. */
void fake_ecam_add_capture(struct fake_ecam *f, struct capture *c);
struct fake_fn *fake_ecam_fn(struct fake_ecam *f, pci_sid_t sid);
void fake_fn_wmask(struct fake_fn *fn, uint16_t off, unsigned width, uint32_t mask);
void fake_fn_w1c(struct fake_fn *fn, uint16_t off, unsigned width, uint32_t mask);
/* Makes BAR idx size bytes large (memory BARs: low 4 bits read-only; I/O: low 2). */
void fake_fn_bar_size(struct fake_fn *fn, unsigned idx, uint64_t size);
void fake_fn_set(struct fake_fn *fn, uint16_t off, unsigned width, uint32_t val);
uint32_t fake_fn_get(const struct fake_fn *fn, uint16_t off, unsigned width);

#endif /* PC_TEST_FIXTURE_H */
