/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Typed wrappers for object invocations (see <portcullis/invocation.h> for the arguments).
 * They use the calling thread's IPC buffer for capability arguments and long messages; set it
 * once per thread with pc_set_ipc_buffer() (the root task's is bootinfo->ipc_buffer_vaddr).
 * The buffer pointer is one global: a task with several threads must switch it or pass messages
 * with pc_invoke_buf().
 */
#ifndef PORTCULLIS_INVOKE_H
#define PORTCULLIS_INVOKE_H

#include <portcullis/invocation.h>
#include <portcullis/syscall.h>

extern pc_ipc_buffer_t *__pc_ipc_buffer;

static inline void pc_set_ipc_buffer(pc_ipc_buffer_t *buf)
{
    __pc_ipc_buffer = buf;
}
static inline pc_ipc_buffer_t *pc_ipc_buffer(void)
{
    return __pc_ipc_buffer;
}

/*
 * Generic invocation: nargs words of arguments, ncaps capability arguments, up to nres results.
 * Arguments beyond MR3, capability arguments and results beyond MR3 go through buf.
 */
static inline pc_word_t pc_invoke_buf(pc_ipc_buffer_t *buf, pc_cptr_t obj, uint64_t label,
                                      unsigned nargs, const pc_word_t *args, unsigned ncaps,
                                      const pc_cptr_t *caps, pc_word_t *res, unsigned nres)
{
    pc_msg_t m = {0};
    for (unsigned i = 0; i < nargs && i < PC_MSG_MAX_LENGTH; i++) {
        if (i < PC_MSG_REG_COUNT) {
            m.mr[i] = args[i];
        } else if (buf) {
            buf->mr[i] = args[i];
        }
    }
    for (unsigned i = 0; i < ncaps && i < PC_MSG_MAX_EXTRA_CAPS && buf; i++) {
        buf->caps_or_badges[i] = caps[i];
    }
    m.info = pc_msginfo(label, 0, ncaps, nargs);
    pc_word_t err = pc_call(obj, &m);
    unsigned got = pc_msginfo_length(m.info);
    for (unsigned i = 0; i < nres; i++) {
        if (i >= got) {
            res[i] = 0;
        } else if (i < PC_MSG_REG_COUNT) {
            res[i] = m.mr[i];
        } else {
            res[i] = buf ? buf->mr[i] : 0;
        }
    }
    return err;
}

static inline pc_word_t pc_invoke(pc_cptr_t obj, uint64_t label, unsigned nargs,
                                  const pc_word_t *args, unsigned ncaps, const pc_cptr_t *caps,
                                  pc_word_t *res, unsigned nres)
{
    return pc_invoke_buf(__pc_ipc_buffer, obj, label, nargs, args, ncaps, caps, res, nres);
}

/* Retype `count` objects of `type` from `untyped` into slots [dest, dest+count) of `dest_cnode`
 * (PC_NULL_CPTR: the caller's root CNode). */
static inline pc_word_t pc_untyped_retype(pc_cptr_t untyped, unsigned type, unsigned size_bits,
                                          pc_cptr_t dest_cnode, pc_word_t dest, pc_word_t count)
{
    pc_word_t a[4] = {type, size_bits, dest, count};
    return pc_invoke(untyped, PC_UNTYPED_RETYPE, 4, a, dest_cnode ? 1 : 0, &dest_cnode, NULL, 0);
}

static inline pc_word_t pc_cnode_copy(pc_cptr_t cnode, pc_word_t dest, pc_cptr_t src_cnode,
                                      pc_word_t src, unsigned rights)
{
    pc_word_t a[3] = {dest, src, rights};
    return pc_invoke(cnode, PC_CNODE_COPY, 3, a, src_cnode ? 1 : 0, &src_cnode, NULL, 0);
}

static inline pc_word_t pc_cnode_mint(pc_cptr_t cnode, pc_word_t dest, pc_cptr_t src_cnode,
                                      pc_word_t src, unsigned rights, pc_badge_t badge)
{
    pc_word_t a[4] = {dest, src, rights, badge};
    return pc_invoke(cnode, PC_CNODE_MINT, 4, a, src_cnode ? 1 : 0, &src_cnode, NULL, 0);
}

static inline pc_word_t pc_cnode_move(pc_cptr_t cnode, pc_word_t dest, pc_cptr_t src_cnode,
                                      pc_word_t src)
{
    pc_word_t a[2] = {dest, src};
    return pc_invoke(cnode, PC_CNODE_MOVE, 2, a, src_cnode ? 1 : 0, &src_cnode, NULL, 0);
}

static inline pc_word_t pc_cnode_delete(pc_cptr_t cnode, pc_word_t index)
{
    return pc_invoke(cnode, PC_CNODE_DELETE, 1, &index, 0, NULL, NULL, 0);
}

static inline pc_word_t pc_cnode_revoke(pc_cptr_t cnode, pc_word_t index)
{
    return pc_invoke(cnode, PC_CNODE_REVOKE, 1, &index, 0, NULL, NULL, 0);
}

/* Move the pending reply (the last caller we received from) into slot `dest` of `cnode`. */
static inline pc_word_t pc_cnode_save_caller(pc_cptr_t cnode, pc_word_t dest)
{
    return pc_invoke(cnode, PC_CNODE_SAVE_CALLER, 1, &dest, 0, NULL, NULL, 0);
}

static inline pc_word_t pc_tcb_configure(pc_cptr_t tcb, pc_cptr_t cspace, pc_cptr_t vspace,
                                         pc_cptr_t ipc_frame, uint64_t ipc_vaddr)
{
    pc_cptr_t c[3] = {cspace, vspace, ipc_frame};
    return pc_invoke(tcb, PC_TCB_CONFIGURE, 1, &ipc_vaddr, ipc_frame ? 3 : 2, c, NULL, 0);
}

static inline pc_word_t pc_tcb_set_priority(pc_cptr_t tcb, pc_cptr_t authority, unsigned prio)
{
    pc_word_t a = prio;
    return pc_invoke(tcb, PC_TCB_SET_PRIORITY, 1, &a, 1, &authority, NULL, 0);
}

static inline pc_word_t pc_tcb_set_mcp(pc_cptr_t tcb, pc_cptr_t authority, unsigned mcp)
{
    pc_word_t a = mcp;
    return pc_invoke(tcb, PC_TCB_SET_MCP, 1, &a, 1, &authority, NULL, 0);
}

static inline pc_word_t pc_tcb_set_fault_ep(pc_cptr_t tcb, pc_cptr_t ep)
{
    return pc_invoke(tcb, PC_TCB_SET_FAULT_EP, 0, NULL, ep ? 1 : 0, &ep, NULL, 0);
}

/* Set rip, rsp and rdi (the start argument) and optionally resume. */
static inline pc_word_t pc_tcb_start(pc_cptr_t tcb, uint64_t rip, uint64_t rsp, uint64_t arg,
                                     int resume)
{
    pc_word_t a[2 + PC_REG_RDI + 1] = {0};
    a[0] = resume ? 1 : 0;
    a[1] = PC_REG_RDI + 1;
    a[2 + PC_REG_RIP] = rip;
    a[2 + PC_REG_RSP] = rsp;
    a[2 + PC_REG_RDI] = arg;
    return pc_invoke(tcb, PC_TCB_WRITE_REGISTERS, 2 + PC_REG_RDI + 1, a, 0, NULL, NULL, 0);
}

static inline pc_word_t pc_tcb_resume(pc_cptr_t tcb)
{
    return pc_invoke(tcb, PC_TCB_RESUME, 0, NULL, 0, NULL, NULL, 0);
}
static inline pc_word_t pc_tcb_suspend(pc_cptr_t tcb)
{
    return pc_invoke(tcb, PC_TCB_SUSPEND, 0, NULL, 0, NULL, NULL, 0);
}

static inline pc_word_t pc_tcb_bind_notification(pc_cptr_t tcb, pc_cptr_t ntfn)
{
    return pc_invoke(tcb, PC_TCB_BIND_NOTIFICATION, 0, NULL, 1, &ntfn, NULL, 0);
}

static inline pc_word_t pc_page_table_map(pc_cptr_t table, pc_cptr_t vspace, uint64_t vaddr)
{
    return pc_invoke(table, PC_PAGE_TABLE_MAP, 1, &vaddr, 1, &vspace, NULL, 0);
}

static inline pc_word_t pc_frame_map(pc_cptr_t frame, pc_cptr_t vspace, uint64_t vaddr,
                                     unsigned rights, unsigned attrs)
{
    pc_word_t a[3] = {vaddr, rights, attrs};
    return pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &vspace, NULL, 0);
}

