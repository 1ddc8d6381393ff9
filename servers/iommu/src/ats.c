/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The server's ATS policy: what the DMAR's ATSR and SATC structures report for segment 0 (the
 * only segment whose units the server takes over) goes to libiommu, which decides every device
 * when it arrives. Also the log line for an attach that leaves a capable device without ATS.
 */
#include <stdio.h>

#include <acpi/acpi.h>
#include <iommu/server.h>

#include "iommu_srv.h"

void srv_ats_start(struct iommu_server *s, const struct acpi_dmar *d)
{
    struct iommu_ats_policy p;
    iommu_ats_policy_from_dmar(&p, d, 0);
    (void)iommu_server_set_ats_policy(s, &p);
    char ports[24];
    if (!p.atsr) {
        snprintf(ports, sizeof(ports), "none (no ATSR)");
    } else if (p.all_ports) {
        snprintf(ports, sizeof(ports), "all (ALL_PORTS)");
    } else {
        snprintf(ports, sizeof(ports), "%u listed", p.n_ports);
    }
    printf("iommu: ATS policy: root ports %s, %u integrated device(s) in a SATC, %u DMAR scope(s) "
           "ignored\n",
           ports, p.n_integrated, p.ignored);
    for (unsigned i = 0; i < p.n_ports; i++) {
        printf("iommu: ATS policy: root port %02x:%02x.%x\n", p.port[i] >> 8, (p.port[i] >> 3) & 31,
               p.port[i] & 7);
    }
    for (unsigned i = 0; i < p.n_integrated; i++) {
        uint16_t sid = p.integrated[i].sid;
        printf("iommu: ATS policy: integrated %02x:%02x.%x%s\n", sid >> 8, (sid >> 3) & 31, sid & 7,
               p.integrated[i].atc_required ? " (ATC required)" : "");
    }
    fflush(stdout);
}

void srv_ats_refused(void *ctx, uint16_t sid, const char *why)
{
    (void)ctx;
    printf("iommu: device %02x:%02x.%x attached without ATS: %s\n", sid >> 8, (sid >> 3) & 31,
           sid & 7, why);
    fflush(stdout);
}
