/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root protocol (IOMMU_ROOT_METHODS): the root task's policy decisions — clients, device,
 * memory and vector grants, interrupt routes for requesters nobody else serves, revocation.
 * Decode and perform as for the other two protocols: the shape comes from the declaration, every
 * argument is checked before anything changes, and a refused message changes nothing.
 */
#include "internal.h"

static bool root_shape_ok(const struct iommu_msg *m, const struct iommu_method_info *mi)
{
    return m->len == mi->nargs && m->ncaps <= mi->max_caps && m->ncaps <= IOMMU_MSG_CAPS;
}

static bool is_sid(uint64_t v)
{
    return v <= 0xffffu;
}

/* A notification capability that came with client_add (NULL: none, or not a notification). */
static const struct iommu_cap_ref *notification_of(const struct iommu_msg *m)
{
    if (m->ncaps == 0 || m->cap[0].kind != IOMMU_CAP_NOTIFICATION ||
        !(m->cap[0].rights & IOMMU_WRITE)) {
        return NULL;
    }
    return &m->cap[0];
}

/* Can sid be indexed (it is, or a device slot is free)? */
static bool index_room(const struct iommu_server *s, uint16_t sid)
{
    if (iommu_device_find(s, sid) >= 0) {
        return true;
    }
    for (unsigned k = 0; k < IOMMU_MAX_DEVICES; k++) {
        if (s->devices[k].state == IOMMU_DEV_UNUSED) {
            return true;
        }
    }
    return false;
}

/* Everything grant_device needs, checked before anything changes. */
static enum iommu_err grant_device_check(const struct iommu_server *s, int ci, uint16_t sid)
{
    const struct iommu_client *c = &s->clients[ci];
    if (iommu_client_granted(c, sid)) {
        return IOMMU_OK;
    }
    if (c->n_dev_grants >= IOMMU_CLIENT_DEVICES) {
        return IOMMU_ERR_NO_SLOTS;
    }
    if (iommu_unit_for_sid(s, sid) < 0) {
        return IOMMU_ERR_UNIT;
    }
    return index_room(s, sid) ? IOMMU_OK : IOMMU_ERR_NO_SLOTS;
}

/* The root task enumerated the function: index it if the server did not (other classes). */
static enum iommu_err grant_device(struct iommu_server *s, uint64_t badge, uint16_t sid)
{
    int ci = iommu_client_find(s, badge);
    if (ci < 0) {
        return IOMMU_ERR_BAD_ARG;
    }
    enum iommu_err e = grant_device_check(s, ci, sid);
    if (e != IOMMU_OK) {
        return e;
    }
    if (iommu_device_find(s, sid) < 0) {
        e = iommu_server_add_device(s, sid);
        if (e != IOMMU_OK) {
            return e == IOMMU_ERR_BAD_ARG ? IOMMU_ERR_UNIT : e;
        }
    }
    return iommu_client_grant_device(s, badge, sid);
}

static void client_add(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r)
{
    const struct iommu_client_add_args *a = (const void *)m->w;
    bool no_sid = a->sid == IOMMU_SRV_NO_SID;
    if (!iommu_srv_badge_is_client(a->badge) || (!is_sid(a->sid) && !no_sid) || a->flags != 0) {
        r->err = IOMMU_ERR_BAD_ARG;
        return;
    }
    if (iommu_client_find(s, a->badge) >= 0) {
        r->err = IOMMU_ERR_BAD_ARG; /* registered already */
        return;
    }
    int unit = no_sid ? 0 : iommu_unit_for_sid(s, (uint16_t)a->sid);
    if (unit < 0) {
        r->err = IOMMU_ERR_UNIT;
        return;
    }
    if (!no_sid && !index_room(s, (uint16_t)a->sid)) {
        r->err = IOMMU_ERR_NO_SLOTS;
        return;
    }
    /* From here only the hardware can fail (then the registration is undone). */
    r->err = iommu_client_register(s, a->badge, (unsigned)unit);
    if (r->err == IOMMU_OK && !no_sid) {
        r->err = grant_device(s, a->badge, (uint16_t)a->sid);
        if (r->err != IOMMU_OK) {
            (void)iommu_client_unregister(s, a->badge);
        }
    }
    const struct iommu_cap_ref *n = notification_of(m);
    if (r->err == IOMMU_OK && n != NULL) {
        struct iommu_client *c = &s->clients[iommu_client_find(s, a->badge)];
        c->notify_cookie = n->cookie;
        c->has_notify = true;
        r->cap_kept = true; /* released with the client (iommu_client_unregister) */
    }
}

