/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * RSDP discovery, the RSDT/XSDT walk and table mapping. This is the only file that touches
 * physical memory, and only through the caller's map callback: every range is length-checked
 * (no wrap-around, bounded size) before it is requested, and a table is re-validated after it
 * has been mapped in full.
 */
#include <acpi/acpi.h>

#include "bytes.h"

#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
/* RSDP fields (ACPI 5.2.5.3) */
#define RSDP_CHECKSUM 8
#define RSDP_OEMID 9
#define RSDP_REVISION 15
#define RSDP_RSDT 16
#define RSDP_LENGTH 20
#define RSDP_XSDT 24

#define BIOS_AREA_START 0xe0000u
#define BIOS_AREA_END 0x100000u

const char *acpi_err_str(int err)
{
    switch (err) {
    case ACPI_OK:
        return "ok";
    case ACPI_ERR_NOT_FOUND:
        return "not found";
    case ACPI_ERR_MAP:
        return "cannot map";
    case ACPI_ERR_SIGNATURE:
        return "bad signature";
    case ACPI_ERR_CHECKSUM:
        return "bad checksum";
    case ACPI_ERR_LENGTH:
        return "bad length";
    case ACPI_ERR_MALFORMED:
        return "malformed";
    case ACPI_ERR_NOSPACE:
        return "output array too small";
    case ACPI_ERR_INVALID:
        return "invalid argument";
    case ACPI_ERR_UNRESOLVED:
        return "scope path unresolved";
    case ACPI_ERR_LOOP:
        return "scope path loops";
    default:
        return "unknown error";
    }
}

static bool sig_eq(const uint8_t *p, const char *sig, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (uint8_t)sig[i]) {
            return false;
        }
    }
    return true;
}

int acpi_rsdp_parse(const void *buf, size_t len, uint64_t pa, struct acpi_rsdp *out)
{
    const uint8_t *p = buf;
    if (p == NULL || out == NULL) {
        return ACPI_ERR_INVALID;
    }
    if (len < RSDP_V1_LEN) {
        return ACPI_ERR_LENGTH;
    }
    if (!sig_eq(p, "RSD PTR ", 8)) {
        return ACPI_ERR_SIGNATURE;
    }
    if (acpi_sum(p, RSDP_V1_LEN) != 0) {
        return ACPI_ERR_CHECKSUM;
    }
    uint8_t rev = p[RSDP_REVISION];
    uint64_t xsdt = 0;
    if (rev >= 2) {
        if (len < RSDP_V2_LEN) {
            return ACPI_ERR_LENGTH;
        }
        uint32_t l = acpi_le32(p + RSDP_LENGTH);
        if (l < RSDP_V2_LEN || l > len) {
            return ACPI_ERR_LENGTH;
        }
        if (acpi_sum(p, l) != 0) {
            return ACPI_ERR_CHECKSUM;
        }
        xsdt = acpi_le64(p + RSDP_XSDT);
    }
    out->pa = pa;
    out->revision = rev;
    for (int i = 0; i < 6; i++) {
        out->oem_id[i] = (char)p[RSDP_OEMID + i];
    }
    out->oem_id[6] = '\0';
    out->rsdt_pa = acpi_le32(p + RSDP_RSDT);
    out->xsdt_pa = xsdt;
    return ACPI_OK;
}

int acpi_rsdp_find(const struct acpi_phys *phys, struct acpi_rsdp *out)
{
    if (phys == NULL || phys->map == NULL || out == NULL) {
        return ACPI_ERR_INVALID;
    }
    size_t area = BIOS_AREA_END - BIOS_AREA_START;
    const uint8_t *p = phys->map(phys->ctx, BIOS_AREA_START, area);
    if (p == NULL) {
        return ACPI_ERR_MAP;
    }
    int err = ACPI_ERR_NOT_FOUND;
    for (size_t off = 0; off + RSDP_V1_LEN <= area; off += 16) {
        if (acpi_rsdp_parse(p + off, area - off, BIOS_AREA_START + off, out) == ACPI_OK) {
            err = ACPI_OK;
            break;
        }
    }
    if (phys->unmap) {
        phys->unmap(phys->ctx, p, area);
    }
    return err;
}

int acpi_table_check(const void *buf, size_t len, const char *sig, uint32_t *table_len)
{
    const uint8_t *p = buf;
    if (p == NULL) {
        return ACPI_ERR_INVALID;
    }
    if (len < ACPI_HEADER_SIZE) {
        return ACPI_ERR_LENGTH;
    }
    if (sig != NULL && !sig_eq(p, sig, 4)) {
        return ACPI_ERR_SIGNATURE;
    }
    uint32_t l = acpi_le32(p + ACPI_HDR_LENGTH);
    if (l < ACPI_HEADER_SIZE || l > len) {
        return ACPI_ERR_LENGTH;
    }
    if (acpi_sum(p, l) != 0) {
        return ACPI_ERR_CHECKSUM;
    }
    if (table_len) {
        *table_len = l;
    }
    return ACPI_OK;
}

static bool range_ok(uint64_t pa, uint64_t len)
{
    return len != 0 && pa <= UINT64_MAX - (len - 1);
}

