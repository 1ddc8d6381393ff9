/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DMAR parsing (Intel VT-d 4.1, chapter 8) and device-scope resolution. The IOMMU server builds
 * its unit list and its device-to-unit map from this, so a wrong answer here means a device
 * escapes isolation: the parser rejects any structure it cannot account for exactly, and when
 * the caller's arrays are too small it reports the sizes needed instead of a partial answer.
 */
#include <acpi/acpi.h>

#include "bytes.h"

#define DMAR_HAW 36 /* Host Address Width */
#define DMAR_FLAGS 37
#define DMAR_STRUCTS 48 /* after 10 reserved bytes */

#define RS_TYPE 0 /* remapping structure header: Type (16), Length (16) */
#define RS_LEN 2

/* Fixed part of each remapping structure; device scopes follow it. */
#define DRHD_FIXED 16 /* Flags, Size, Segment, Register Base Address */
#define RMRR_FIXED 24 /* Reserved, Segment, Base, Limit */
#define ATSR_FIXED 8  /* Flags, Reserved, Segment */
#define SATC_FIXED 8  /* Flags, Reserved, Segment */
#define RHSA_LEN 20   /* Reserved, Base, Proximity Domain */
#define ANDD_FIXED 8

/* Device Scope Structure (8.3.1) */
#define DS_TYPE 0
#define DS_LEN 1
#define DS_ENUM_ID 4
#define DS_START_BUS 5
#define DS_PATH 6
#define DS_MIN_LEN 8 /* header + one path entry */

#define PAGE_MASK 0xfffull

/* Parses the scopes in [p, p + len) into out->scopes starting at out->scope_count.
 * Returns ACPI_OK, ACPI_ERR_NOSPACE (nothing kept) or a malformation error. */
static int parse_scopes(const uint8_t *p, size_t len, struct acpi_dmar *out, size_t *first,
                        size_t *count, bool *dropped)
{
    size_t start = out->scope_count, n = 0;
    bool overflow = false;
    for (size_t off = 0; off < len;) {
        if (len - off < 2) {
            return ACPI_ERR_MALFORMED;
        }
        const uint8_t *s = p + off;
        uint8_t slen = s[DS_LEN];
        if (slen < DS_MIN_LEN || slen > len - off || (slen - DS_PATH) % 2 != 0) {
            return ACPI_ERR_MALFORMED;
        }
        size_t hops = (size_t)(slen - DS_PATH) / 2;
        if (hops > ACPI_DMAR_PATH_MAX) {
            return ACPI_ERR_MALFORMED;
        }
        struct acpi_dmar_scope sc = {.type = s[DS_TYPE],
                                     .enum_id = s[DS_ENUM_ID],
                                     .start_bus = s[DS_START_BUS],
                                     .path_len = (uint8_t)hops};
        if (sc.type == 0 || sc.type > ACPI_DMAR_SCOPE_NAMESPACE) {
            return ACPI_ERR_MALFORMED; /* reserved scope type */
        }
        for (size_t h = 0; h < hops; h++) {
            sc.path[h].dev = s[DS_PATH + 2 * h];
            sc.path[h].fn = s[DS_PATH + 2 * h + 1];
            if (sc.path[h].dev > 31 || sc.path[h].fn > 7) {
                return ACPI_ERR_MALFORMED;
            }
        }
        if (start + n < out->scope_cap) {
            out->scopes[start + n] = sc;
        } else {
            overflow = true;
        }
        n++;
        off += slen;
    }
    *count = n;
    if (overflow) {
        *dropped = true;
        return ACPI_ERR_NOSPACE;
    }
    out->scope_count = start + n;
    *first = start;
    *count = n;
    return ACPI_OK;
}

