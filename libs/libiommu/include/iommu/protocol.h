/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server's two IPC protocols, declared once. IOMMU_CLIENT_METHODS is what drivers may
 * ask (badge = client); IOMMU_HOTPLUG_METHODS is what only the hotplug server may ask (its own
 * endpoint and badge). From these tables come the label enums, the argument/result structs,
 * the client encoders and reply decoders below, the server's generic message checks and the
 * protocol tables in docs/iommu.md (printed by the iommu_protocol_doc host tool), so a method's
 * arguments, results and possible errors are written down exactly once.
 *
 * The library never includes the kernel ABI: the server glue copies a pc_msg_t (label, badge,
 * message registers) into a struct iommu_msg, resolves any transferred capability into a
 * struct iommu_cap_ref, and sends the struct iommu_reply back with the error as the label.
 */
#ifndef IOMMU_PROTOCOL_H
#define IOMMU_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>

/* ---- Errors: one enum per interface ----------------------------------------------------- */
#define IOMMU_ERRORS(X)                                                                            \
    X(IOMMU_OK, 0, "success")                                                                      \
    X(IOMMU_ERR_BAD_LABEL, 1, "unknown method label")                                              \
    X(IOMMU_ERR_BAD_MSG, 2, "wrong number of words or capabilities for the method")                \
    X(IOMMU_ERR_DENIED, 3, "badge is not a registered client")                                     \
    X(IOMMU_ERR_BAD_ARG, 4, "argument has bits set outside its defined range")                     \
    X(IOMMU_ERR_NOT_GRANTED, 5, "the client was not granted this device")                          \
    X(IOMMU_ERR_ABSENT, 6, "no device is present at this source-id")                               \
    X(IOMMU_ERR_STALE, 7, "device handle from an earlier occupant of the slot")                    \
    X(IOMMU_ERR_FENCED, 8, "device is fenced (being removed or gone)")                             \
    X(IOMMU_ERR_QUARANTINED, 9, "device failed to answer an invalidation and is quarantined")      \
    X(IOMMU_ERR_BUSY, 10, "device is attached to another client")                                  \
    X(IOMMU_ERR_ALREADY, 11, "device is already attached to this client")                          \
    X(IOMMU_ERR_NOT_ATTACHED, 12, "device is not attached to this client")                         \
    X(IOMMU_ERR_UNIT, 13, "device sits behind another remapping unit than the client's domain")    \
    X(IOMMU_ERR_ALIGN, 14, "address, offset or size not 4 KiB aligned, or size 0")                 \
    X(IOMMU_ERR_RANGE, 15, "range overflows, leaves the domain or the memory region")              \
    X(IOMMU_ERR_RIGHTS, 16, "rights empty, unknown, or beyond what the memory grants")             \
    X(IOMMU_ERR_BAD_MEMORY, 17, "no such memory grant, or no frame capability transferred")        \
    X(IOMMU_ERR_OVERLAP, 18, "range overlaps an existing or reserved mapping")                     \
    X(IOMMU_ERR_NO_SLOTS, 19, "the domain's mapping table is full")                                \
    X(IOMMU_ERR_NO_MEMORY, 20, "out of page-table pages")                                          \
    X(IOMMU_ERR_NOT_MAPPED, 21, "nothing is mapped in the range")                                  \
    X(IOMMU_ERR_SPLIT, 22, "range would split a mapping")                                          \
    X(IOMMU_ERR_RESERVED, 23, "range holds a reserved (RMRR) mapping")                             \
    X(IOMMU_ERR_NOT_ATS, 24, "device has no ATS enabled")                                          \
    X(IOMMU_ERR_UNSUPPORTED, 25, "the remapping unit cannot do this (e.g. no PRS/PASID)")          \
    X(IOMMU_ERR_NO_PASID, 26, "no free PASID")                                                     \
    X(IOMMU_ERR_NOT_BOUND, 27, "PASID not bound to this device by this client")                    \
    X(IOMMU_ERR_DEVICE_TIMEOUT, 28,                                                                \
      "done, but a device did not answer its device-TLB invalidation and was quarantined")         \
    X(IOMMU_ERR_HW, 29, "the remapping unit failed; state kept safe, retry may help")              \
    X(IOMMU_ERR_NO_IRTE, 30, "no free interrupt-remapping entry (server table or unit IRT full)")  \
    X(IOMMU_ERR_REVOKED, 31, "the root task revoked this memory grant or these frames")
#define IOMMU_ERR_ENUM_(name, val, text) name = val,
enum iommu_err { IOMMU_ERRORS(IOMMU_ERR_ENUM_) IOMMU_ERR_COUNT_ };
#undef IOMMU_ERR_ENUM_

#define IOMMU_HP_ERRORS(X)                                                                         \
    X(IOMMU_HP_OK, 0, "success")                                                                   \
    X(IOMMU_HP_ERR_BAD_LABEL, 1, "unknown method label")                                           \
    X(IOMMU_HP_ERR_BAD_MSG, 2, "wrong number of words or capabilities for the method")             \
    X(IOMMU_HP_ERR_DENIED, 3, "badge is not the hotplug server's")                                 \
    X(IOMMU_HP_ERR_BAD_ARG, 4, "source-id or mode outside its defined range")                      \
    X(IOMMU_HP_ERR_UNKNOWN, 5, "no device was ever seen at this source-id")                        \
    X(IOMMU_HP_ERR_NO_UNIT, 6, "no remapping unit's scope covers this source-id")                  \
    X(IOMMU_HP_ERR_NO_SPACE, 7, "device index full")                                               \
    X(IOMMU_HP_ERR_PRESENT, 8, "device_added for a source-id that is present and not removed")     \
    X(IOMMU_HP_ERR_HW, 9, "the remapping unit failed an invalidation; the entry is blocked")       \
    X(IOMMU_HP_ERR_NOT_GRANTED, 10, "the root task granted no interrupt vector for this port")     \
    X(IOMMU_HP_ERR_NO_IRTE, 11, "no free interrupt-remapping entry")                               \
    X(IOMMU_HP_ERR_UNSUPPORTED, 12, "the port's remapping unit has no interrupt remapping")