void iommu_handle_root(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r)
{
    r->err = IOMMU_OK;
    r->len = 0;
    r->cap_kept = false;
    s->stats.messages++;
    const struct iommu_method_info *mi = iommu_method_find(m->label);
    if (s->env.root_badge == 0 || m->badge != s->env.root_badge) {
        r->err = IOMMU_ERR_DENIED;
    } else if (mi == NULL || mi->proto != IOMMU_PROTO_ROOT) {
        r->err = IOMMU_ERR_BAD_LABEL;
    } else if (!root_shape_ok(m, mi)) {
        r->err = IOMMU_ERR_BAD_MSG;
    } else {
        const uint64_t *w = m->w;
        switch (m->label) {
        case IOMMU_ROOT_CLIENT_ADD:
            client_add(s, m, r);
            break;
        case IOMMU_ROOT_GRANT_DEVICE:
            r->err = !iommu_srv_badge_is_client(w[0]) || !is_sid(w[1])
                         ? IOMMU_ERR_BAD_ARG
                         : grant_device(s, w[0], (uint16_t)w[1]);
            break;
        case IOMMU_ROOT_GRANT_MEMORY: {
            unsigned grant = 0;
            r->err = !iommu_srv_badge_is_client(w[0]) || w[3] > 0xffffffffull
                         ? IOMMU_ERR_BAD_ARG
                         : iommu_client_grant_memory(s, w[0], w[1], w[2], (unsigned)w[3], &grant);
            r->w[0] = grant;
            r->len = r->err == IOMMU_OK ? 1 : 0;
            break;
        }
        case IOMMU_ROOT_CLIENT_REMOVE:
            r->err = !iommu_srv_badge_is_client(w[0]) ? IOMMU_ERR_BAD_ARG
                                                      : iommu_client_unregister(s, w[0]);
            break;
        case IOMMU_ROOT_IRQ_GRANT: {
            bool port = s->hotplug_badge != 0 && w[0] == s->hotplug_badge;
            unsigned grant = 0;
            if ((!port && !iommu_srv_badge_is_client(w[0])) || !is_sid(w[1])) {
                r->err = IOMMU_ERR_BAD_ARG;
            } else if (port) {
                r->err = iommu_port_grant_vector(s, (uint16_t)w[1], w[2]);
            } else {
                r->err = iommu_client_grant_vector(s, w[0], (uint16_t)w[1], w[2], &grant);
            }
            r->w[0] = grant;
            r->len = r->err == IOMMU_OK ? 1 : 0;
            break;
        }
        case IOMMU_ROOT_IRQ_ROUTE:
            r->err = !is_sid(w[0])
                         ? IOMMU_ERR_BAD_ARG
                         : iommu_irq_route(s, (uint16_t)w[0], w[1], &r->w[0], &r->w[1], &r->w[2]);
            r->len = r->err == IOMMU_OK ? 3 : 0;
            break;
        case IOMMU_ROOT_REVOKE_MEMORY: {
            unsigned left = 0;
            if (!iommu_srv_badge_is_client(w[0]) || w[1] >= IOMMU_CLIENT_MEMORY) {
                r->err = IOMMU_ERR_BAD_ARG;
                break;
            }
            r->err = iommu_client_revoke_memory(s, w[0], (unsigned)w[1], &r->w[0], &left);
            r->w[1] = left;
            r->len = r->err == IOMMU_ERR_BAD_ARG ? 0 : 2;
            break;
        }
        case IOMMU_ROOT_REVOKE_DEVICE:
            if (!iommu_srv_badge_is_client(w[0]) || !is_sid(w[1])) {
                r->err = IOMMU_ERR_BAD_ARG;
                break;
            }
            r->err = iommu_client_revoke_device(s, w[0], (uint16_t)w[1], &r->w[0]);
            r->len = r->err == IOMMU_ERR_BAD_ARG ? 0 : 1;
            break;
        case IOMMU_ROOT_REVOKE_FRAMES: {
            unsigned left = 0;
            r->err = iommu_client_revoke_frames(s, w[0], w[1], w[2], &r->w[0], &left);
            r->w[1] = left;
            r->len = 2; /* 0, 0 when refused */
            break;
        }
        default:
            r->err = IOMMU_ERR_BAD_LABEL;
            break;
        }
    }
    if (r->err != IOMMU_OK) {
        s->stats.errors++;
    }
}