int acpi_dmar_parse(const void *buf, size_t len, struct acpi_dmar *out)
{
    uint32_t tlen;
    if (out == NULL || (out->drhds == NULL && out->drhd_cap) ||
        (out->rmrrs == NULL && out->rmrr_cap) || (out->atsrs == NULL && out->atsr_cap) ||
        (out->satcs == NULL && out->satc_cap) || (out->rhsas == NULL && out->rhsa_cap) ||
        (out->scopes == NULL && out->scope_cap)) {
        return ACPI_ERR_INVALID;
    }
    int err = acpi_table_check(buf, len, "DMAR", &tlen);
    if (err != ACPI_OK) {
        return err;
    }
    if (tlen < DMAR_STRUCTS) {
        return ACPI_ERR_LENGTH;
    }
    const uint8_t *t = buf;
    out->host_addr_width = t[DMAR_HAW];
    out->flags = t[DMAR_FLAGS];
    out->drhd_count = out->rmrr_count = out->atsr_count = out->satc_count = out->rhsa_count = 0;
    out->scope_count = out->andd_count = out->unknown_count = 0;
    bool dropped = false;
    size_t scope_total = 0;
    /* Segments that already had an INCLUDE_PCI_ALL unit; it must be the last DRHD there. We
     * track a small number of segments; more distinct catch-all segments are rejected. */
    uint16_t catchall[16];
    size_t ncatchall = 0;

    for (size_t off = DMAR_STRUCTS; off < tlen;) {
        if (tlen - off < 4) {
            return ACPI_ERR_MALFORMED;
        }
        const uint8_t *r = t + off;
        uint16_t type = acpi_le16(r + RS_TYPE), rlen = acpi_le16(r + RS_LEN);
        if (rlen < 4 || rlen > tlen - off) {
            return ACPI_ERR_MALFORMED; /* length 0 would never advance */
        }
        size_t first = 0, n = 0;
        switch (type) {
        case ACPI_DMAR_TYPE_DRHD: {
            if (rlen < DRHD_FIXED) {
                return ACPI_ERR_MALFORMED;
            }
            struct acpi_dmar_drhd d = {.flags = r[4],
                                       .size = r[5] & 0xf,
                                       .segment = acpi_le16(r + 6),
                                       .base = acpi_le64(r + 8)};
            if ((d.base & PAGE_MASK) != 0 || d.base == 0) {
                return ACPI_ERR_MALFORMED;
            }
            for (size_t i = 0; i < ncatchall; i++) {
                if (catchall[i] == d.segment) {
                    return ACPI_ERR_MALFORMED; /* DRHD after the segment's INCLUDE_PCI_ALL unit */
                }
            }
            if (d.flags & ACPI_DMAR_DRHD_INCLUDE_PCI_ALL) {
                if (ncatchall == sizeof(catchall) / sizeof(catchall[0])) {
                    return ACPI_ERR_MALFORMED;
                }
                catchall[ncatchall++] = d.segment;
            }
            err = parse_scopes(r + DRHD_FIXED, rlen - DRHD_FIXED, out, &first, &n, &dropped);
            scope_total += n;
            if (err != ACPI_OK && err != ACPI_ERR_NOSPACE) {
                return err;
            }
            d.scope_first = first;
            d.scope_count = n;
            if (err == ACPI_OK && out->drhd_count < out->drhd_cap) {
                out->drhds[out->drhd_count] = d;
            } else {
                dropped = true;
            }
            out->drhd_count++;
            break;
        }
        case ACPI_DMAR_TYPE_RMRR: {
            if (rlen < RMRR_FIXED) {
                return ACPI_ERR_MALFORMED;
            }
            struct acpi_dmar_rmrr m = {
                .segment = acpi_le16(r + 6), .base = acpi_le64(r + 8), .limit = acpi_le64(r + 16)};
            if ((m.base & PAGE_MASK) != 0 || m.limit < m.base ||
                (m.limit & PAGE_MASK) != PAGE_MASK) {
                return ACPI_ERR_MALFORMED;
            }
            err = parse_scopes(r + RMRR_FIXED, rlen - RMRR_FIXED, out, &first, &n, &dropped);
            scope_total += n;
            if (err != ACPI_OK && err != ACPI_ERR_NOSPACE) {
                return err;
            }
            m.scope_first = first;
            m.scope_count = n;
            if (err == ACPI_OK && out->rmrr_count < out->rmrr_cap) {
                out->rmrrs[out->rmrr_count] = m;
            } else {
                dropped = true;
            }
            out->rmrr_count++;
            break;
        }
        case ACPI_DMAR_TYPE_ATSR:
        case ACPI_DMAR_TYPE_SATC: {
            if (rlen < ATSR_FIXED) {
                return ACPI_ERR_MALFORMED;
            }
            struct acpi_dmar_atsr a = {.flags = r[4], .segment = acpi_le16(r + 6)};
            err = parse_scopes(r + ATSR_FIXED, rlen - ATSR_FIXED, out, &first, &n, &dropped);
            scope_total += n;
            if (err != ACPI_OK && err != ACPI_ERR_NOSPACE) {
                return err;
            }
            a.scope_first = first;
            a.scope_count = n;
            struct acpi_dmar_atsr *arr = type == ACPI_DMAR_TYPE_ATSR ? out->atsrs : out->satcs;
            size_t *cnt = type == ACPI_DMAR_TYPE_ATSR ? &out->atsr_count : &out->satc_count;
            size_t cap = type == ACPI_DMAR_TYPE_ATSR ? out->atsr_cap : out->satc_cap;
            if (err == ACPI_OK && *cnt < cap) {
                arr[*cnt] = a;
            } else {
                dropped = true;
            }
            (*cnt)++;
            break;
        }
        case ACPI_DMAR_TYPE_RHSA:
            if (rlen < RHSA_LEN) {
                return ACPI_ERR_MALFORMED;
            }
            if (out->rhsa_count < out->rhsa_cap) {
                out->rhsas[out->rhsa_count] =
                    (struct acpi_dmar_rhsa){acpi_le64(r + 8), acpi_le32(r + 16)};
            } else {
                dropped = true;
            }
            out->rhsa_count++;
            break;
        case ACPI_DMAR_TYPE_ANDD:
            if (rlen < ANDD_FIXED) {
                return ACPI_ERR_MALFORMED;
            }
            out->andd_count++;
            break;
        default:
            out->unknown_count++; /* newer structure types (e.g. SIDP): skipped by length */
            break;
        }
        off += rlen;
    }
    if (dropped) {
        out->scope_count = scope_total; /* how many the caller must provide room for */
        return ACPI_ERR_NOSPACE;
    }
    return ACPI_OK;
}