#define IOMMU_ERR_ENUM_(name, val, text) name = val,
enum iommu_hp_err { IOMMU_HP_ERRORS(IOMMU_ERR_ENUM_) IOMMU_HP_ERR_COUNT_ };
#undef IOMMU_ERR_ENUM_

const char *iommu_strerror(unsigned err);
const char *iommu_errname(unsigned err);
const char *iommu_hp_strerror(unsigned err);
const char *iommu_hp_errname(unsigned err);

/* ---- Argument conventions ------------------------------------------------------------------ */
/*
 * A device handle names one occupant of a slot: generation << 16 | source-id. attach returns it;
 * after device_added at the same source-id the generation moves on and the old handle is
 * refused with IOMMU_ERR_STALE. Bits 63:48 must be zero.
 */
#define IOMMU_HANDLE(sid, gen) (((uint64_t)(uint32_t)(gen) << 16) | (uint16_t)(sid))
#define IOMMU_HANDLE_SID(h) ((uint16_t)((h)&0xffffu))
#define IOMMU_HANDLE_GEN(h) ((uint32_t)((h) >> 16))
#define IOMMU_HANDLE_MAX ((1ull << 48) - 1)

#define IOMMU_PAGE_SIZE 4096ull
/* map rights */
#define IOMMU_READ 1u
#define IOMMU_WRITE 2u
/* map `memory`: a memory-grant index, or this value for "the frame capability transferred
   with the message" (cap_ref[0]). */
#define IOMMU_MEM_CAP 0xffffffffull
/* status word bits (unmap, detach, ats_flush, device_fence) */
#define IOMMU_STATUS_DEVICE_GONE                                                                   \
    (1u << 0)                              /* a device of the domain is fenced: nothing was sent   \
                                              to its device-TLB; done locally */
#define IOMMU_STATUS_QUARANTINED (1u << 1) /* a device timed out and was quarantined */
#define IOMMU_STATUS_ALREADY (1u << 2)     /* device_fence: already fenced (idempotent) */
/* device_fence mode */
#define IOMMU_FENCE_ORDERLY 1u
#define IOMMU_FENCE_SURPRISE 2u
/* attach flags result */
#define IOMMU_ATTACH_ATS (1u << 0)  /* ATS enabled for the device */
#define IOMMU_ATTACH_RMRR (1u << 1) /* a reserved (RMRR) identity range was mapped */
/* fault_read: each record is two words after the two result words */
#define IOMMU_FAULT_WORDS 2u

/* ---- The client protocol ------------------------------------------------------------------- */
/*
 * M(NAME, name, label, ARGS, RETS, max_caps, ERRS, doc). ARGS/RETS are X-lists A(field, doc);
 * ERRS is an X-list E(ERR) naming every error the method can return besides IOMMU_OK.
 * Every method can also return BAD_LABEL (not really: the label decides the method), BAD_MSG
 * and DENIED, listed explicitly all the same.
 */
#define IOMMU_ATTACH_ARGS(A) A(sid, "source-id of a device granted to the client")
#define IOMMU_ATTACH_RETS(A)                                                                       \
    A(handle, "device handle (generation << 16 | sid)")                                            \
    A(flags, "IOMMU_ATTACH_* bits")
#define IOMMU_ATTACH_ERRS(E)                                                                       \
    E(BAD_MSG)                                                                                     \
    E(DENIED)                                                                                      \
    E(BAD_ARG)                                                                                     \
    E(NOT_GRANTED)                                                                                 \
    E(ABSENT) E(FENCED) E(QUARANTINED) E(BUSY) E(ALREADY) E(UNIT) E(OVERLAP) E(NO_SLOTS)           \
        E(NO_MEMORY) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_DETACH_ARGS(A) A(handle, "device handle from attach")
#define IOMMU_DETACH_RETS(A) A(status, "IOMMU_STATUS_* bits")
#define IOMMU_DETACH_ERRS(E)                                                                       \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(STALE) E(NOT_ATTACHED) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_MAP_ARGS(A)                                                                          \
    A(iova, "I/O virtual address, 4 KiB aligned")                                                  \
    A(memory, "memory-grant index, or IOMMU_MEM_CAP for the transferred frame capability")         \
    A(offset, "byte offset into that memory, 4 KiB aligned")                                       \
    A(size, "bytes, 4 KiB multiple, > 0")                                                          \
    A(rights, "IOMMU_READ | IOMMU_WRITE, within the memory's rights")
#define IOMMU_MAP_RETS(A)
#define IOMMU_MAP_ERRS(E)                                                                          \
    E(BAD_MSG)                                                                                     \
    E(DENIED)                                                                                      \
    E(ALIGN) E(RANGE) E(RIGHTS) E(BAD_MEMORY) E(OVERLAP) E(NO_SLOTS) E(NO_MEMORY) E(REVOKED) E(HW)

/* map_pool: the memory word carries the grant index and the rights (IOMMU_POOL_MEMORY), so the
 * request fits the kernel's four register words (its IPC fastpath); never a capability. */
#define IOMMU_POOL_MEMORY(grant, rights) ((uint64_t)(uint32_t)(grant) | (uint64_t)(rights) << 32)
#define IOMMU_MAP_POOL_ARGS(A)                                                                     \
    A(iova, "I/O virtual address, 4 KiB aligned")                                                  \
    A(memory, "IOMMU_POOL_MEMORY(memory-grant index, IOMMU_READ | IOMMU_WRITE)")                   \
    A(offset, "byte offset into the grant, 4 KiB aligned")                                         \
    A(size, "bytes, 4 KiB multiple, > 0")
