/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task's side of hot-plug: when the hotplug server has a new occupant of a slot
 * (it powered the slot on, the device answered config reads and the IOMMU server gave it fresh
 * state), it asks here who drives it (TASK_LABEL_HP_ASSIGN). Policy stays in the root task:
 *
 *  - the driver task that drove this source-id before and still runs (has not reported done)
 *    gets it again (re-grant):
 *    the device's BARs are programmed at the same addresses in the port's windows, so the
 *    mappings the task holds stay valid, and the task learns of the new occupant from the
 *    hotplug server (it must re-attach at the IOMMU server under the new generation);
 *  - otherwise a fresh instance of the role that drives vendor:device is started from the same
 *    boot module (the first task built for that role, started or skipped), after its BARs were
 *    programmed, exactly as if it had been there at boot; its command line gets `tag=hp<id>` so
 *    its TEST lines differ from the first instance's.
 *
 * A fresh instance is torn down once it reports done (its device went away and it released
 * everything: main.c, task_teardown): its memory and slots return and its task entry is reused by
 * the next fresh instance, so any number of hot-add/remove cycles cost nothing lasting. A live
 * driver is still re-granted its re-plugged device rather than replaced.
 * The reply hands the hotplug server a copy of the driver's interrupt notification (badge
 * INIT_HP_NOTIFY_BIT) so it can tell the driver about events without ever blocking on it.
 */
#include <stdio.h>
#include <string.h>

#include <hpsrv/protocol.h>
#include <init/init.h>
#include <init/iommu_link.h>
#include <pci/pci.h>
#include <task/protocol.h>

_Static_assert(INIT_HP_NOTIFY_BIT == HPS_NOTIFY_BIT, "the root task mints the bit drivers expect");

static void reply(pc_msg_t *m, pc_word_t err, const init_task_t *drv)
{
    m->mr[0] = err;
    m->mr[1] = drv != NULL ? drv->id : 0;
    unsigned caps = 0;
    if (err == PC_OK && drv != NULL && drv->hp_ntfn != 0) {
        pc_ipc_buffer()->caps_or_badges[0] = drv->hp_ntfn;
        caps = 1;
    }
    m->info = pc_msginfo(0, 0, caps, 2);
}

static bool drives(const init_task_t *t, uint16_t vendor, uint16_t device)
{
    return t->policy != NULL && t->policy->pci_vendor == vendor && t->policy->pci_device == device;
}

