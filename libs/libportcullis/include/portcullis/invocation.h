/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Object invocation labels and their arguments: the one declaration of the kernel's object
 * interface. An invocation is a PC_SYS_CALL (or PC_SYS_SEND, results discarded) on a capability
 * to a kernel object, with the label in the message info, arguments in message registers and
 * capability arguments as "extra caps" (cptrs in ipc_buffer->caps_or_badges). The kernel answers
 * at once: rax = error code, message info length = number of result registers.
 *
 * X(name, value, invoked cap type, arguments -> results)
 * "dest" slots are indices in the destination CNode; CNode arguments default to the caller's root.
 */
#ifndef PORTCULLIS_INVOCATION_H
#define PORTCULLIS_INVOCATION_H

/* One line per argument description reads better than reflowed strings. */
/* clang-format off */
#define PC_INVOCATIONS(X)                                                                          \
    /* Untyped */                                                                                  \
    X(PC_UNTYPED_RETYPE, 1, "Untyped",                                                             \
      "MR0 type, MR1 size_bits (Untyped: log2 bytes, CNode: log2 slots; else ignored), MR2 dest "  \
      "index, MR3 count (1..256); cap0 (optional) dest CNode. Objects are zeroed (device memory is " \
      "not) and placed at the watermark aligned to their size; if the untyped has no children the " \
      "watermark is reset to 0 first. Device untyped: frames only.")                               \
    /* CNode (the invoked cap is the destination CNode) */                                         \
    X(PC_CNODE_COPY, 2, "CNode", "MR0 dest index, MR1 src index, MR2 rights mask; cap0 (optional) " \
      "source CNode (default: the invoked CNode). The copy is a child of the source in the "       \
      "derivation tree. Untyped caps cannot be copied.")                                           \
    X(PC_CNODE_MINT, 3, "CNode", "as COPY plus MR3 badge (endpoint, notification: the badge must " \
      "be non-zero and the source unbadged)")                                                      \
    X(PC_CNODE_MOVE, 4, "CNode", "MR0 dest index, MR1 src index; cap0 (optional) source CNode")   \
    X(PC_CNODE_DELETE, 5, "CNode", "MR0 index: delete the cap; the object dies with its last cap") \
    X(PC_CNODE_REVOKE, 6, "CNode", "MR0 index: delete every capability derived from it")          \
    X(PC_CNODE_SAVE_CALLER, 7, "CNode", "MR0 dest index (empty): move the caller's pending reply " \
      "into a PC_CAP_REPLY cap there (types.h); PC_ERR_NO_REPLY if no caller waits")              \
    /* TCB */                                                                                      \
    X(PC_TCB_CONFIGURE, 10, "TCB", "MR0 IPC buffer vaddr (aligned to PC_IPC_BUFFER_ALIGN); cap0 "  \
      "cspace root CNode, cap1 VSpace, cap2 (optional) IPC buffer frame")                          \
    X(PC_TCB_SET_PRIORITY, 11, "TCB", "MR0 priority; cap0 authority TCB: priority <= its MCP")    \
    X(PC_TCB_SET_MCP, 12, "TCB", "MR0 maximum controlled priority; cap0 authority TCB")           \
    X(PC_TCB_SET_FAULT_EP, 13, "TCB", "cap0 (optional) fault endpoint (needs WRITE); none clears") \
    X(PC_TCB_READ_REGISTERS, 14, "TCB", "-> MR0..MR17 registers in enum pc_reg_index order")      \
    X(PC_TCB_WRITE_REGISTERS, 15, "TCB", "MR0 flags (bit0 resume), MR1 count n, MR2.. n values "  \
      "in pc_reg_index order. rip/rsp must be canonical user addresses; rflags is sanitised.")     \
    X(PC_TCB_RESUME, 16, "TCB", "make runnable (needs a VSpace); no-op if already running")        \
    X(PC_TCB_SUSPEND, 17, "TCB", "stop the thread, aborting any IPC it is blocked in")            \
    X(PC_TCB_BIND_NOTIFICATION, 18, "TCB", "cap0 notification (needs READ)")                       \
    X(PC_TCB_UNBIND_NOTIFICATION, 19, "TCB", "")                                                   \
    /* Paging structures: VSpace (PML4) <- PDPT <- PD <- PT <- frames */                           \
    X(PC_PAGE_TABLE_MAP, 30, "PDPT/PD/PT", "MR0 vaddr; cap0 VSpace. Missing upper level: "         \
      "PC_ERR_FAILED_LOOKUP with MR0 = the object type needed")                                    \
    X(PC_PAGE_TABLE_UNMAP, 31, "PDPT/PD/PT", "")                                                   \
    X(PC_FRAME_MAP, 32, "Frame", "MR0 vaddr, MR1 PC_VM_* rights, MR2 PC_VM_ATTR_* attributes; "    \
      "cap0 VSpace. One mapping per frame cap (copy the cap to map it twice).")                    \
    X(PC_FRAME_UNMAP, 33, "Frame", "")                                                             \
    X(PC_FRAME_GET_ADDRESS, 34, "Frame", "-> MR0 physical address")                               \
    /* Interrupts */                                                                               \
    X(PC_IRQ_CONTROL_GET, 40, "IRQControl", "MR0 GSI (or ISA IRQ with PC_IRQ_ISA), MR1 PC_IRQ_* " \
      "flags, MR2 dest index, MR3 IRTE index (0..0xffff, only with PC_IRQ_REMAP) -> MR0 vector. "  \
      "ISA IRQs follow the MADT source overrides. PC_IRQ_REMAP: the redirection entry is written " \
      "in the VT-d remappable format (the IRTE's vector must be the returned one).")               \
    X(PC_IRQ_CONTROL_GET_MSI, 41, "IRQControl", "MR0 dest index -> MR0 vector, MR1 MSI address, " \
      "MR2 MSI data (program these into the device)")                                              \
    X(PC_IRQ_HANDLER_ACK, 42, "IRQHandler", "re-enable delivery after a signal")                   \
    X(PC_IRQ_HANDLER_SET_NOTIFICATION, 43, "IRQHandler", "cap0 notification (needs WRITE); its " \
      "badge is signalled")                                                                        \
    X(PC_IRQ_HANDLER_CLEAR, 44, "IRQHandler", "unbind the notification")                         \
    X(PC_IRQ_HANDLER_SET_REMAP, 45, "IRQHandler", "MR0 IRTE index (0..0xffff): re-program an "   \
      "I/O APIC line's redirection entry to the VT-d remappable format with that index (masked "  \
      "while rewritten, mask state kept). MSI handlers: PC_ERR_ILLEGAL_OPERATION.")                \
    /* I/O ports */                                                                                \
    X(PC_IOPORT_IN8, 50, "IOPort", "MR0 port -> MR0 value")                                        \
    X(PC_IOPORT_IN16, 51, "IOPort", "MR0 port -> MR0 value")                                       \
    X(PC_IOPORT_IN32, 52, "IOPort", "MR0 port -> MR0 value")                                       \
    X(PC_IOPORT_OUT8, 53, "IOPort", "MR0 port, MR1 value")                                         \
    X(PC_IOPORT_OUT16, 54, "IOPort", "MR0 port, MR1 value")                                        \
    X(PC_IOPORT_OUT32, 55, "IOPort", "MR0 port, MR1 value")                                        \
    X(PC_IOPORT_ISSUE, 56, "IOPort", "MR0 first, MR1 last (inclusive, within the invoked range), " \
      "MR2 dest index: a narrower IOPort cap, a child of the invoked one")

/* clang-format on */

enum pc_invocation_label {
#define PC_INVOCATION_ENUM_(name, value, cap, doc) name = value,
    PC_INVOCATIONS(PC_INVOCATION_ENUM_)
#undef PC_INVOCATION_ENUM_
};

/* PC_IRQ_CONTROL_GET flags (MR1). */
#define PC_IRQ_LEVEL (1u << 0)      /* level-triggered (default edge) */
#define PC_IRQ_ACTIVE_LOW (1u << 1) /* active low (default high) */
#define PC_IRQ_ISA (1u << 2)        /* MR0 is an ISA IRQ: apply the MADT override (and its flags) */
#define PC_IRQ_REMAP (1u << 3)      /* VT-d remappable format, MR3 = IRTE index (VT-d 5.1.5.1) */
#define PC_IRQ_REMAP_INDEX_MAX 0xFFFFu /* interrupt_index is 16 bits */

#endif /* PORTCULLIS_INVOCATION_H */