#define IOMMU_MAP_POOL_RETS(A)
#define IOMMU_MAP_POOL_ERRS(E)                                                                     \
    E(BAD_MSG)                                                                                     \
    E(DENIED)                                                                                      \
    E(ALIGN) E(RANGE) E(RIGHTS) E(BAD_MEMORY) E(OVERLAP) E(NO_SLOTS) E(NO_MEMORY) E(REVOKED) E(HW)

#define IOMMU_UNMAP_ARGS(A)                                                                        \
    A(iova, "start of the range, 4 KiB aligned")                                                   \
    A(size, "bytes; every mapping the range touches must lie wholly inside it (holes are fine)")
#define IOMMU_UNMAP_RETS(A)                                                                        \
    A(status, "IOMMU_STATUS_* bits")                                                               \
    A(unmapped, "bytes whose translation was removed")
#define IOMMU_UNMAP_ERRS(E)                                                                        \
    E(BAD_MSG)                                                                                     \
    E(DENIED) E(ALIGN) E(RANGE) E(NOT_MAPPED) E(SPLIT) E(RESERVED) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_ATS_FLUSH_ARGS(A)                                                                    \
    A(handle, "device handle from attach")                                                         \
    A(iova, "start, 4 KiB aligned")                                                                \
    A(size, "bytes, 4 KiB multiple; 0 = the whole device-TLB")
#define IOMMU_ATS_FLUSH_RETS(A) A(status, "IOMMU_STATUS_* bits")
#define IOMMU_ATS_FLUSH_ERRS(E)                                                                    \
    E(BAD_MSG)                                                                                     \
    E(DENIED)                                                                                      \
    E(BAD_ARG)                                                                                     \
    E(STALE) E(NOT_ATTACHED) E(NOT_ATS) E(ALIGN) E(RANGE) E(QUARANTINED) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_FAULT_READ_ARGS(A) A(max, "records wanted (capped to what one reply holds)")
#define IOMMU_FAULT_READ_RETS(A)                                                                   \
    A(count, "records that follow, IOMMU_FAULT_WORDS words each (iommu_fault_unpack)")             \
    A(dropped, "records lost to ring overflow or rate limiting since the last read")
#define IOMMU_FAULT_READ_ERRS(E) E(BAD_MSG) E(DENIED)

#define IOMMU_PASID_BIND_ARGS(A) A(handle, "device handle from attach")
#define IOMMU_PASID_BIND_RETS(A) A(pasid, "PASID now translating through the client's domain")
#define IOMMU_PASID_BIND_ERRS(E)                                                                   \
    E(BAD_MSG)                                                                                     \
    E(DENIED)                                                                                      \
    E(BAD_ARG)                                                                                     \
    E(STALE)                                                                                       \
    E(NOT_ATTACHED) E(FENCED) E(QUARANTINED) E(UNSUPPORTED) E(NO_PASID) E(NO_MEMORY)               \
        E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_PASID_UNBIND_ARGS(A)                                                                 \
    A(handle, "device handle the PASID was bound for")                                             \
    A(pasid, "PASID from pasid_bind")
#define IOMMU_PASID_UNBIND_RETS(A) A(status, "IOMMU_STATUS_* bits")
#define IOMMU_PASID_UNBIND_ERRS(E)                                                                 \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(STALE) E(NOT_BOUND) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_CLIENT_METHODS(M)                                                                    \
    M(ATTACH, attach, 1, IOMMU_ATTACH_ARGS, IOMMU_ATTACH_RETS, 0, IOMMU_ATTACH_ERRS,               \
      "Give a granted device the client's domain; ATS on if device, unit and ATSR/SATC allow it.") \
    M(DETACH, detach, 2, IOMMU_DETACH_ARGS, IOMMU_DETACH_RETS, 0, IOMMU_DETACH_ERRS,               \
      "Block the device (orderly: ATS off, entry blocked, caches and device-TLB flushed).")        \
    M(MAP, map, 3, IOMMU_MAP_ARGS, IOMMU_MAP_RETS, 1, IOMMU_MAP_ERRS,                              \
      "Map memory the client holds into its domain; the memory stays pinned while mapped.")        \
    M(UNMAP, unmap, 4, IOMMU_UNMAP_ARGS, IOMMU_UNMAP_RETS, 0, IOMMU_UNMAP_ERRS,                    \
      "Strict unmap: returns after IOTLB and live device-TLBs dropped the range; one queue "       \
      "submission per request.")                                                                   \
    M(ATS_FLUSH, ats_flush, 5, IOMMU_ATS_FLUSH_ARGS, IOMMU_ATS_FLUSH_RETS, 0,                      \
      IOMMU_ATS_FLUSH_ERRS, "Explicit device-TLB invalidation (never sent to a fenced device).")   \
    M(FAULT_READ, fault_read, 6, IOMMU_FAULT_READ_ARGS, IOMMU_FAULT_READ_RETS, 0,                  \
      IOMMU_FAULT_READ_ERRS, "Read decoded DMA faults of the client's devices.")                   \
    M(PASID_BIND, pasid_bind, 7, IOMMU_PASID_BIND_ARGS, IOMMU_PASID_BIND_RETS, 0,                  \
      IOMMU_PASID_BIND_ERRS,                                                                       \
      "Allocate a PASID translating through the client's domain "                                  \
      "(needs scalable mode with PASID and PRS).")                                                 \
    M(PASID_UNBIND, pasid_unbind, 8, IOMMU_PASID_UNBIND_ARGS, IOMMU_PASID_UNBIND_RETS, 0,          \
      IOMMU_PASID_UNBIND_ERRS,                                                                     \
      "Block the PASID, drain its page requests; the PASID is free "                               \
      "again only after the drain completed.")                                                     \
    M(MAP_POOL, map_pool, 9, IOMMU_MAP_POOL_ARGS, IOMMU_MAP_POOL_RETS, 0, IOMMU_MAP_POOL_ERRS,     \
      "Map a memory grant in four register words (the kernel's IPC fastpath carries it); "         \
      "the grant stays pinned while mapped.")                                                      \
    M(IRQ_ALLOC, irq_alloc, 10, IOMMU_IRQ_ALLOC_ARGS, IOMMU_IRQ_ALLOC_RETS, 0,                     \
      IOMMU_IRQ_ALLOC_ERRS,                                                                        \
      "Write an interrupt-remapping entry for an attached device on one of its vector grants "     \
      "(source-id validated); returns the handle and the MSI address/data to program.")            \
    M(IRQ_FREE, irq_free, 11, IOMMU_IRQ_FREE_ARGS, IOMMU_IRQ_FREE_RETS, 0, IOMMU_IRQ_FREE_ERRS,    \
      "Clear the entry (interrupt cache flushed before the reply) and free it.")                   \
    M(IRQ_RETARGET, irq_retarget, 12, IOMMU_IRQ_RETARGET_ARGS, IOMMU_IRQ_RETARGET_RETS, 0,         \
      IOMMU_IRQ_RETARGET_ERRS,                                                                     \
      "Move the interrupt to another vector grant of the same device (entry rewritten, "           \
      "interrupt cache flushed); the MSI address/data stay the same.")                             \
    M(MAP_VEC, map_vec, 13, IOMMU_MAP_VEC_ARGS, IOMMU_MAP_VEC_RETS, 0, IOMMU_MAP_VEC_ERRS,         \
      "Map a scatter list of memory-grant ranges in one message, all or none, one queue "          \
      "submission; aligned 2 MiB ranges become superpages.")