static inline pc_word_t pc_frame_unmap(pc_cptr_t frame)
{
    return pc_invoke(frame, PC_FRAME_UNMAP, 0, NULL, 0, NULL, NULL, 0);
}

static inline pc_word_t pc_frame_get_address(pc_cptr_t frame, uint64_t *paddr)
{
    return pc_invoke(frame, PC_FRAME_GET_ADDRESS, 0, NULL, 0, NULL, paddr, 1);
}

static inline pc_word_t pc_irq_control_get(pc_cptr_t irqc, unsigned gsi, unsigned flags,
                                           pc_word_t dest, pc_word_t *vector)
{
    pc_word_t a[3] = {gsi, flags, dest};
    return pc_invoke(irqc, PC_IRQ_CONTROL_GET, 3, a, 0, NULL, vector, 1);
}

/* As pc_irq_control_get, with the redirection entry in the VT-d remappable format pointing at
 * IRTE `index` (PC_IRQ_REMAP is added to flags). Write the IRTE with the returned vector. */
static inline pc_word_t pc_irq_control_get_remapped(pc_cptr_t irqc, unsigned gsi, unsigned flags,
                                                    pc_word_t index, pc_word_t dest,
                                                    pc_word_t *vector)
{
    pc_word_t a[4] = {gsi, flags | PC_IRQ_REMAP, dest, index};
    return pc_invoke(irqc, PC_IRQ_CONTROL_GET, 4, a, 0, NULL, vector, 1);
}

