/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The data types of the Portcullis kernel interface, shared by the kernel and user code: object
 * and capability types, rights, message info word, IPC buffer layout, virtual-memory attributes.
 * The kernel compiles against this very header, so there is one definition of every layout.
 *
 * Capability addressing: every thread has one CNode as its capability space root. A CNode is a
 * flat array of 2^n slots; a capability pointer (pc_cptr_t) is simply a slot index in the calling
 * thread's root CNode. Slot 0 of every CNode is reserved and always empty (the null cptr).
 */
#ifndef PORTCULLIS_TYPES_H
#define PORTCULLIS_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t pc_word_t;
typedef uint64_t pc_cptr_t; /* slot index in the caller's root CNode; 0 = null */
typedef uint64_t pc_badge_t;

#define PC_NULL_CPTR ((pc_cptr_t)0)

/* Kernel objects that Untyped_Retype can create, and the other capability types. */
enum pc_object_type {
    PC_OBJ_NULL = 0,
    PC_OBJ_UNTYPED = 1,      /* size_bits = log2 bytes, PC_UNTYPED_MIN_BITS..PC_UNTYPED_MAX_BITS */
    PC_OBJ_TCB = 2,          /* 2^PC_TCB_BITS bytes */
    PC_OBJ_ENDPOINT = 3,     /* 2^PC_ENDPOINT_BITS bytes */
    PC_OBJ_NOTIFICATION = 4, /* 2^PC_NOTIFICATION_BITS bytes */
    PC_OBJ_CNODE = 5,     /* size_bits = log2 slots (1..PC_CNODE_MAX_BITS), 2^(n+PC_SLOT_BITS) B */
    PC_OBJ_VSPACE = 6,    /* a PML4: one 4 KiB page; the kernel half is filled in by the kernel */
    PC_OBJ_PDPT = 7,      /* page-directory-pointer table, maps 512 GiB, 4 KiB */
    PC_OBJ_PD = 8,        /* page directory, maps 1 GiB, 4 KiB */
    PC_OBJ_PT = 9,        /* page table, maps 2 MiB, 4 KiB */
    PC_OBJ_FRAME_4K = 10, /* 4 KiB frame */
    PC_OBJ_FRAME_2M = 11, /* 2 MiB frame */
    PC_OBJ_TYPE_COUNT_RETYPABLE = 12,
    /* Capability types that are never created by retype. */
    PC_CAP_IRQ_CONTROL = 12,
    PC_CAP_IRQ_HANDLER = 13,
    PC_CAP_IOPORT = 14,
    PC_CAP_REPLY = 15, /* a saved reply capability (CNode_SaveCaller); see below */
    PC_CAP_TYPE_COUNT = 16,
};

/*
 * Reply capabilities. A server that received a call may move the pending reply into a slot
 * (PC_CNODE_SAVE_CALLER) and receive further calls meanwhile; the caller stays blocked.
 * A Reply cap is one-shot and unique (Copy/Mint and IPC transfer refuse it; Move keeps it):
 *   SEND / NB_SEND on it  deliver the message (MRs; caps if the caller's endpoint cap had GRANT
 *                         or GRANT_REPLY) to the caller, wake it, and empty the slot. Never
 *                         blocks. CALL on it: PC_ERR_ILLEGAL_OPERATION, nothing changes.
 *   the caller went away  (suspended, deleted, its call cancelled) the cap turns stale: a send
 *                         on it returns PC_ERR_NO_REPLY and empties the slot.
 *   deleting it           wakes the caller with PC_ERR_CANCELLED (a faulted thread stays
 *                         stopped), so a client never waits forever for a server that gave up.
 * A label >= PC_LABEL_NOTIFICATION is refused (PC_ERR_INVALID_ARGUMENT) and consumes nothing.
 */

#define PC_TCB_BITS 11
#define PC_ENDPOINT_BITS 5
#define PC_NOTIFICATION_BITS 6
#define PC_SLOT_BITS 6 /* one CNode slot is 64 bytes */
#define PC_CNODE_MAX_BITS 16
#define PC_PAGE_BITS 12
#define PC_LARGE_PAGE_BITS 21
#define PC_UNTYPED_MIN_BITS 4
#define PC_UNTYPED_MAX_BITS 47

/* Capability rights (CNode_Copy/Mint rights masks). Frames use READ/WRITE. */
#define PC_RIGHT_READ (1u << 0)        /* receive / wait / map readable */
#define PC_RIGHT_WRITE (1u << 1)       /* send / signal / map writable */
#define PC_RIGHT_GRANT (1u << 2)       /* transfer capabilities along with a sent message */
#define PC_RIGHT_GRANT_REPLY (1u << 3) /* the receiver's reply to a call may transfer caps */
#define PC_RIGHTS_ALL 0xfu

/* Frame_Map rights argument and attributes. */
#define PC_VM_READ (1u << 0)
#define PC_VM_WRITE (1u << 1)
#define PC_VM_EXEC (1u << 2)
#define PC_VM_ATTR_UNCACHED (1u << 0) /* PCD|PWT: for MMIO (device frames) */