/*
 * map_vec: a scatter list of memory-grant ranges in one message, one word a range, mapped all or
 * none, with one invalidation batch (one queue submission) for all of them where the unit needs
 * one on map (caching mode). A range word (IOMMU_VEC_RANGE): IOVA page number in bits 63:28
 * (IOVA below 2^48), memory grant in 27:25, IOMMU_READ/WRITE rights in 24:23, page offset into
 * the grant in 22:9 (below 64 MiB), pages - 1 in 8:0 (1..512 pages: up to 2 MiB). Ranges come in
 * ascending IOVA order without overlapping each other; a range whose IOVA, memory and size align
 * to 2 MiB (and a unit with 2 MiB pages) becomes one superpage, as every map does.
 */
#define IOMMU_VEC_MAX 64u /* ranges per message: the kernel's message length */
#define IOMMU_VEC_OFFSET_LIMIT (1ull << 26)
#define IOMMU_VEC_SIZE_MAX (512ull * 4096ull)
#define IOMMU_VEC_RANGE(iova, grant, rights, offset, size)                                         \
    ((((uint64_t)(iova) >> 12) << 28) | ((uint64_t)((grant)&7u) << 25) |                           \
     ((uint64_t)((rights)&3u) << 23) | ((((uint64_t)(offset) >> 12) & 0x3fffu) << 9) |             \
     ((((uint64_t)(size) >> 12) - 1u) & 0x1ffu))
#define IOMMU_VEC_IOVA(r) (((uint64_t)(r) >> 28) << 12)
#define IOMMU_VEC_GRANT(r) ((unsigned)(((r) >> 25) & 7u))
#define IOMMU_VEC_RIGHTS(r) ((unsigned)(((r) >> 23) & 3u))
#define IOMMU_VEC_OFFSET(r) ((((uint64_t)(r) >> 9) & 0x3fffu) << 12)
#define IOMMU_VEC_SIZE(r) ((((uint64_t)(r)&0x1ffu) + 1u) << 12)

#define IOMMU_MAP_VEC_ARGS(A)                                                                      \
    A(ranges, "1..IOMMU_VEC_MAX range words (IOMMU_VEC_RANGE), ascending IOVA, disjoint; the "     \
              "message length is their count")
#define IOMMU_MAP_VEC_RETS(A) A(mapped, "bytes mapped (every range; on an error none)")
#define IOMMU_MAP_VEC_ERRS(E)                                                                      \
    E(BAD_MSG)                                                                                     \
    E(DENIED)                                                                                      \
    E(BAD_ARG) E(RANGE) E(RIGHTS) E(BAD_MEMORY) E(OVERLAP) E(NO_SLOTS) E(NO_MEMORY) E(REVOKED) E(HW)

/*
 * Remapped interrupts. The root task decides how many vectors a driver gets for which device
 * (its vector grants, by index); the driver asks for an interrupt on one of them and receives an
 * opaque interrupt handle and the remappable-format MSI address/data pair to program into its
 * device's MSI or MSI-X capability. The pair names an Interrupt Remapping Table Entry the server
 * wrote with source-id validation for exactly that device: written into any other device it is
 * blocked by the remapping hardware, and no driver ever holds a vector it could aim elsewhere.
 * The handle dies with the device's generation (fence clears the entry, removal frees it).
 */
#define IOMMU_IRQ_HANDLE(serial, slot) (((uint64_t)(uint32_t)(serial) << 16) | (uint16_t)(slot))
#define IOMMU_IRQ_HANDLE_SLOT(h) ((unsigned)((h)&0xffffu))
#define IOMMU_IRQ_HANDLE_SERIAL(h) ((uint32_t)((h) >> 16))
#define IOMMU_IRQ_HANDLE_MAX ((1ull << 48) - 1)

#define IOMMU_IRQ_ALLOC_ARGS(A)                                                                    \
    A(handle, "device handle from attach (the device must be attached to the client)")             \
    A(vector, "index of a vector grant the root task made for this device")
#define IOMMU_IRQ_ALLOC_RETS(A)                                                                    \
    A(irq, "interrupt handle (opaque)")                                                            \
    A(msi_addr, "MSI address to program (remappable format)")                                      \
    A(msi_data, "MSI data to program")