int acpi_table_map(const struct acpi_phys *phys, uint64_t pa, const char *sig,
                   struct acpi_table *out)
{
    if (phys == NULL || phys->map == NULL || out == NULL) {
        return ACPI_ERR_INVALID;
    }
    if (pa == 0 || !range_ok(pa, ACPI_HEADER_SIZE)) {
        return ACPI_ERR_MAP;
    }
    const uint8_t *h = phys->map(phys->ctx, pa, ACPI_HEADER_SIZE);
    if (h == NULL) {
        return ACPI_ERR_MAP;
    }
    bool sig_ok = sig == NULL || sig_eq(h, sig, 4);
    uint32_t len = acpi_le32(h + ACPI_HDR_LENGTH);
    if (phys->unmap) {
        phys->unmap(phys->ctx, h, ACPI_HEADER_SIZE);
    }
    if (!sig_ok) {
        return ACPI_ERR_SIGNATURE;
    }
    if (len < ACPI_HEADER_SIZE || len > ACPI_TABLE_MAX_LEN || !range_ok(pa, len)) {
        return ACPI_ERR_LENGTH;
    }
    const uint8_t *t = phys->map(phys->ctx, pa, len);
    if (t == NULL) {
        return ACPI_ERR_MAP;
    }
    /* Checked again on the full mapping: firmware memory may change between the two maps. */
    uint32_t checked;
    int err = acpi_table_check(t, len, sig, &checked);
    if (err != ACPI_OK) {
        if (phys->unmap) {
            phys->unmap(phys->ctx, t, len);
        }
        return err;
    }
    out->data = t;
    out->len = checked;
    out->mapped_len = len;
    return ACPI_OK;
}

void acpi_table_unmap(const struct acpi_phys *phys, struct acpi_table *t)
{
    if (phys != NULL && phys->unmap != NULL && t != NULL && t->data != NULL) {
        phys->unmap(phys->ctx, t->data, t->mapped_len);
    }
    if (t != NULL) {
        t->data = NULL;
        t->len = 0;
        t->mapped_len = 0;
    }
}

static void describe_entry(const struct acpi_phys *phys, uint64_t pa, struct acpi_table_ref *ref)
{
    struct acpi_table t;
    ref->pa = pa;
    ref->len = 0;
    for (int i = 0; i < 4; i++) {
        ref->sig[i] = '?';
    }
    ref->sig[4] = '\0';
    if (pa == 0 || !range_ok(pa, ACPI_HEADER_SIZE)) {
        ref->err = ACPI_ERR_MAP;
        return;
    }
    const uint8_t *h = phys->map(phys->ctx, pa, ACPI_HEADER_SIZE);
    if (h == NULL) {
        ref->err = ACPI_ERR_MAP;
        return;
    }
    for (int i = 0; i < 4; i++) {
        ref->sig[i] = (char)h[i];
    }
    if (phys->unmap) {
        phys->unmap(phys->ctx, h, ACPI_HEADER_SIZE);
    }
    ref->err = acpi_table_map(phys, pa, NULL, &t);
    if (ref->err == ACPI_OK) {
        ref->len = t.len;
        acpi_table_unmap(phys, &t);
    }
}

int acpi_root_walk(const struct acpi_phys *phys, const struct acpi_rsdp *rsdp,
                   struct acpi_table_ref *refs, size_t cap, size_t *count)
{
    if (phys == NULL || phys->map == NULL || rsdp == NULL || count == NULL ||
        (refs == NULL && cap != 0)) {
        return ACPI_ERR_INVALID;
    }
    bool use_xsdt = rsdp->revision >= 2 && rsdp->xsdt_pa != 0;
    size_t esize = use_xsdt ? 8 : 4;
    struct acpi_table root;
    int err = acpi_table_map(phys, use_xsdt ? rsdp->xsdt_pa : rsdp->rsdt_pa,
                             use_xsdt ? "XSDT" : "RSDT", &root);
    if (err != ACPI_OK) {
        return err;
    }
    size_t body = root.len - ACPI_HEADER_SIZE;
    if (body % esize != 0) {
        acpi_table_unmap(phys, &root);
        return ACPI_ERR_LENGTH;
    }
    size_t n = body / esize;
    for (size_t i = 0; i < n && i < cap; i++) {
        const uint8_t *e = root.data + ACPI_HEADER_SIZE + i * esize;
        describe_entry(phys, use_xsdt ? acpi_le64(e) : acpi_le32(e), &refs[i]);
    }
    acpi_table_unmap(phys, &root);
    *count = n;
    return n > cap ? ACPI_ERR_NOSPACE : ACPI_OK;
}

int acpi_find_ref(const struct acpi_table_ref *refs, size_t count, const char *sig, unsigned n)
{
    if (refs == NULL || sig == NULL) {
        return -1;
    }
    for (size_t i = 0; i < count && i < (size_t)INT32_MAX; i++) {
        if (refs[i].err == ACPI_OK && sig_eq((const uint8_t *)refs[i].sig, sig, 4)) {
            if (n == 0) {
                return (int)i;
            }
            n--;
        }
    }
    return -1;
}
