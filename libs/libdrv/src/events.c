/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Hotplug events and IOMMU fault signals for a driver (see drv/events.h). Events fetched from
 * the hotplug server are validated like any input from another component, by the protocol's
 * side-effect-free decoder (hps_event_decode: the device-gone going/gone and the server's own
 * events, each by its table's shape and a well-formed handle).
 */
#include <string.h>

#include <drv/drv.h>
#include <drv/events.h>
#include <hpsrv/protocol.h>

#define DRV_EVENTS_SLICE_US 5000u

void drv_events_init(struct drv_events *ev, const task_start_info_t *si, pc_cptr_t irq_ntfn)
{
    memset(ev, 0, sizeof(*ev));
    ev->hotplug_ep = task_cap_slot(si, "hotplug", TASK_CAP_ENDPOINT);
    ev->fault_ntfn = task_cap_slot(si, "iommu_fault", TASK_CAP_NOTIFICATION);
    ev->irq_ntfn = irq_ntfn;
}

void drv_events_note(struct drv_events *ev, uint64_t word)
{
    if (word & HPS_NOTIFY_BIT) {
        ev->hp_pending = true;
    }
}

const char *drv_event_name(enum drv_event_kind k)
{
    switch (k) {
    case DRV_EVENT_NONE:
        return "none";
    case DRV_EVENT_GOING:
        return "device_going";
    case DRV_EVENT_GONE:
        return "device_gone";
    case DRV_EVENT_NEW:
        return "device_new";
    case DRV_EVENT_FAULT:
        return "fault";
    default:
        return "?";
    }
}

/* next_event: one pending hotplug event of this driver, validated. */
static struct drv_event fetch(struct drv_events *ev)
{
    struct drv_event out = {.kind = DRV_EVENT_NONE, .handle = 0};
    ev->hp_pending = false;
    if (ev->hotplug_ep == 0) {
        return out;
    }
    struct hps_msg q;
    hps_encode_next_event(&q);
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    m.info = pc_msginfo(q.label, 0, 0, q.len);
    if (pc_call(ev->hotplug_ep, &m) != PC_OK) {
        ev->refused++;
        return out;
    }
    /* The words the registers hold; the decoder checks the sent length before it reads one,
     * so a message of the wrong length is refused, not truncated into shape. */
    uint64_t w[PC_MSG_REG_COUNT] = {0};
    (void)pc_msg_get_words(&m, w, PC_MSG_REG_COUNT);
    struct hps_event e;
    if (hps_event_decode(pc_msginfo_label(m.info), w, pc_msginfo_length(m.info), &e) !=
        HP_GONE_OK) {
        ev->refused++;
        return out;
    }
    switch (e.label) {
    case HP_GONE_DEVICE_GOING:
        out.kind = DRV_EVENT_GOING;
        break;
    case HP_GONE_DEVICE_GONE:
        out.kind = DRV_EVENT_GONE;
        break;
    case HPS_EVENT_DEVICE_NEW:
        out.kind = DRV_EVENT_NEW;
        break;
    default:
        return out; /* HPS_EVENT_NONE */
    }
    out.handle = e.handle;
    return out;
}

static bool fault_pending(struct drv_events *ev)
{
    pc_word_t word = 0;
    return ev->fault_ntfn != 0 && pc_poll(ev->fault_ntfn, &word) == PC_OK && word != 0;
}

struct drv_event drv_events_wait(struct drv_events *ev, uint64_t timeout_us)
{
    struct drv_event none = {.kind = DRV_EVENT_NONE, .handle = 0};
    uint64_t deadline = drv_deadline(timeout_us);
    for (;;) {
        if (ev->hp_pending) {
            struct drv_event e = fetch(ev);
            if (e.kind != DRV_EVENT_NONE) {
                return e;
            }
        }
        if (fault_pending(ev)) {
            struct drv_event f = {.kind = DRV_EVENT_FAULT, .handle = 0};
            return f;
        }
        uint64_t left = drv_left_us(deadline);
        if (left == 0) {
            return none;
        }
        pc_cptr_t on = ev->irq_ntfn != 0 ? ev->irq_ntfn : ev->fault_ntfn;
        if (on == 0) {
            return none; /* nothing can arrive */
        }
        uint64_t slice = ev->irq_ntfn != 0 && ev->fault_ntfn != 0 && left > DRV_EVENTS_SLICE_US
                             ? DRV_EVENTS_SLICE_US
                             : left;
        pc_word_t word = 0;
        if (pc_wait(on, slice, &word) == PC_OK) {
            if (on == ev->irq_ntfn) {
                drv_events_note(ev, word);
            } else if (word != 0) {
                struct drv_event f = {.kind = DRV_EVENT_FAULT, .handle = 0};
                return f;
            }
        }
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
    if (len > HP_GONE_MSG_LENGTH) { /* the encoder's bound, stated where the words are sent */
        return HP_GONE_ERR_LENGTH;
    }
    uint64_t ret[1] = {0};
    pc_msginfo_t info;
    pc_word_t err = pc_call_words(ev->hotplug_ep, label, 0, mr, len, ret, 1, &info);
    if (err != PC_OK) {
        return -(int)err;
    }
    return pc_msginfo_length(info) >= 1 ? (int)ret[0] : HP_GONE_ERR_LENGTH;
}
