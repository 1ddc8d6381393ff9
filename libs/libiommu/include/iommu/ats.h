/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Which devices may use ATS (Intel VT-d 4.1, 8.5 ATSR and 8.8 SATC). A device that caches
 * translations needs a path that carries translation requests and device-TLB invalidations:
 * firmware reports the root ports that do (an ATSR of the segment listing them, or with
 * ALL_PORTS) and the SoC-integrated devices that have an address translation cache (a SATC).
 * A segment without an ATSR has no root port that supports ATS. The ATS capability of the device
 * and the unit's device-TLB support (ECAP.DT) are necessary as well; this is the platform's part.
 *
 * The policy is plain data built once from the parsed DMAR and the decision a pure function of
 * it, the device and where the device sits, so host tests cover every case. Firmware is not
 * trusted: scopes that cannot name a root port (resp. an integrated device) are ignored and
 * counted, never guessed at; whatever is not reported stays without ATS.
 */
#ifndef IOMMU_ATS_H
#define IOMMU_ATS_H

#include <stdbool.h>
#include <stdint.h>

struct acpi_dmar;

#define IOMMU_ATS_MAX_PORTS 16u      /* root ports listed by ATSRs of one segment */
#define IOMMU_ATS_MAX_INTEGRATED 16u /* devices listed by SATCs of one segment */

struct iommu_ats_policy {
    uint16_t segment;
    bool atsr;      /* the segment has an ATSR: some root port supports ATS */
    bool all_ports; /* ... one with ALL_PORTS: every root port does */
    unsigned n_ports;
    uint16_t port[IOMMU_ATS_MAX_PORTS]; /* source-ids of the listed root ports */
    unsigned n_integrated;
    struct {
        uint16_t sid;
        bool atc_required; /* SATC ATC_REQUIRED: the device does not work without ATS */
    } integrated[IOMMU_ATS_MAX_INTEGRATED];
    unsigned ignored; /* scopes (or whole tables) not usable: see iommu_ats_policy_from_dmar */
};

/* Why a device may or may not use ATS. 0 is a refusal: an undecided device never gets ATS. */
enum iommu_ats_verdict {
    IOMMU_ATS_UNDECIDED = 0,           /* no ATS capability, or not looked at */
    IOMMU_ATS_REFUSED_NO_ATSR,         /* below a root port; the segment has no ATSR */
    IOMMU_ATS_REFUSED_PORT_NOT_LISTED, /* its root port is in no ATSR scope */
    IOMMU_ATS_REFUSED_NO_PORT,         /* not integrated and no root port above it was found */
    IOMMU_ATS_REFUSED_NOT_IN_SATC,     /* integrated, listed in no SATC */
    IOMMU_ATS_ALLOWED_PORT,            /* below a root port an ATSR lists */
    IOMMU_ATS_ALLOWED_ALL_PORTS,       /* below a root port; the segment's ATSR has ALL_PORTS */
    IOMMU_ATS_ALLOWED_SATC,            /* integrated, listed in a SATC */
    IOMMU_ATS_REQUIRED_SATC,           /* the same with ATC_REQUIRED */
};

static inline bool iommu_ats_verdict_allows(enum iommu_ats_verdict v)
{
    return v >= IOMMU_ATS_ALLOWED_PORT && v <= IOMMU_ATS_REQUIRED_SATC;
}
/* One line of text for a log (never NULL). */
const char *iommu_ats_verdict_str(enum iommu_ats_verdict v);

/* An empty policy for `segment`: no ATSR, no SATC, every device refused. */
void iommu_ats_policy_init(struct iommu_ats_policy *p, uint16_t segment);
/* Adding what firmware reported. add_port / add_integrated: false if the table is full (the
 * entry is not added; the device it names stays without ATS). Duplicates are kept once. */
void iommu_ats_policy_allow_all_ports(struct iommu_ats_policy *p);
bool iommu_ats_policy_add_port(struct iommu_ats_policy *p, uint16_t root_port);
bool iommu_ats_policy_add_integrated(struct iommu_ats_policy *p, uint16_t sid, bool atc_required);

/*
 * The policy of `segment` from a DMAR that acpi_dmar_parse accepted (ACPI_OK): its ATSRs and
 * SATCs of that segment (other segments' are skipped). An ATSR with ALL_PORTS covers every root
 * port (its scopes, which the spec says to leave empty, are not looked at). Ignored, each adding
 * one to p->ignored: an ATSR scope that is not a PCI sub-hierarchy one hop from its start bus (a
 * root port sits on a root bus: a longer path cannot name one), a SATC scope that is not a PCI
 * endpoint one hop from its start bus (an integrated device sits on a root bus), a scope whose
 * indices lie outside d->scopes, an entry that finds its table full, and a whole ATSR or SATC
 * list whose count exceeds its array (an incomplete parse). d == NULL gives the empty policy.
 */
void iommu_ats_policy_from_dmar(struct iommu_ats_policy *p, const struct acpi_dmar *d,
                                uint16_t segment);

/*
 * The decision for device sid of the policy's segment. integrated: sid is on a root bus, not
 * below any root port (then root_port is not used). Otherwise root_port is the source-id of the
 * root port above it, or -1 if none was found.
 */
enum iommu_ats_verdict iommu_ats_decide(const struct iommu_ats_policy *p, uint16_t sid,
                                        int root_port, bool integrated);

#endif /* IOMMU_ATS_H */