#define IOMMU_IRQ_ALLOC_ERRS(E)                                                                    \
    E(BAD_MSG)                                                                                     \
    E(DENIED)                                                                                      \
    E(BAD_ARG)                                                                                     \
    E(STALE)                                                                                       \
    E(NOT_ATTACHED) E(FENCED) E(QUARANTINED) E(NOT_GRANTED) E(BUSY) E(UNSUPPORTED) E(NO_IRTE)      \
        E(HW)

#define IOMMU_IRQ_FREE_ARGS(A) A(irq, "interrupt handle from irq_alloc")
#define IOMMU_IRQ_FREE_RETS(A)
#define IOMMU_IRQ_FREE_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG) E(STALE) E(HW)

#define IOMMU_IRQ_RETARGET_ARGS(A)                                                                 \
    A(irq, "interrupt handle from irq_alloc")                                                      \
    A(vector, "index of another vector grant for the same device")
#define IOMMU_IRQ_RETARGET_RETS(A)
#define IOMMU_IRQ_RETARGET_ERRS(E)                                                                 \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(STALE) E(FENCED) E(NOT_GRANTED) E(BUSY) E(HW)

/* ---- The hotplug protocol ------------------------------------------------------------------ */
#define IOMMU_DEVICE_FENCE_ARGS(A)                                                                 \
    A(sid, "source-id")                                                                            \
    A(mode, "IOMMU_FENCE_ORDERLY or IOMMU_FENCE_SURPRISE")
#define IOMMU_DEVICE_FENCE_RETS(A) A(status, "IOMMU_STATUS_* bits")
#define IOMMU_DEVICE_FENCE_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG) E(UNKNOWN) E(HW)

#define IOMMU_DEVICE_REMOVED_ARGS(A) A(sid, "source-id")
#define IOMMU_DEVICE_REMOVED_RETS(A)
#define IOMMU_DEVICE_REMOVED_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG) E(UNKNOWN) E(HW)

#define IOMMU_DEVICE_ADDED_ARGS(A) A(sid, "source-id")
#define IOMMU_DEVICE_ADDED_RETS(A) A(generation, "generation of the new occupant")
#define IOMMU_DEVICE_ADDED_ERRS(E)                                                                 \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(NO_UNIT) E(NO_SPACE) E(PRESENT) E(HW)

#define IOMMU_COUNTS_ARGS(A) A(sid, "source-id whose device state is reported too")
#define IOMMU_COUNTS_RETS(A)                                                                       \
    A(domains, "live domains")                                                                     \
    A(mappings, "mapping records, reserved ones included")                                         \
    A(table_pages, "page-table pages of live domains")                                             \
    A(pins, "client memory pins (transferred frame capabilities and grant pins)")                  \
    A(stuck, "mappings whose invalidation the hardware never confirmed")                           \
    A(present, "devices present")                                                                  \
    A(fenced, "devices fenced")                                                                    \
    A(quarantined, "devices quarantined")                                                          \
    A(generation, "generation of the device at sid (0: never seen)")                               \
    A(irtes, "interrupt-remapping entries held, all units")
#define IOMMU_COUNTS_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG)

#define IOMMU_PORT_IRQ_ARGS(A)                                                                     \
    A(sid, "source-id of a hotplug port the root task granted a vector for")
#define IOMMU_PORT_IRQ_RETS(A)                                                                     \
    A(irq, "interrupt handle")                                                                     \
    A(msi_addr, "MSI address to program into the port's MSI/MSI-X (remappable format)")            \
    A(msi_data, "MSI data to program")
#define IOMMU_PORT_IRQ_ERRS(E)                                                                     \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(NOT_GRANTED) E(UNSUPPORTED) E(NO_IRTE) E(HW)

#define IOMMU_HOTPLUG_METHODS(M)                                                                   \
    M(DEVICE_FENCE, device_fence, 64, IOMMU_DEVICE_FENCE_ARGS, IOMMU_DEVICE_FENCE_RETS, 0,         \
      IOMMU_DEVICE_FENCE_ERRS,                                                                     \
      "Mark the device gone/going and block it. Orderly: ATS off in "                              \
      "config space, entry blocked + caches flushed, device-TLB flushed, wait. Surprise: block "   \
      "without touching the device-TLB, ever, until device_added. Idempotent.")                    \
    M(DEVICE_REMOVED, device_removed, 65, IOMMU_DEVICE_REMOVED_ARGS, IOMMU_DEVICE_REMOVED_RETS, 0, \
      IOMMU_DEVICE_REMOVED_ERRS,                                                                   \
      "The device left the slot (fences it first if that was missed); its domain link "            \
      "is dropped, client mappings stay until the client unmaps.")                                 \
    M(DEVICE_ADDED, device_added, 66, IOMMU_DEVICE_ADDED_ARGS, IOMMU_DEVICE_ADDED_RETS, 0,         \
      IOMMU_DEVICE_ADDED_ERRS, "A new occupant: fresh, blocked state under a new generation.")     \
    M(COUNTS, counts, 67, IOMMU_COUNTS_ARGS, IOMMU_COUNTS_RETS, 0, IOMMU_COUNTS_ERRS,              \
      "Leak accounting (iommu_server_counts) and one device's generation; changes nothing.")       \
    M(PORT_IRQ, port_irq, 68, IOMMU_PORT_IRQ_ARGS, IOMMU_PORT_IRQ_RETS, 0, IOMMU_PORT_IRQ_ERRS,    \
      "The remapped interrupt of a hotplug port on the vector the root task granted for it "       \
      "(written once, source-id validated; asking again returns the same entry).")