void hp_assign(init_task_t *caller, pc_msg_t *m)
{
    if (caller == NULL || caller->policy == NULL ||
        !(caller->policy->flags & ROLE_HOTPLUG_SERVER) || pc_msginfo_length(m->info) < 3) {
        reply(m, PC_ERR_INVALID_ARGUMENT, NULL);
        return;
    }
    uint64_t handle = m->mr[0];
    uint16_t sid = (uint16_t)handle;
    uint16_t vendor = (uint16_t)m->mr[1], device = (uint16_t)(m->mr[1] >> 16);
    uint16_t port = (uint16_t)m->mr[2];
    if ((handle >> 48) != 0 || (handle >> 16) == 0 || (m->mr[1] >> 32) != 0 ||
        (m->mr[2] >> 16) != 0 || port == sid) {
        reply(m, PC_ERR_INVALID_ARGUMENT, NULL);
        return;
    }

    /* 1. The hotplug server taking over a slot whose device was there at boot: the task built
     *    for it at boot is its driver, whatever it has done since. */
    for (unsigned i = 0; i < g_task_count; i++) {
        init_task_t *t = &g_tasks[i];
        if (t->pci_sid == (int)sid && drives(t, vendor, device) && t->hp_handle == 0 &&
            t->state != TASK_SKIPPED) {
            t->hp_handle = handle;
            reply(m, PC_OK, t);
            return;
        }
    }
    /* 2. The driver that had this function and still runs. */
    for (unsigned i = 0; i < g_task_count; i++) {
        init_task_t *t = &g_tasks[i];
        /* A driver that reported done has finished its work (and exited): not live. */
        if (t->pci_sid != (int)sid || !drives(t, vendor, device) || t->state != TASK_RUNNING) {
            continue;
        }
        if (t->hp_handle != 0 && t->hp_handle != handle) {
            /* A new occupant of a slot the task drove: its BARs are empty again. */
            int perr = pci_port_hotplug_add(port, sid, vendor, device);
            if (perr != PCI_OK) {
                printf("init: hotplug: %02x:%02x.%x BARs not assignable: %s\n", sid >> 8,
                       (sid >> 3) & 0x1f, sid & 7, pci_err_str(perr));
                reply(m, PC_ERR_RANGE, NULL);
                return;
            }
            (void)pci_port_claim(vendor, device); /* it stays with this task */
            printf("init: hotplug: %02x:%02x.%x (%04x:%04x, handle %#llx) re-granted to task %u "
                   "%s\n",
                   sid >> 8, (sid >> 3) & 0x1f, sid & 7, vendor, device, (unsigned long long)handle,
                   t->id, t->name);
        }
        t->hp_handle = handle;
        reply(m, PC_OK, t);
        return;
    }

    /* 3. A fresh instance of the role that drives it, from the same module. */
    const init_task_t *tmpl = NULL;
    for (unsigned i = 0; i < g_task_count && tmpl == NULL; i++) {
        if (drives(&g_tasks[i], vendor, device) && g_tasks[i].module != NULL) {
            tmpl = &g_tasks[i];
        }
    }
    if (tmpl == NULL) {
        printf("init: hotplug: no driver role for %04x:%04x at %02x:%02x.%x\n", vendor, device,
               sid >> 8, (sid >> 3) & 0x1f, sid & 7);
        reply(m, PC_ERR_FAILED_LOOKUP, NULL);
        return;
    }
    int perr = pci_port_hotplug_add(port, sid, vendor, device);
    if (perr != PCI_OK) {
        printf("init: hotplug: %02x:%02x.%x BARs not assignable: %s\n", sid >> 8, (sid >> 3) & 0x1f,
               sid & 7, pci_err_str(perr));
        reply(m, PC_ERR_RANGE, NULL);
        return;
    }
    /* The same module, its command line tagged so the instance's TEST lines stay distinct. */
    unsigned idx = g_task_count;
    for (unsigned i = 0; i < g_task_count; i++) {
        if (g_tasks[i].reclaimed && g_tasks[i].hp_fresh) {
            idx = i; /* an instance torn down before: its entry (and id) are free */
            break;
        }
    }
    if (idx >= INIT_MAX_TASKS) {
        reply(m, PC_ERR_RANGE, NULL);
        return;
    }
    /* one tag per instance (not per task entry, which a later instance may reuse) */
    static unsigned fresh_count;
    fresh_count++;
    char tag[24];
    snprintf(tag, sizeof(tag), "tag=hp%u",
             fresh_count == 1 ? idx + 1 : idx + 1 + 100 * (fresh_count - 1));
    printf("init: hotplug: starting a fresh instance: RAM free %llu KiB, root slots free %u\n",
           (unsigned long long)(ut_pool_ram_free(&g_pool) >> 10), init_free_slots());
    init_task_t *t = spawn_module_again(tmpl->module, idx, tag);
    if (t != NULL) {
        t->hp_fresh = true;
    }
    if (t == NULL || t->state != TASK_RUNNING || t->pci_sid != (int)sid) {
        printf("init: hotplug: no driver started for %02x:%02x.%x\n", sid >> 8, (sid >> 3) & 0x1f,
               sid & 7);
        reply(m, PC_ERR_FAILED_LOOKUP, NULL);
        return;
    }
    t->hp_handle = handle;
    iommu_link_send(); /* its device grant at the IOMMU server, as for drivers started at boot */
    printf("init: hotplug: %02x:%02x.%x (%04x:%04x, handle %#llx) given to a fresh task %u %s\n",
           sid >> 8, (sid >> 3) & 0x1f, sid & 7, vendor, device, (unsigned long long)handle, t->id,
           t->name);
    reply(m, PC_OK, t);
}
