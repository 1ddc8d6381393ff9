/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checks, from an unprivileged task, the grants the IOMMU and hotplug servers will live on: the
 * VT-d register page of every DMAR unit is mapped and answers like VT-d (version, capabilities,
 * translation still off), the copy of the ACPI DMAR table is intact (signature, length, checksum),
 * every PCI-to-PCI bridge's config page is mapped and reads as that bridge, and an MSI vector
 * came with its address and data.
 */
#include <stdio.h>
#include <string.h>

#include <ktest/ktest.h>

#define VTD_VER_REG 0x000       /* Version */
#define VTD_CAP_REG 0x008       /* Capability */
#define VTD_GSTS_REG 0x01c      /* Global Status */
#define VTD_GSTS_TES (1u << 31) /* Translation Enable Status */

int main(void)
{
    const task_start_info_t *si = kt_start();

    const task_cap_t *u = task_cap_find(si, "dmar0");
    if (u != NULL && u->kind == TASK_CAP_DEVICE_REGION && u->vaddr != 0) {
        volatile uint8_t *regs = (volatile uint8_t *)(uintptr_t)u->vaddr;
        uint32_t ver = *(volatile uint32_t *)(regs + VTD_VER_REG);
        uint64_t cap = *(volatile uint64_t *)(regs + VTD_CAP_REG);
        uint32_t gsts = *(volatile uint32_t *)(regs + VTD_GSTS_REG);
        kt_result("grant_dmar_unit_registers_mapped",
                  (ver >> 4) >= 1 && cap != 0 && cap != ~0ull && !(gsts & VTD_GSTS_TES),
                  "(unit at %#llx: VER %#x CAP %#llx GSTS %#x)", (unsigned long long)u->paddr, ver,
                  (unsigned long long)cap, gsts);
    } else {
        kt_result("grant_dmar_unit_registers_mapped", false, "(no dmar0 region)");
    }

    const task_cap_t *t = task_cap_find(si, "dmar_table");
    if (t != NULL && t->kind == TASK_CAP_MEMORY_REGION && t->vaddr != 0 && t->size >= 48) {
        const uint8_t *d = (const uint8_t *)(uintptr_t)t->vaddr;
        uint32_t len;
        memcpy(&len, d + 4, 4);
        uint8_t sum = 0;
        for (uint64_t i = 0; i < t->size; i++) {
            sum = (uint8_t)(sum + d[i]);
        }
        kt_result("grant_acpi_dmar_copy_intact",
                  memcmp(d, "DMAR", 4) == 0 && len == t->size && sum == 0,
                  "(%llu bytes, length field %u, checksum %s)", (unsigned long long)t->size, len,
                  sum ? "bad" : "ok");
    } else {
        kt_result("grant_acpi_dmar_copy_intact", false, "(no dmar_table region)");
    }

    unsigned ports = 0, good = 0;
    for (unsigned i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof(name), "port%u", i);
        const task_cap_t *p = task_cap_find(si, name);
        if (p == NULL) {
            break;
        }
        ports++;
        volatile uint8_t *cfg = (volatile uint8_t *)(uintptr_t)p->vaddr;
        uint16_t vendor = *(volatile uint16_t *)cfg;
        uint8_t header = cfg[0x0e] & 0x7f;
        uint16_t cls = *(volatile uint16_t *)(cfg + 0x0a);
        if (vendor != 0xffff && vendor != 0 && header == 1 && cls == 0x0604 &&
            p->arg1 >> 8 == 0x0604) {
            good++;
        }
    }
    kt_result("grant_root_port_config_pages_mapped", ports >= 1 && good == ports,
              "(%u bridge config pages, %u read as bridges)", ports, good);

    const task_cap_t *m = task_cap_find(si, "fault_msi");
    kt_result("grant_msi_vector_without_device",
              m != NULL && m->kind == TASK_CAP_MSI && m->slot != 0 && m->aux_slot != 0 &&
                  (m->arg1 & 0xfff00000ull) == 0xfee00000ull,
              "(vector %llu address %#llx data %#llx)", m ? (unsigned long long)m->arg0 : 0ull,
              m ? (unsigned long long)m->arg1 : 0ull, m ? (unsigned long long)m->arg2 : 0ull);
    kt_finish();
}
