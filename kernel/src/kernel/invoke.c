/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Object invocations: dispatch by capability type, and the Untyped, CNode, TCB, IOPort and
 * generic decoders. Each decoder validates every argument and capability before it changes
 * anything (seL4's decode/perform split): a rejected invocation leaves no trace.
 */
#include <arch/machine.h>
#include <kernel/string.h>
#include <portcullis/invocation.h>
#include <portcullis/object_size.h>

#define K_RETYPE_MAX_COUNT 256

k_slot_t *k_extra_cap(k_tcb_t *t, pc_ipc_buffer_t *buf, unsigned i)
{
    if (!buf || i >= pc_msginfo_extra_caps(t->ctx.rsi)) {
        return NULL;
    }
    k_slot_t *s = k_lookup_slot(t, buf->caps_or_badges[i]);
    return (s && !k_slot_empty(s)) ? s : NULL;
}

/* PC_SYS_IDENTIFY: type, rights and a third word: the badge of an endpoint or notification, a
 * frame's physical base (as Frame_GetAddress answers: one system call less for the IOMMU
 * server's map), else 0. */
void k_identify(k_tcb_t *t)
{
    k_slot_t *s = k_lookup_slot(t, t->ctx.rdi);
    if (!s || k_slot_empty(s)) {
        t->ctx.rax = PC_ERR_FAILED_LOOKUP;
        t->ctx.r10 = t->ctx.r8 = t->ctx.r9 = 0;
        return;
    }
    uint64_t type = s->cap.type;
    t->ctx.rax = PC_OK;
    t->ctx.r10 = type;
    t->ctx.r8 = s->cap.rights;
    if (type == PC_OBJ_ENDPOINT || type == PC_OBJ_NOTIFICATION) {
        t->ctx.r9 = s->cap.w2;
    } else if (type == PC_OBJ_FRAME_4K || type == PC_OBJ_FRAME_2M) {
        t->ctx.r9 = s->cap.obj;
    } else {
        t->ctx.r9 = 0;
    }
    t->ctx.rsi = pc_msginfo(0, 0, 0, 3);
}

/* ---------- Untyped ---------- */

/*
 * Memory of an untyped region is zeroed before objects are made of it, one page per work unit
 * and preemptibly, with the progress kept in the untyped cap: w2 is the watermark (offset of the
 * first byte no object uses), w3 the offset up to which the memory from the watermark on is known
 * to be zero. Invariant: [w2, w3) is all zero whenever w3 > w2 (nothing lives above the watermark,
 * so nothing writes there). A retype started again after a preemption point finds the zeroing
 * done so far and goes on from there.
 */
static void init_object(unsigned type, uint64_t pa)
{
    void *kva = k_phys_to_virt(pa); /* zero already */
    if (type == PC_OBJ_TCB) {
        k_tcb_init(kva);
    } else if (type == PC_OBJ_VSPACE) {
        k_vspace_init_pml4(kva);
    }
}

int k_decode_untyped(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf,
                     k_retype_op_t *op)
{
    k_cap_t *ut = &slot->cap;
    if (label != PC_UNTYPED_RETYPE) {
        return PC_ERR_ILLEGAL_OPERATION;
    }
    if (pc_msginfo_length(t->ctx.rsi) < 4) {
        return PC_ERR_TRUNCATED_MESSAGE;
    }
    uint64_t type = k_get_mr(t, buf, 0), user_bits = k_get_mr(t, buf, 1);
    uint64_t dest = k_get_mr(t, buf, 2), count = k_get_mr(t, buf, 3);
    if (type == PC_OBJ_NULL || type >= PC_OBJ_TYPE_COUNT_RETYPABLE || user_bits > 63) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    int obj_bits = pc_object_bits((unsigned)type, (unsigned)user_bits);
    if (obj_bits < 0) {
        return PC_ERR_RANGE;
    }
    bool device = ut->flags & K_CAP_DEVICE;
    if (device && type != PC_OBJ_FRAME_4K && type != PC_OBJ_FRAME_2M && type != PC_OBJ_UNTYPED) {
        return PC_ERR_INVALID_ARGUMENT; /* device memory only becomes frames */
    }
    if (count == 0 || count > K_RETYPE_MAX_COUNT) {
        return PC_ERR_RANGE;
    }
    k_cap_t *dcn = &t->slot[K_TCB_CSPACE].cap;
    if (pc_msginfo_extra_caps(t->ctx.rsi) > 0) {
        k_slot_t *d = k_extra_cap(t, buf, 0);
        if (!d) {
            return PC_ERR_FAILED_LOOKUP;
        }
        dcn = &d->cap;
    }
    if (dcn->type != PC_OBJ_CNODE) {
        return PC_ERR_INVALID_CAPABILITY;
    }
    uint64_t slots = 1ull << dcn->size_bits;
    if (dest == 0 || dest >= slots || count > slots - dest) {
        return PC_ERR_RANGE;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (!k_slot_empty(k_cnode_slot(dcn, dest + i))) {
            return PC_ERR_DELETE_FIRST;
        }
    }
    bool reset = !k_cdt_has_children(slot); /* no children: placement starts over */
    uint64_t first, new_free;
    int err = pc_untyped_place(ut->obj, ut->size_bits, reset ? 0 : ut->w2, (unsigned)obj_bits,
                               count, &first, &new_free);
    if (err) {
        return err;
    }
    if (type == PC_OBJ_VSPACE && !k_asid_available((unsigned)count)) {
        return PC_ERR_NOT_ENOUGH_MEMORY;
    }
    *op = (k_retype_op_t){.ut = slot,
                          .dcn = dcn,
                          .type = (unsigned)type,
                          .user_bits = (unsigned)user_bits,
                          .obj_bits = (unsigned)obj_bits,
                          .dest = dest,
                          .count = count,
                          .reset = reset,
                          .first = first,
                          .new_free = new_free};
    return PC_OK;
}

/* Zero [max(w2, w3), end) of the untyped, page by page; K_RESTART at a preemption point. */
static int zero_untyped(k_cap_t *ut, uint64_t end)
{
    uint64_t z = ut->w3 > ut->w2 ? ut->w3 : ut->w2;
    while (z < end) {
        uint64_t stop = (z | ((1ull << PC_PAGE_BITS) - 1)) + 1;
        if (stop > end) {
            stop = end;
        }
        memset(k_phys_to_virt(ut->obj + z), 0, stop - z);
        z = stop;
        ut->w3 = z;
        k_preempt_work(1);
        if (z < end && k_preemption_point()) {
            return K_RESTART;
        }
    }
    return PC_OK;
}

int k_perform_untyped(const k_retype_op_t *op)
{
    k_cap_t *ut = &op->ut->cap;
    bool device = ut->flags & K_CAP_DEVICE;
    if (op->reset && ut->w2 != 0) {
        ut->w2 = 0; /* no object lives in the region any more */
        ut->w3 = 0; /* and none of it is known to be zero */
    }
    /* Device memory is never zeroed; an untyped child is zeroed by its own retypes. */
    if (!device && op->type != PC_OBJ_UNTYPED) {
        int err = zero_untyped(ut, op->new_free);
        if (err) {
            return err;
        }
    }
    ut->w2 = op->new_free;
    for (uint64_t i = 0; i < op->count; i++) {
        uint64_t pa = op->first + (i << op->obj_bits);
        k_cap_t c = {.type = (uint8_t)op->type, .rights = PC_RIGHTS_ALL};
        if (!device) {
            init_object(op->type, pa);
        }
        switch (op->type) {
        case PC_OBJ_UNTYPED:
        case PC_OBJ_FRAME_4K:
        case PC_OBJ_FRAME_2M:
            c.obj = pa;
            c.size_bits = (uint8_t)op->obj_bits;
            c.flags = device ? K_CAP_DEVICE : 0;
            break;
        case PC_OBJ_CNODE:
            c.obj = (uint64_t)k_phys_to_virt(pa);
            c.size_bits = (uint8_t)op->user_bits;
            break;
        case PC_OBJ_VSPACE:
            c.obj = (uint64_t)k_phys_to_virt(pa);
            (void)k_asid_alloc(c.obj, &c.aux); /* availability checked by the decode */
            break;
        default:
            c.obj = (uint64_t)k_phys_to_virt(pa);
            break;
        }
        k_cap_derive(op->ut, k_cnode_slot(op->dcn, op->dest + i), c);
    }
    return PC_OK;
}

/* ---------- CNode ---------- */

/* Is the CNode's memory inside the untyped's region? (storing an untyped cap there would let
 * revoking the untyped destroy the slot that holds it) */
static bool cnode_inside(const k_cap_t *cnode, const k_cap_t *ut)
{
    uint64_t pa = k_virt_to_phys((void *)cnode->obj);
    uint64_t end = pa + (1ull << (cnode->size_bits + PC_SLOT_BITS));
    uint64_t us = ut->obj, ue = ut->obj + (1ull << ut->size_bits);
    return pa < ue && end > us;
}

/* The slot `index` names in the CNode, if the index is in range (slot 0 is never named). */
static int cnode_index(const k_cap_t *cn, uint64_t index, k_slot_t **out)
{
    if (index == 0 || index >= (1ull << cn->size_bits)) {
        return PC_ERR_RANGE;
    }
    *out = k_cnode_slot(cn, index);
    return PC_OK;
}

static int k_decode_cnode(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf,
                          k_cnode_op_t *op)
{
    k_cap_t *cn = &slot->cap;
    unsigned len = pc_msginfo_length(t->ctx.rsi);
    /* Field by field: a compound literal would zero the whole op (its capability included)
     * through memset on every CNode invocation. */
    op->label = label;
    op->slot = NULL;
    op->src = NULL;
    if (label == PC_CNODE_DELETE || label == PC_CNODE_REVOKE || label == PC_CNODE_SAVE_CALLER) {
        if (len < 1) {
            return PC_ERR_TRUNCATED_MESSAGE;
        }
        int err = cnode_index(cn, k_get_mr(t, buf, 0), &op->slot);
        if (err) {
            return err;
        }
        if (label == PC_CNODE_SAVE_CALLER) {
            if (!k_slot_empty(op->slot)) {
                return PC_ERR_DELETE_FIRST;
            }
            if (t->reply_to == NULL) {
                return PC_ERR_NO_REPLY;
            }
        }
        return PC_OK;
    }
    if (label != PC_CNODE_COPY && label != PC_CNODE_MINT && label != PC_CNODE_MOVE) {
        return PC_ERR_ILLEGAL_OPERATION;
    }
    unsigned need = label == PC_CNODE_MOVE ? 2 : label == PC_CNODE_COPY ? 3 : 4;
    if (len < need) {
        return PC_ERR_TRUNCATED_MESSAGE;
    }
    uint64_t di = k_get_mr(t, buf, 0), si = k_get_mr(t, buf, 1);
    k_cap_t *scn = cn;
    if (pc_msginfo_extra_caps(t->ctx.rsi) > 0) {
        k_slot_t *x = k_extra_cap(t, buf, 0);
        if (!x) {
            return PC_ERR_FAILED_LOOKUP;
        }
        if (x->cap.type != PC_OBJ_CNODE) {
            return PC_ERR_INVALID_CAPABILITY;
        }
        scn = &x->cap;
    }
    k_slot_t *dst, *src;
    if (cnode_index(cn, di, &dst) != PC_OK || cnode_index(scn, si, &src) != PC_OK) {
        return PC_ERR_RANGE;
    }
    if (k_slot_empty(src)) {
        return PC_ERR_FAILED_LOOKUP;
    }
    if (!k_slot_empty(dst)) {
        return PC_ERR_DELETE_FIRST;
    }
    op->slot = dst;
    op->src = src;
    if (label == PC_CNODE_MOVE) {
        if (src->cap.type == PC_OBJ_UNTYPED && cnode_inside(cn, &src->cap)) {
            return PC_ERR_ILLEGAL_OPERATION;
        }
        return PC_OK;
    }
    uint64_t rights = k_get_mr(t, buf, 2);
    k_cap_t c = src->cap;
    if (c.type == PC_OBJ_UNTYPED || c.type == PC_CAP_REPLY) {
        return PC_ERR_ILLEGAL_OPERATION; /* untyped regions and replies have exactly one cap */
    }
    if (label == PC_CNODE_MINT) {
        uint64_t badge = k_get_mr(t, buf, 3);
        if (c.type == PC_OBJ_ENDPOINT || c.type == PC_OBJ_NOTIFICATION) {
            if (c.w2 != 0 && badge != 0) {
                return PC_ERR_ILLEGAL_OPERATION; /* already badged */
            }
            if (badge != 0) {
                c.w2 = badge;
            }
        } else if (badge != 0) {
            return PC_ERR_INVALID_ARGUMENT;
        }
    }
    c.rights &= (uint8_t)(rights & PC_RIGHTS_ALL);
    if (c.type == PC_OBJ_FRAME_4K || c.type == PC_OBJ_FRAME_2M || c.type == PC_OBJ_PDPT ||
        c.type == PC_OBJ_PD || c.type == PC_OBJ_PT) {
        c.aux = 0; /* a copy starts unmapped */
        c.w2 = 0;
    }
    op->cap = c;
    return PC_OK;
}

/* PC_OK, or K_RESTART (Revoke) */
static int k_perform_cnode(k_tcb_t *t, const k_cnode_op_t *op)
{
    switch (op->label) {
    case PC_CNODE_DELETE:
        k_cap_delete(op->slot);
        return PC_OK;
    case PC_CNODE_REVOKE:
        return k_cap_revoke(op->slot);
    case PC_CNODE_SAVE_CALLER:
        return k_ipc_save_caller(t, op->slot); /* a caller is pending: the decode checked */
    case PC_CNODE_MOVE:
        k_cdt_move(op->src, op->slot);
        if (op->slot->cap.type == PC_CAP_REPLY) {
            k_reply_cap_moved(op->slot);
        }
        return PC_OK;
    default: /* Copy, Mint */
        k_cap_derive(op->src, op->slot, op->cap);
        return PC_OK;
    }
}

/* ---------- TCB ---------- */

static int copy_into_tcb(k_tcb_t *target, unsigned which, k_slot_t *src)
{
    k_slot_t *dst = &target->slot[which];
    if (!k_slot_empty(dst)) {
        k_cap_delete(dst);
    }
    if (src && !k_slot_empty(src)) { /* the delete above may have emptied it */
        k_cap_t c = src->cap;
        if (c.type == PC_OBJ_FRAME_4K || c.type == PC_OBJ_FRAME_2M) {
            c.aux = 0;
            c.w2 = 0;
        }
        k_cap_derive(src, dst, c);
    }
    return PC_OK;
}

static bool canonical_user(uint64_t va)
{
    return k_user_addr_ok(va);
}

int k_decode_tcb(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf, unsigned *nres)
{
    k_tcb_t *target = (k_tcb_t *)slot->cap.obj;
    unsigned len = pc_msginfo_length(t->ctx.rsi);
    switch (label) {
    case PC_TCB_CONFIGURE: {
        if (len < 1) {
            return PC_ERR_TRUNCATED_MESSAGE;
        }
        uint64_t ipc_va = k_get_mr(t, buf, 0);
        k_slot_t *cs = k_extra_cap(t, buf, 0), *vs = k_extra_cap(t, buf, 1),
                 *ib = k_extra_cap(t, buf, 2);
        if (!cs || !vs) {
            return PC_ERR_FAILED_LOOKUP;
        }
        if (cs->cap.type != PC_OBJ_CNODE || vs->cap.type != PC_OBJ_VSPACE) {
            return PC_ERR_INVALID_CAPABILITY;
        }
        if (pc_msginfo_extra_caps(t->ctx.rsi) > 2) {
            if (!ib) {
                return PC_ERR_FAILED_LOOKUP;
            }
            if ((ib->cap.type != PC_OBJ_FRAME_4K && ib->cap.type != PC_OBJ_FRAME_2M) ||
                (ib->cap.flags & K_CAP_DEVICE) || !(ib->cap.rights & PC_RIGHT_WRITE)) {
                return PC_ERR_INVALID_CAPABILITY;
            }
            if ((ipc_va & (PC_IPC_BUFFER_ALIGN - 1)) != 0) {
                return PC_ERR_ALIGNMENT;
            }
            if (!canonical_user(ipc_va)) {
                return PC_ERR_RANGE;
            }
        }
        copy_into_tcb(target, K_TCB_CSPACE, cs);
        copy_into_tcb(target, K_TCB_VSPACE, vs);
        target->vspace_pa = k_virt_to_phys((void *)target->slot[K_TCB_VSPACE].cap.obj);
        copy_into_tcb(target, K_TCB_IPC_BUFFER, pc_msginfo_extra_caps(t->ctx.rsi) > 2 ? ib : NULL);
        target->ipc_buffer_vaddr = ipc_va;
        if (target == k_cpu()->loaded) {
            k_cpu()->loaded = &k_cpu()->idle; /* reload cr3 on the way out */
        }
        return PC_OK;
    }
    case PC_TCB_SET_PRIORITY:
    case PC_TCB_SET_MCP: {
        if (len < 1) {
            return PC_ERR_TRUNCATED_MESSAGE;
        }
        uint64_t p = k_get_mr(t, buf, 0);
        k_slot_t *auth = k_extra_cap(t, buf, 0);
        if (!auth) {
            return PC_ERR_FAILED_LOOKUP;
        }
        if (auth->cap.type != PC_OBJ_TCB) {
            return PC_ERR_INVALID_CAPABILITY;
        }
        if (p > PC_MAX_PRIO || p > ((k_tcb_t *)auth->cap.obj)->mcp) {
            return PC_ERR_RANGE;
        }
        if (label == PC_TCB_SET_MCP) {
            target->mcp = (uint8_t)p;
        } else {
            k_sched_set_prio(target, (unsigned)p);
        }
        return PC_OK;
    }
    case PC_TCB_SET_FAULT_EP: {
        k_slot_t *ep = NULL;
        if (pc_msginfo_extra_caps(t->ctx.rsi) > 0) {
            ep = k_extra_cap(t, buf, 0);
            if (!ep) {
                return PC_ERR_FAILED_LOOKUP;
            }
            if (ep->cap.type != PC_OBJ_ENDPOINT || !(ep->cap.rights & PC_RIGHT_WRITE)) {
                return PC_ERR_INVALID_CAPABILITY;
            }
        }
        return copy_into_tcb(target, K_TCB_FAULT_EP, ep);
    }
    case PC_TCB_READ_REGISTERS: {
        const k_context_t *c = &target->ctx;
        uint64_t regs[PC_REG_COUNT] = {c->rip, c->rsp, c->rflags, c->rax, c->rbx, c->rcx,
                                       c->rdx, c->rsi, c->rdi,    c->rbp, c->r8,  c->r9,
                                       c->r10, c->r11, c->r12,    c->r13, c->r14, c->r15};
        unsigned n = buf ? PC_REG_COUNT : PC_MSG_REG_COUNT;
        if (target == t) {
            return PC_ERR_ILLEGAL_OPERATION; /* its registers are the reply */
        }
        for (unsigned i = 0; i < n; i++) {
            k_set_mr(t, buf, i, regs[i]);
        }
        *nres = n;
        return PC_OK;
    }
    case PC_TCB_WRITE_REGISTERS: {
        if (len < 2) {
            return PC_ERR_TRUNCATED_MESSAGE;
        }
        uint64_t flags = k_get_mr(t, buf, 0), n = k_get_mr(t, buf, 1);
        if (n > PC_REG_COUNT || n + 2 > len) {
            return PC_ERR_RANGE;
        }
        if (target == t) {
            return PC_ERR_ILLEGAL_OPERATION;
        }
        uint64_t v[PC_REG_COUNT];
        for (unsigned i = 0; i < n; i++) {
            v[i] = k_get_mr(t, buf, 2 + i);
        }
        if ((n > PC_REG_RIP && !canonical_user(v[PC_REG_RIP])) ||
            (n > PC_REG_RSP && !canonical_user(v[PC_REG_RSP]))) {
            return PC_ERR_RANGE;
        }
        k_context_t *c = &target->ctx;
        uint64_t *dst[PC_REG_COUNT] = {&c->rip, &c->rsp, &c->rflags, &c->rax, &c->rbx, &c->rcx,
                                       &c->rdx, &c->rsi, &c->rdi,    &c->rbp, &c->r8,  &c->r9,
                                       &c->r10, &c->r11, &c->r12,    &c->r13, &c->r14, &c->r15};
        if (target->state != K_TS_INACTIVE) {
            k_thread_suspend(
                target); /* registers of a blocked thread change under its IPC otherwise */
        }
        for (unsigned i = 0; i < n; i++) {
            *dst[i] = v[i];
        }
        /* user-modifiable flags only (CF PF AF ZF SF TF DF OF), interrupts always on */
        c->rflags = (c->rflags & 0xDD5ull) | RFLAGS_IF | 2;
        c->cs = K_SEL_UCODE;
        c->ss = K_SEL_UDATA;
        if (flags & 1) {
            if (target->slot[K_TCB_VSPACE].cap.type != PC_OBJ_VSPACE) {
                return PC_ERR_ILLEGAL_OPERATION;
            }
            k_thread_resume(target);
        }
        return PC_OK;
    }
    case PC_TCB_RESUME:
        if (target->slot[K_TCB_VSPACE].cap.type != PC_OBJ_VSPACE ||
            target->slot[K_TCB_CSPACE].cap.type != PC_OBJ_CNODE) {
            return PC_ERR_ILLEGAL_OPERATION;
        }
        k_thread_resume(target);
        return PC_OK;
    case PC_TCB_SUSPEND:
        k_thread_suspend(target);
        return PC_OK;
    case PC_TCB_BIND_NOTIFICATION: {
        k_slot_t *n = k_extra_cap(t, buf, 0);
        if (!n) {
            return PC_ERR_FAILED_LOOKUP;
        }
        if (n->cap.type != PC_OBJ_NOTIFICATION || !(n->cap.rights & PC_RIGHT_READ)) {
            return PC_ERR_INVALID_CAPABILITY;
        }
        k_notification_t *ntfn = (k_notification_t *)n->cap.obj;
        if (target->bound_ntfn || ntfn->bound) {
            return PC_ERR_ILLEGAL_OPERATION;
        }
        target->bound_ntfn = ntfn;
        ntfn->bound = target;
        return PC_OK;
    }
    case PC_TCB_UNBIND_NOTIFICATION:
        if (!target->bound_ntfn) {
            return PC_ERR_ILLEGAL_OPERATION;
        }
        k_ntfn_unbind(target->bound_ntfn);
        return PC_OK;
    default:
        return PC_ERR_ILLEGAL_OPERATION;
    }
}

/* ---------- IOPort ---------- */

int k_decode_ioport(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf,
                    unsigned *nres)
{
    k_cap_t *c = &slot->cap;
    unsigned len = pc_msginfo_length(t->ctx.rsi);
    if (label == PC_IOPORT_ISSUE) {
        if (len < 3) {
            return PC_ERR_TRUNCATED_MESSAGE;
        }
        uint64_t first = k_get_mr(t, buf, 0), last = k_get_mr(t, buf, 1), di = k_get_mr(t, buf, 2);
        if (first > last || first < c->w2 || last > c->w3) {
            return PC_ERR_RANGE;
        }
        k_slot_t *dst = k_lookup_slot(t, di);
        if (!dst) {
            return PC_ERR_RANGE;
        }
        if (!k_slot_empty(dst)) {
            return PC_ERR_DELETE_FIRST;
        }
        k_cap_derive(
            slot, dst,
            (k_cap_t){.type = PC_CAP_IOPORT, .rights = PC_RIGHTS_ALL, .w2 = first, .w3 = last});
        return PC_OK;
    }
    if (label < PC_IOPORT_IN8 || label > PC_IOPORT_OUT32) {
        return PC_ERR_ILLEGAL_OPERATION;
    }
    bool out = label >= PC_IOPORT_OUT8;
    unsigned width = 1u << ((label - (out ? PC_IOPORT_OUT8 : PC_IOPORT_IN8)));
    if (len < (out ? 2u : 1u)) {
        return PC_ERR_TRUNCATED_MESSAGE;
    }
    uint64_t port = k_get_mr(t, buf, 0);
    if (port > 0xFFFF || port < c->w2 || port + width - 1 > c->w3) {
        return PC_ERR_RANGE;
    }
    if (out) {
        uint64_t v = k_get_mr(t, buf, 1);
        if (width == 1) {
            k_outb((uint16_t)port, (uint8_t)v);
        } else if (width == 2) {
            k_outw((uint16_t)port, (uint16_t)v);
        } else {
            k_outl((uint16_t)port, (uint32_t)v);
        }
        return PC_OK;
    }
    uint64_t v = width == 1   ? k_inb((uint16_t)port)
                 : width == 2 ? k_inw((uint16_t)port)
                              : k_inl((uint16_t)port);
    k_set_mr(t, buf, 0, v);
    *nres = 1;
    return PC_OK;
}

/* ---------- dispatch ---------- */

void k_invoke(k_tcb_t *t, k_slot_t *slot, bool want_reply)
{
    uint64_t label = pc_msginfo_label(t->ctx.rsi);
    pc_ipc_buffer_t *buf = k_tcb_ipc_buffer(t);
    unsigned nres = 0;
    int err;
    k_cap_t *cap = &slot->cap;
    k_preempt_begin();
    {
        switch (cap->type) {
        case PC_OBJ_UNTYPED: {
            k_retype_op_t op;
            err = k_decode_untyped(t, slot, label, buf, &op);
            if (err == PC_OK) {
                err = k_perform_untyped(&op);
            }
            break;
        }
        case PC_OBJ_CNODE: {
            k_cnode_op_t op;
            err = k_decode_cnode(t, slot, label, buf, &op);
            if (err == PC_OK) {
                err = k_perform_cnode(t, &op);
            }
            break;
        }
        case PC_OBJ_TCB:
            err = k_decode_tcb(t, slot, label, buf, &nres);
            break;
        case PC_OBJ_VSPACE:
            err = PC_ERR_ILLEGAL_OPERATION;
            break;
        case PC_OBJ_PDPT:
        case PC_OBJ_PD:
        case PC_OBJ_PT:
        case PC_OBJ_FRAME_4K:
        case PC_OBJ_FRAME_2M:
            err = k_decode_vspace(t, slot, label, buf, &nres);
            break;
        case PC_CAP_IRQ_CONTROL:
        case PC_CAP_IRQ_HANDLER:
            err = k_decode_irq(t, slot, label, buf, &nres);
            break;
        case PC_CAP_IOPORT:
            err = k_decode_ioport(t, slot, label, buf, &nres);
            break;
        default:
            err = PC_ERR_INVALID_CAPABILITY;
            break;
        }
    }
    (void)want_reply;
    if (err == K_RESTART) {
        k_syscall_restart(t); /* stopped at a preemption point: its arguments are unchanged */
        return;
    }
    /* The caller may have deleted itself; its registers are written but it will not run. */
    t->ctx.rax = (uint64_t)err;
    t->ctx.rsi = pc_msginfo(0, 0, 0, nres);
}