/* User virtual addresses are canonical lower-half addresses below this. */
#define PC_USER_TOP 0x0000800000000000ull

/* Message registers: MR0..MR3 travel in CPU registers, the rest in the IPC buffer. */
#define PC_MSG_MAX_LENGTH 64
#define PC_MSG_REG_COUNT 4
#define PC_MSG_MAX_EXTRA_CAPS 3

/*
 * Message info word (rsi): describes a message.
 *   bits 0..6   length        number of message registers (0..PC_MSG_MAX_LENGTH)
 *   bits 7..8   extra_caps    capabilities sent (cptrs in ipc_buffer->caps_or_badges)
 *   bits 9..11  caps_unwrapped  on receive: bit i set = caps_or_badges[i] is a badge
 *   bits 12..63 label         the message's label / the invocation label
 */
typedef uint64_t pc_msginfo_t;
#define PC_MSGINFO_LENGTH_MASK 0x7full
#define PC_MSGINFO_EXTRA_CAPS_SHIFT 7
#define PC_MSGINFO_UNWRAPPED_SHIFT 9
#define PC_MSGINFO_LABEL_SHIFT 12

static inline pc_msginfo_t pc_msginfo(uint64_t label, unsigned unwrapped, unsigned extra_caps,
                                      unsigned length)
{
    return (label << PC_MSGINFO_LABEL_SHIFT) |
           ((uint64_t)(unwrapped & 7u) << PC_MSGINFO_UNWRAPPED_SHIFT) |
           ((uint64_t)(extra_caps & 3u) << PC_MSGINFO_EXTRA_CAPS_SHIFT) |
           (length & PC_MSGINFO_LENGTH_MASK);
}
static inline uint64_t pc_msginfo_label(pc_msginfo_t m)
{
    return m >> PC_MSGINFO_LABEL_SHIFT;
}
static inline unsigned pc_msginfo_length(pc_msginfo_t m)
{
    return (unsigned)(m & PC_MSGINFO_LENGTH_MASK);
}
static inline unsigned pc_msginfo_extra_caps(pc_msginfo_t m)
{
    return (unsigned)(m >> PC_MSGINFO_EXTRA_CAPS_SHIFT) & 3u;
}
static inline unsigned pc_msginfo_unwrapped(pc_msginfo_t m)
{
    return (unsigned)(m >> PC_MSGINFO_UNWRAPPED_SHIFT) & 7u;
}

/*
 * Reserved labels the kernel uses for messages it generates. User senders may not use them
 * (a send with one of these labels fails with PC_ERR_INVALID_ARGUMENT).
 *   PC_LABEL_NOTIFICATION: a receive on an endpoint returned a signal of the thread's bound
 *     notification instead of a message; the badge register holds the notification word.
 *   PC_LABEL_FAULT: a fault message (see <portcullis/fault.h>).
 */
#define PC_LABEL_NOTIFICATION 0xffffffffffffeull
#define PC_LABEL_FAULT 0xfffffffffffffull

/*
 * The IPC buffer: one per thread, in a frame the thread's TCB was configured with
 * (TCB_Configure), at a user address aligned to PC_IPC_BUFFER_ALIGN so it never crosses a page.
 * The kernel reaches it through the frame, never through the user address.
 */
typedef struct pc_ipc_buffer {
    pc_word_t tag;                   /* free for user code */
    pc_word_t mr[PC_MSG_MAX_LENGTH]; /* mr[0..3] unused: those travel in registers */
    pc_word_t user_data;             /* free for user code (e.g. thread pointer) */
    pc_word_t caps_or_badges[PC_MSG_MAX_EXTRA_CAPS]; /* send: cptrs; receive: unwrapped badges */
    pc_word_t receive_index; /* slot in own root CNode for a received cap; 0 = none */
    pc_word_t reserved[2];
} pc_ipc_buffer_t;

#define PC_IPC_BUFFER_ALIGN 1024
_Static_assert(sizeof(pc_ipc_buffer_t) == 72 * 8, "pc_ipc_buffer_t layout");
_Static_assert(sizeof(pc_ipc_buffer_t) <= PC_IPC_BUFFER_ALIGN, "IPC buffer fits its alignment");

/* Timeouts for receive/wait, in microseconds. */
#define PC_TIMEOUT_POLL 0ull
#define PC_TIMEOUT_FOREVER (~0ull)

/* Thread register indices for TCB_ReadRegisters / TCB_WriteRegisters. */
enum pc_reg_index {
    PC_REG_RIP = 0,
    PC_REG_RSP,
    PC_REG_RFLAGS,
    PC_REG_RAX,
    PC_REG_RBX,
    PC_REG_RCX,
    PC_REG_RDX,
    PC_REG_RSI,
    PC_REG_RDI,
    PC_REG_RBP,
    PC_REG_R8,
    PC_REG_R9,
    PC_REG_R10,
    PC_REG_R11,
    PC_REG_R12,
    PC_REG_R13,
    PC_REG_R14,
    PC_REG_R15,
    PC_REG_COUNT
};

#define PC_MAX_PRIO 255

#endif /* PORTCULLIS_TYPES_H */