/* res[0] = vector, res[1] = MSI address, res[2] = MSI data. */
static inline pc_word_t pc_irq_control_get_msi(pc_cptr_t irqc, pc_word_t dest, pc_word_t res[3])
{
    return pc_invoke(irqc, PC_IRQ_CONTROL_GET_MSI, 1, &dest, 0, NULL, res, 3);
}

static inline pc_word_t pc_irq_handler_set_notification(pc_cptr_t irq, pc_cptr_t ntfn)
{
    return pc_invoke(irq, PC_IRQ_HANDLER_SET_NOTIFICATION, 0, NULL, 1, &ntfn, NULL, 0);
}

static inline pc_word_t pc_irq_handler_ack(pc_cptr_t irq)
{
    return pc_invoke(irq, PC_IRQ_HANDLER_ACK, 0, NULL, 0, NULL, NULL, 0);
}

/* Move an I/O APIC line to remapped delivery through IRTE `index` (write the IRTE first). */
static inline pc_word_t pc_irq_handler_set_remap(pc_cptr_t irq, pc_word_t index)
{
    return pc_invoke(irq, PC_IRQ_HANDLER_SET_REMAP, 1, &index, 0, NULL, NULL, 0);
}

static inline pc_word_t pc_ioport_in8(pc_cptr_t io, uint16_t port, uint8_t *val)
{
    pc_word_t a = port, r = 0;
    pc_word_t err = pc_invoke(io, PC_IOPORT_IN8, 1, &a, 0, NULL, &r, 1);
    *val = (uint8_t)r;
    return err;
}

static inline pc_word_t pc_ioport_out8(pc_cptr_t io, uint16_t port, uint8_t val)
{
    pc_word_t a[2] = {port, val};
    return pc_invoke(io, PC_IOPORT_OUT8, 2, a, 0, NULL, NULL, 0);
}

static inline pc_word_t pc_ioport_issue(pc_cptr_t io, uint16_t first, uint16_t last, pc_word_t dest)
{
    pc_word_t a[3] = {first, last, dest};
    return pc_invoke(io, PC_IOPORT_ISSUE, 3, a, 0, NULL, NULL, 0);
}

/* Works on every cap type (a CALL on an endpoint would be IPC): res[0] = cap type,
 * res[1] = rights, res[2] = badge. */
static inline pc_word_t pc_cap_identify(pc_cptr_t cap, pc_word_t res[3])
{
    pc_msg_t m = {0};
    pc_word_t err = pc_syscall(PC_SYS_IDENTIFY, cap, 0, &m);
    res[0] = m.mr[0];
    res[1] = m.mr[1];
    res[2] = m.mr[2];
    return err;
}

#endif /* PORTCULLIS_INVOKE_H */
