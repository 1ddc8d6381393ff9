/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ATS policy (iommu/ats.h): what the DMAR's ATSR and SATC structures allow, and the decision
 * for one device. No hardware access here; the server finds where a device sits (server.c).
 */
#include <stddef.h>

#include <acpi/acpi.h>
#include <iommu/ats.h>

const char *iommu_ats_verdict_str(enum iommu_ats_verdict v)
{
    switch (v) {
    case IOMMU_ATS_UNDECIDED:
        return "no ATS capability";
    case IOMMU_ATS_REFUSED_NO_ATSR:
        return "no ATSR for its segment: no root port supports ATS";
    case IOMMU_ATS_REFUSED_PORT_NOT_LISTED:
        return "its root port is in no ATSR";
    case IOMMU_ATS_REFUSED_NO_PORT:
        return "no root port found above it";
    case IOMMU_ATS_REFUSED_NOT_IN_SATC:
        return "integrated device not listed in a SATC";
    case IOMMU_ATS_ALLOWED_PORT:
        return "its root port is listed in an ATSR";
    case IOMMU_ATS_ALLOWED_ALL_PORTS:
        return "ATSR ALL_PORTS";
    case IOMMU_ATS_ALLOWED_SATC:
        return "listed in a SATC";
    case IOMMU_ATS_REQUIRED_SATC:
        return "listed in a SATC with ATC_REQUIRED";
    }
    return "unknown";
}

void iommu_ats_policy_init(struct iommu_ats_policy *p, uint16_t segment)
{
    *p = (struct iommu_ats_policy){.segment = segment};
}

void iommu_ats_policy_allow_all_ports(struct iommu_ats_policy *p)
{
    p->atsr = true;
    p->all_ports = true;
}

bool iommu_ats_policy_add_port(struct iommu_ats_policy *p, uint16_t root_port)
{
    p->atsr = true; /* an ATSR listing no usable port still says the segment has one */
    for (unsigned i = 0; i < p->n_ports; i++) {
        if (p->port[i] == root_port) {
            return true;
        }
    }
    if (p->n_ports >= IOMMU_ATS_MAX_PORTS) {
        return false;
    }
    p->port[p->n_ports++] = root_port;
    return true;
}

bool iommu_ats_policy_add_integrated(struct iommu_ats_policy *p, uint16_t sid, bool atc_required)
{
    for (unsigned i = 0; i < p->n_integrated; i++) {
        if (p->integrated[i].sid == sid) {
            p->integrated[i].atc_required = p->integrated[i].atc_required || atc_required;
            return true;
        }
    }
    if (p->n_integrated >= IOMMU_ATS_MAX_INTEGRATED) {
        return false;
    }
    p->integrated[p->n_integrated].sid = sid;
    p->integrated[p->n_integrated].atc_required = atc_required;
    p->n_integrated++;
    return true;
}

/*
 * The source-id a one-hop PCI scope of `type` names, or false: a root port and an integrated
 * device both sit on a root bus, which is the scope's start bus.
 */
static bool one_hop_sid(const struct acpi_dmar *d, size_t index, uint8_t type, uint16_t *sid)
{
    if (index >= d->scope_count || index >= d->scope_cap || d->scopes == NULL) {
        return false;
    }
    const struct acpi_dmar_scope *sc = &d->scopes[index];
    if (sc->type != type || sc->path_len != 1 || sc->path[0].dev > 31 || sc->path[0].fn > 7) {
        return false;
    }
    *sid = (uint16_t)(sc->start_bus << 8 | sc->path[0].dev << 3 | sc->path[0].fn);
    return true;
}

/* Scopes [first, first + count) of one structure, or false if they are not all in d->scopes. */
static bool scopes_in_range(const struct acpi_dmar *d, size_t first, size_t count)
{
    return first <= d->scope_count && count <= d->scope_count - first;
}

/* One ATSR (satc false) or SATC of the policy's segment. */
static void add_structure(struct iommu_ats_policy *p, const struct acpi_dmar *d,
                          const struct acpi_dmar_atsr *a, bool satc)
{
    if (!satc) {
        p->atsr = true;
        if (a->flags & ACPI_DMAR_ATSR_ALL_PORTS) {
            iommu_ats_policy_allow_all_ports(p); /* its scopes, if any, add nothing */
            return;
        }
    }
    if (!scopes_in_range(d, a->scope_first, a->scope_count)) {
        p->ignored += a->scope_count ? 1u : 0u;
        return;
    }
    const uint8_t type = satc ? ACPI_DMAR_SCOPE_ENDPOINT : ACPI_DMAR_SCOPE_BRIDGE;
    const bool required = satc && (a->flags & ACPI_DMAR_SATC_ATC_REQUIRED) != 0;
    for (size_t k = 0; k < a->scope_count; k++) {
        uint16_t sid;
        bool kept = one_hop_sid(d, a->scope_first + k, type, &sid) &&
                    (satc ? iommu_ats_policy_add_integrated(p, sid, required)
                          : iommu_ats_policy_add_port(p, sid));
        if (!kept) {
            p->ignored++;
        }
    }
}

/* The ATSR or SATC list of the DMAR. One the parser could not complete (more than its array)
 * is not taken at all: nothing is allowed by a list that may be cut. */
static void add_list(struct iommu_ats_policy *p, const struct acpi_dmar *d,
                     const struct acpi_dmar_atsr *list, size_t count, size_t cap, bool satc)
{
    if (count > cap || (count > 0 && list == NULL)) {
        p->ignored++;
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (list[i].segment == p->segment) {
            add_structure(p, d, &list[i], satc);
        }
    }
}

void iommu_ats_policy_from_dmar(struct iommu_ats_policy *p, const struct acpi_dmar *d,
                                uint16_t segment)
{
    iommu_ats_policy_init(p, segment);
    if (d != NULL) {
        add_list(p, d, d->atsrs, d->atsr_count, d->atsr_cap, false);
        add_list(p, d, d->satcs, d->satc_count, d->satc_cap, true);
    }
}

enum iommu_ats_verdict iommu_ats_decide(const struct iommu_ats_policy *p, uint16_t sid,
                                        int root_port, bool integrated)
{
    if (integrated) {
        /* VT-d 8.8: integrated devices with an ATC are the ones a SATC lists; ATSRs are about
         * root ports, which an integrated device is not below. */
        for (unsigned i = 0; i < p->n_integrated; i++) {
            if (p->integrated[i].sid == sid) {
                return p->integrated[i].atc_required ? IOMMU_ATS_REQUIRED_SATC
                                                     : IOMMU_ATS_ALLOWED_SATC;
            }
        }
        return IOMMU_ATS_REFUSED_NOT_IN_SATC;
    }
    if (root_port < 0 || root_port > 0xffff) {
        return IOMMU_ATS_REFUSED_NO_PORT;
    }
    /* VT-d 8.5: no ATSR for the segment means none of its root ports supports ATS. */
    if (!p->atsr) {
        return IOMMU_ATS_REFUSED_NO_ATSR;
    }
    if (p->all_ports) {
        return IOMMU_ATS_ALLOWED_ALL_PORTS;
    }
    for (unsigned i = 0; i < p->n_ports; i++) {
        if (p->port[i] == (uint16_t)root_port) {
            return IOMMU_ATS_ALLOWED_PORT;
        }
    }
    return IOMMU_ATS_REFUSED_PORT_NOT_LISTED;
}