/* ---- Root protocol: what only the root task may ask (badge IOMMU_SRV_BADGE_ROOT) ------------
 * The root task hands the server its policy decisions; policy (which device and which memory
 * belong to which driver) stays in the root task, the server only records it. A driver's
 * "device capability" is therefore the pair (its badge, a source-id) registered here: the client
 * protocol's attach refuses any source-id the root task did not grant to that badge.
 *
 * Badges: the root task mints every copy of the server's endpoint. Drivers get
 * IOMMU_SRV_BADGE_CLIENT_BASE | task id, the hotplug server IOMMU_SRV_BADGE_HOTPLUG, and only the
 * root task holds IOMMU_SRV_BADGE_ROOT. The server answers the root protocol for the root badge
 * only, the hotplug protocol for the hotplug badge only and the client protocol for registered
 * client badges only. Errors are enum iommu_err values.
 */
#define IOMMU_SRV_BADGE_CLIENT_BASE 0x10000ull /* | task id: one client per driver task */
#define IOMMU_SRV_BADGE_HOTPLUG 0x40000000ull  /* the hotplug server */
#define IOMMU_SRV_BADGE_ROOT 0x80000000ull     /* the root task */
#define IOMMU_SRV_NO_SID 0xffffffffull         /* client_add without a device */

/* A client badge the root task may register: the client range, not a system badge. */
static inline bool iommu_srv_badge_is_client(uint64_t badge)
{
    return (badge & ~0xffffull) == IOMMU_SRV_BADGE_CLIENT_BASE && (badge & 0xffffull) != 0;
}

#define IOMMU_CLIENT_ADD_ARGS(A)                                                                   \
    A(badge, "client badge to register (IOMMU_SRV_BADGE_CLIENT_BASE | task id)")                   \
    A(sid, "device granted at once, or IOMMU_SRV_NO_SID (then the client's domain is on unit 0)")  \
    A(flags, "0")
#define IOMMU_CLIENT_ADD_RETS(A)
#define IOMMU_CLIENT_ADD_ERRS(E)                                                                   \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(NO_SLOTS) E(NO_MEMORY) E(UNIT) E(HW)

#define IOMMU_GRANT_DEVICE_ARGS(A) A(badge, "registered client") A(sid, "source-id it may attach")
#define IOMMU_GRANT_DEVICE_RETS(A)
#define IOMMU_GRANT_DEVICE_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG) E(NO_SLOTS) E(UNIT) E(HW)

#define IOMMU_GRANT_MEMORY_ARGS(A)                                                                 \
    A(badge, "registered client")                                                                  \
    A(pa, "physical base (4 KiB aligned, physically contiguous)")                                  \
    A(size, "bytes")                                                                               \
    A(rights, "IOMMU_READ | IOMMU_WRITE the client may map it with")
#define IOMMU_GRANT_MEMORY_RETS(A) A(grant, "grant index map_pool and map_vec name it by")
#define IOMMU_GRANT_MEMORY_ERRS(E)                                                                 \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(ALIGN) E(RANGE) E(RIGHTS) E(NO_SLOTS)

#define IOMMU_CLIENT_REMOVE_ARGS(A) A(badge, "registered client whose task is being torn down")
#define IOMMU_CLIENT_REMOVE_RETS(A)
#define IOMMU_CLIENT_REMOVE_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_IRQ_GRANT_ARGS(A)                                                                    \
    A(badge, "registered client, or IOMMU_SRV_BADGE_HOTPLUG for a hotplug port")                   \
    A(sid, "device granted to the client (or the port)")                                           \
    A(vector, "CPU vector 0x20..0xff the root task holds an IRQ handler for")
#define IOMMU_IRQ_GRANT_RETS(A) A(grant, "vector grant index irq_alloc names (0 for a port)")
#define IOMMU_IRQ_GRANT_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG) E(NO_SLOTS)

#define IOMMU_IRQ_ROUTE_ARGS(A) A(sid, "source-id of the interrupt's requester") A(vector, "vector")
#define IOMMU_IRQ_ROUTE_RETS(A)                                                                    \
    A(irq, "interrupt handle")                                                                     \
    A(msi_addr, "MSI address (remappable format)")                                                 \
    A(msi_data, "MSI data")
#define IOMMU_IRQ_ROUTE_ERRS(E)                                                                    \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(UNIT) E(UNSUPPORTED) E(NO_IRTE) E(HW)

#define IOMMU_REVOKE_MEMORY_ARGS(A) A(badge, "registered client") A(grant, "its memory grant index")
#define IOMMU_REVOKE_MEMORY_RETS(A)                                                                \
    A(status, "IOMMU_STATUS_* of the client's devices")                                            \
    A(pins_left, "mappings whose invalidation was not confirmed: reuse only when 0")
#define IOMMU_REVOKE_MEMORY_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_REVOKE_DEVICE_ARGS(A) A(badge, "registered client") A(sid, "device granted to it")
#define IOMMU_REVOKE_DEVICE_RETS(A) A(status, "IOMMU_STATUS_* after the detach")
#define IOMMU_REVOKE_DEVICE_ERRS(E) E(BAD_MSG) E(DENIED) E(BAD_ARG) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_REVOKE_FRAMES_ARGS(A)                                                                \
    A(badge, "registered client")                                                                  \
    A(pa, "physical base of the memory taken back (4 KiB aligned)")                                \
    A(size, "bytes (4 KiB multiple, not 0)")
#define IOMMU_REVOKE_FRAMES_RETS(A)                                                                \
    A(status, "IOMMU_STATUS_* of the client's devices")                                            \
    A(pins_left, "frame mappings whose invalidation was not confirmed: retry before reuse")
#define IOMMU_REVOKE_FRAMES_ERRS(E)                                                                \
    E(BAD_MSG) E(DENIED) E(BAD_ARG) E(ALIGN) E(RANGE) E(NO_SLOTS) E(DEVICE_TIMEOUT) E(HW)