int acpi_dmar_scope_resolve(const struct acpi_dmar_scope *scope, uint16_t segment,
                            acpi_cfg_read32_fn read, void *ctx, pci_sid_t *sid, uint8_t *sec_bus,
                            uint8_t *sub_bus)
{
    if (scope == NULL || read == NULL || sid == NULL) {
        return ACPI_ERR_INVALID;
    }
    if (scope->type != ACPI_DMAR_SCOPE_ENDPOINT && scope->type != ACPI_DMAR_SCOPE_BRIDGE) {
        return ACPI_ERR_INVALID;
    }
    if (scope->path_len == 0 || scope->path_len > ACPI_DMAR_PATH_MAX) {
        return ACPI_ERR_MALFORMED;
    }
    unsigned bus = scope->start_bus;
    for (unsigned h = 0; h + 1 < scope->path_len; h++) {
        pci_sid_t b = PCI_SID(bus, scope->path[h].dev, scope->path[h].fn);
        uint32_t id = read(ctx, segment, b, 0x00);
        uint32_t hdr = read(ctx, segment, b, 0x0c); /* Header Type in byte 2 */
        if ((id & 0xffffu) == 0xffffu || ((hdr >> 16) & 0x7fu) != 0x01) {
            return ACPI_ERR_UNRESOLVED;
        }
        unsigned sec = (read(ctx, segment, b, 0x18) >> 8) & 0xffu; /* Secondary Bus Number */
        if (sec <= bus) {
            return ACPI_ERR_LOOP; /* bus numbers only grow downstream; this would revisit */
        }
        bus = sec;
    }
    const unsigned last = scope->path_len - 1u;
    pci_sid_t target = PCI_SID(bus, scope->path[last].dev, scope->path[last].fn);
    if (scope->type == ACPI_DMAR_SCOPE_BRIDGE && (sec_bus != NULL || sub_bus != NULL)) {
        uint32_t id = read(ctx, segment, target, 0x00), hdr = read(ctx, segment, target, 0x0c);
        if ((id & 0xffffu) == 0xffffu || ((hdr >> 16) & 0x7fu) != 0x01) {
            return ACPI_ERR_UNRESOLVED;
        }
        uint32_t buses = read(ctx, segment, target, 0x18);
        if (sec_bus) {
            *sec_bus = (uint8_t)(buses >> 8);
        }
        if (sub_bus) {
            *sub_bus = (uint8_t)(buses >> 16);
        }
    }
    *sid = target;
    return ACPI_OK;
}
