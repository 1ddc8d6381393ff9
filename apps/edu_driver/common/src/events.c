/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device-gone messages and IOMMU fault signals for a driver (see drv/events.h). Messages are
 * decoded with libhotplug's side-effect-free decoder, accepting only the two server-to-driver
 * labels.
 */
#include <string.h>

#include <drv/drv.h>
#include <drv/events.h>

/* How long one receive on the gone endpoint lasts when a fault notification must be polled too. */
#define DRV_EVENTS_SLICE_US 5000u

void drv_events_init(struct drv_events *ev, const task_start_info_t *si)
{
    memset(ev, 0, sizeof(*ev));
    ev->gone_ep = task_cap_slot(si, "gone", TASK_CAP_ENDPOINT);
    ev->hotplug_ep = task_cap_slot(si, "hotplug", TASK_CAP_ENDPOINT);
    ev->fault_ntfn = task_cap_slot(si, "iommu_fault", TASK_CAP_NOTIFICATION);
}

static bool fault_pending(struct drv_events *ev)
{
    pc_word_t word = 0;
    return ev->fault_ntfn != 0 && pc_poll(ev->fault_ntfn, &word) == PC_OK && word != 0;
}

struct drv_event drv_events_wait(struct drv_events *ev, uint64_t timeout_us)
{
    struct drv_event out = {.kind = DRV_EVENT_NONE, .handle = 0};
    uint64_t deadline = drv_deadline(timeout_us);
    for (;;) {
        if (fault_pending(ev)) {
            out.kind = DRV_EVENT_FAULT;
            return out;
        }
        uint64_t left = drv_left_us(deadline);
        if (left == 0) {
            return out;
        }
        if (ev->gone_ep == 0) {
            pc_word_t word = 0;
            if (ev->fault_ntfn == 0) {
                return out; /* nothing can arrive (documented: returns at once) */
            }
            if (pc_wait(ev->fault_ntfn, left, &word) == PC_OK && word != 0) {
                out.kind = DRV_EVENT_FAULT;
            }
            return out;
        }
        uint64_t slice = ev->fault_ntfn != 0 && left > DRV_EVENTS_SLICE_US ? DRV_EVENTS_SLICE_US
                                                                           : left;
        pc_msg_t m;
        memset(&m, 0, sizeof(m));
        pc_word_t err = pc_recv(ev->gone_ep, &m, slice);
        if (err == PC_ERR_TIMEOUT) {
            continue;
        }
        if (err != PC_OK) {
            ev->refused++;
            continue;
        }
        uint64_t mr[PC_MSG_REG_COUNT];
        unsigned len = pc_msginfo_length(m.info);
        for (unsigned i = 0; i < PC_MSG_REG_COUNT; i++) {
            mr[i] = m.mr[i];
        }
        struct hp_gone_msg msg;
        int derr = hp_gone_decode(pc_msginfo_label(m.info), mr,
                                  len > PC_MSG_REG_COUNT ? PC_MSG_REG_COUNT : len,
                                  (1u << HP_GONE_DEVICE_GOING) | (1u << HP_GONE_DEVICE_GONE), &msg);
        if (derr != HP_GONE_OK) {
            ev->refused++;
            continue;
        }
        out.kind = msg.label == HP_GONE_DEVICE_GOING ? DRV_EVENT_GOING : DRV_EVENT_GONE;
        out.handle = msg.handle;
        return out;
    }
}

int drv_events_detached(struct drv_events *ev, hp_handle_t handle)
{
    if (ev->hotplug_ep == 0) {
        return -1;
    }
    struct hp_gone_msg msg = {.label = HP_GONE_DETACHED, .handle = handle};
    uint64_t label = 0, mr[HP_GONE_MSG_LENGTH];
    unsigned len = 0;
    int e = hp_gone_encode(&msg, &label, mr, HP_GONE_MSG_LENGTH, &len);
    if (e != HP_GONE_OK) {
        return e;
    }
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    for (unsigned i = 0; i < len; i++) {
        m.mr[i] = mr[i];
    }
    m.info = pc_msginfo(label, 0, 0, len);
    pc_word_t err = pc_call(ev->hotplug_ep, &m);
    if (err != PC_OK) {
        return -(int)err;
    }
    return pc_msginfo_length(m.info) >= 1 ? (int)m.mr[0] : HP_GONE_ERR_LENGTH;
}