#define IOMMU_ROOT_METHODS(M)                                                                      \
    M(CLIENT_ADD, client_add, 96, IOMMU_CLIENT_ADD_ARGS, IOMMU_CLIENT_ADD_RETS, 1,                 \
      IOMMU_CLIENT_ADD_ERRS,                                                                       \
      "Register a client with one domain on the unit covering sid and grant it sid. Optional "     \
      "capability: a notification signalled when a fault of its devices is waiting.")              \
    M(GRANT_DEVICE, grant_device, 97, IOMMU_GRANT_DEVICE_ARGS, IOMMU_GRANT_DEVICE_RETS, 0,         \
      IOMMU_GRANT_DEVICE_ERRS, "Grant one more device to a registered client.")                    \
    M(GRANT_MEMORY, grant_memory, 98, IOMMU_GRANT_MEMORY_ARGS, IOMMU_GRANT_MEMORY_RETS, 0,         \
      IOMMU_GRANT_MEMORY_ERRS, "Memory the root task gave the client, mappable by grant index.")   \
    M(CLIENT_REMOVE, client_remove, 99, IOMMU_CLIENT_REMOVE_ARGS, IOMMU_CLIENT_REMOVE_RETS, 0,     \
      IOMMU_CLIENT_REMOVE_ERRS,                                                                    \
      "The client's task is torn down: every device detached (blocked and flushed first), every "  \
      "mapping unmapped strictly, PASIDs unbound, grants and notification dropped, before the "    \
      "reply. The client is removed even on error (stuck pins stay with the server).")             \
    M(IRQ_GRANT, irq_grant, 100, IOMMU_IRQ_GRANT_ARGS, IOMMU_IRQ_GRANT_RETS, 0,                    \
      IOMMU_IRQ_GRANT_ERRS,                                                                        \
      "The client (or hotplug port) may have remapped interrupts on vector.")                      \
    M(IRQ_ROUTE, irq_route, 101, IOMMU_IRQ_ROUTE_ARGS, IOMMU_IRQ_ROUTE_RETS, 0,                    \
      IOMMU_IRQ_ROUTE_ERRS,                                                                        \
      "An interrupt-remapping entry written at once for a requester no driver asks for itself "    \
      "(I/O APIC lines).")                                                                         \
    M(REVOKE_MEMORY, revoke_memory, 102, IOMMU_REVOKE_MEMORY_ARGS, IOMMU_REVOKE_MEMORY_RETS, 0,    \
      IOMMU_REVOKE_MEMORY_ERRS,                                                                    \
      "Take a memory grant back: every mapping of it unmapped strictly before the reply; later "   \
      "maps naming it get REVOKED.")                                                               \
    M(REVOKE_DEVICE, revoke_device, 103, IOMMU_REVOKE_DEVICE_ARGS, IOMMU_REVOKE_DEVICE_RETS, 0,    \
      IOMMU_REVOKE_DEVICE_ERRS,                                                                    \
      "Take a device back: detached first if attached (interrupts and PASIDs gone), then its "     \
      "device and vector grants dropped.")                                                         \
    M(REVOKE_FRAMES, revoke_frames, 104, IOMMU_REVOKE_FRAMES_ARGS, IOMMU_REVOKE_FRAMES_RETS, 0,    \
      IOMMU_REVOKE_FRAMES_ERRS,                                                                    \
      "Take physical memory back from the client's frame-capability mappings: every mapping of "   \
      "a frame in the range unmapped strictly, the server's copy of its capability deleted once "  \
      "the invalidation completed, the range recorded (later maps of it get REVOKED). Only with "  \
      "pins_left 0 may the root task revoke the kernel capabilities and reuse the memory.")

/* ---- Generated: labels, argument and result structs, error masks --------------------------- */
#define IOMMU_LABEL_ENUM_(U, l, v, A, R, c, E, d) IOMMU_LABEL_##U = v,
enum iommu_label {
    IOMMU_CLIENT_METHODS(IOMMU_LABEL_ENUM_) IOMMU_HOTPLUG_METHODS(IOMMU_LABEL_ENUM_)
};
#undef IOMMU_LABEL_ENUM_
#define IOMMU_ROOT_LABEL_ENUM_(U, l, v, A, R, c, E, d) IOMMU_ROOT_##U = v,
enum iommu_root_label { IOMMU_ROOT_METHODS(IOMMU_ROOT_LABEL_ENUM_) };
#undef IOMMU_ROOT_LABEL_ENUM_

#define IOMMU_FIELD_(n, d) uint64_t n;
#define IOMMU_STRUCTS_(U, l, v, A, R, c, E, d)                                                     \
    struct iommu_##l##_args {                                                                      \
        A(IOMMU_FIELD_)                                                                            \
    };                                                                                             \
    struct iommu_##l##_rets {                                                                      \
        R(IOMMU_FIELD_)                                                                            \
    };
IOMMU_CLIENT_METHODS(IOMMU_STRUCTS_)
IOMMU_HOTPLUG_METHODS(IOMMU_STRUCTS_)
IOMMU_ROOT_METHODS(IOMMU_STRUCTS_)
#undef IOMMU_STRUCTS_

#define IOMMU_COUNT_(n, d) +1
#define IOMMU_EBIT_(e) | (1ull << IOMMU_ERR_##e)
#define IOMMU_HP_EBIT_(e) | (1ull << IOMMU_HP_ERR_##e)

/* ---- Messages ------------------------------------------------------------------------------ */
#define IOMMU_MSG_WORDS                                                                            \
    64u /* the kernel's message length (PC_MSG_MAX_LENGTH); only map_vec                           \
           needs more than 16 */
#define IOMMU_MSG_CAPS 1u

enum iommu_cap_kind {
    IOMMU_CAP_NONE = 0,
    IOMMU_CAP_FRAME = 1,        /* a physically contiguous frame the sender transferred */
    IOMMU_CAP_NOTIFICATION = 2, /* a notification the server may signal (rights: write) */
};
/* A transferred capability as the glue resolved it (the core never sees a cptr). */
struct iommu_cap_ref {
    uint32_t kind;   /* enum iommu_cap_kind */
    uint32_t rights; /* IOMMU_READ | IOMMU_WRITE the capability allows */
    uint64_t pa;     /* physical base */
    uint64_t size;   /* bytes */
    uint64_t cookie; /* the glue's name for the slot it holds the capability in */
};

struct iommu_msg {
    uint64_t label;
    uint64_t badge; /* of the endpoint capability the message came through */
    uint32_t len;   /* words used in w[] */
    uint32_t ncaps; /* entries used in cap[] */
    uint64_t w[IOMMU_MSG_WORDS];
    struct iommu_cap_ref cap[IOMMU_MSG_CAPS];
};

struct iommu_reply {
    uint64_t err; /* enum iommu_err / enum iommu_hp_err: sent as the reply label */
    uint32_t len;
    bool cap_kept; /* the server keeps cap[0]'s slot until it releases the pin */
    uint64_t w[IOMMU_MSG_WORDS];
};

static inline void iommu_msg_init(struct iommu_msg *m, uint64_t label)
{
    m->label = label;
    m->badge = 0;
    m->len = 0;
    m->ncaps = 0;
}

/* map_vec's whole list (the generated iommu_encode_map_vec puts one range). n <= IOMMU_VEC_MAX. */
static inline void iommu_encode_map_vec_list(struct iommu_msg *m, const uint64_t *ranges,
                                             unsigned n)
{
    m->label = IOMMU_LABEL_MAP_VEC;
    m->badge = 0;
    m->ncaps = 0;
    m->len = n <= IOMMU_VEC_MAX ? n : IOMMU_VEC_MAX;
    for (unsigned i = 0; i < m->len; i++) {
        m->w[i] = ranges[i];
    }
}

/* ---- Generated client stubs: iommu_encode_<m>(msg, args...), iommu_reply_<m>(reply, rets) --- */
#define IOMMU_PARAM_(n, d) , uint64_t n
#define IOMMU_PUT_(n, d) m->w[m->len++] = (n);
#define IOMMU_GET_(n, d)                                                                           \
    out->n = i_ < r->len ? r->w[i_] : 0;                                                           \
    i_++;
#define IOMMU_STUBS_(U, l, v, A, R, c, E, d)                                                       \
    static inline void iommu_encode_##l(struct iommu_msg *m A(IOMMU_PARAM_))                       \
    {                                                                                              \
        iommu_msg_init(m, IOMMU_LABEL_##U);                                                        \
        A(IOMMU_PUT_)                                                                              \
    }                                                                                              \
    static inline uint64_t iommu_reply_##l(const struct iommu_reply *r,                            \
                                           struct iommu_##l##_rets *out)                           \
    {                                                                                              \
        unsigned i_ = 0;                                                                           \
        (void)i_;                                                                                  \
        (void)out;                                                                                 \
        R(IOMMU_GET_)                                                                              \
        return r->err;                                                                             \
    }
IOMMU_CLIENT_METHODS(IOMMU_STUBS_)
IOMMU_HOTPLUG_METHODS(IOMMU_STUBS_)
#undef IOMMU_STUBS_
#undef IOMMU_PARAM_
#undef IOMMU_PUT_
#undef IOMMU_GET_

/* A decoded DMA fault as fault_read delivers it. */
struct iommu_fault_rec {
    uint16_t sid;
    uint8_t reason; /* VT-d fault reason code */
    bool write;
    bool pasid_present;
    uint32_t pasid;
    uint64_t addr; /* page address; for an interrupt-remapping fault (reason 0x20..0x26) the
                      interrupt index the request named */
};
/* Pack/unpack one record into IOMMU_FAULT_WORDS words. */
static inline void iommu_fault_pack(const struct iommu_fault_rec *f, uint64_t *w)
{
    w[0] = (uint64_t)f->sid | (uint64_t)f->reason << 16 | (uint64_t)f->write << 24 |
           (uint64_t)f->pasid_present << 25 | (uint64_t)(f->pasid & 0xfffffu) << 32;
    w[1] = f->addr;
}
static inline void iommu_fault_unpack(const uint64_t *w, struct iommu_fault_rec *f)
{
    f->sid = (uint16_t)w[0];
    f->reason = (uint8_t)(w[0] >> 16);
    f->write = (w[0] >> 24) & 1;
    f->pasid_present = (w[0] >> 25) & 1;
    f->pasid = (uint32_t)(w[0] >> 32) & 0xfffffu;
    f->addr = w[1];
}
#define IOMMU_FAULTS_PER_REPLY 7u /* 16 words a reply */

/* ---- Method metadata (server dispatch, docs, tests) ---------------------------------------- */
/* The three protocols on the server's endpoint, told apart by the badge. */
enum iommu_proto { IOMMU_PROTO_CLIENT = 0, IOMMU_PROTO_HOTPLUG = 1, IOMMU_PROTO_ROOT = 2 };

struct iommu_method_info {
    uint64_t label;
    const char *name;
    const char *doc;
    unsigned nargs, nrets, max_caps;
    unsigned max_words; /* nargs, or IOMMU_VEC_MAX for map_vec (nargs..max_words words) */
    uint64_t errors;    /* bit e set: the method may return error e (besides OK) */
    unsigned proto;     /* enum iommu_proto */
    const char *const *arg_names, *const *arg_docs, *const *ret_names, *const *ret_docs;
};
/* Metadata for a label, or NULL (labels are unique across the three protocols). */
const struct iommu_method_info *iommu_method_find(uint64_t label);
/* All methods: client ones, then hotplug, then root; *n = count. */
const struct iommu_method_info *iommu_methods(unsigned *n);

#endif /* IOMMU_PROTOCOL_H */
