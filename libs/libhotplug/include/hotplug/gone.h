/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The device-gone protocol between the PCIe hotplug server and device drivers, declared once.
 * The server tells a driver that its device is going (orderly removal: stop DMA, unmap, close,
 * then answer) or gone (surprise removal, or a driver that did not answer in time: the device
 * is already fenced at the IOMMU, nothing the driver does can reach it), and the driver answers
 * a going with detached. The label enum, the argument structs, the error enum, the method table
 * with each method's errors, the encoder/decoder and the protocol tables in docs/hotplug.md
 * (printed by the hotplug_protocol_doc host tool) all come from the X-macro tables below.
 *
 * A device is named by a handle the server gives the driver when the root task's policy assigns
 * the device: the source-id in bits 15:0 and the occupant's generation (never 0) in bits 47:16 -
 * the same layout and, when the IOMMU server reports one, the same generation as the IOMMU
 * protocol's device handle (IOMMU_HANDLE) - so a handle of a previous occupant of the same
 * bus/device/function is recognisably stale. Bits 63:48 are zero.
 */
#ifndef HOTPLUG_GONE_H
#define HOTPLUG_GONE_H

#include <stdbool.h>
#include <stdint.h>

#include <pci/bdf.h>

typedef uint64_t hp_handle_t;

#define HP_HANDLE(sid, gen) ((hp_handle_t)(((uint64_t)(uint32_t)(gen) << 16) | (uint16_t)(sid)))
#define HP_HANDLE_SID(h) ((pci_sid_t)((h)&0xffffu))
#define HP_HANDLE_GEN(h) ((uint32_t)((h) >> 16))
#define HP_HANDLE_MAX ((1ull << 48) - 1)

/*
 * X(name, value, text). One error enum for the protocol; 0 is success.
 */
#define HP_GONE_ERRORS(X)                                                                          \
    X(HP_GONE_OK, 0, "ok")                                                                         \
    X(HP_GONE_ERR_LABEL, 1, "unknown label, or a label the receiver does not accept")              \
    X(HP_GONE_ERR_LENGTH, 2, "wrong number of message registers")                                  \
    X(HP_GONE_ERR_HANDLE, 3, "malformed handle (bits 63:48 set, or generation 0)")                 \
    X(HP_GONE_ERR_UNKNOWN, 4, "no slot owned by this server holds that source-id")                 \
    X(HP_GONE_ERR_STALE, 5, "the handle names an earlier occupant, or a device already removed")

enum hp_gone_err {
#define HP_GONE_ERR_ENUM_(name, value, text) name = value,
    HP_GONE_ERRORS(HP_GONE_ERR_ENUM_)
#undef HP_GONE_ERR_ENUM_
        HP_GONE_ERR_COUNT_
};

#define HP_GONE_ERRBIT(e) (1u << (e))

/*
 * M(NAME, name, label, ARGS, RETS, direction, ERRS, doc), the form of every protocol table
 * (<iommu/protocol.h>). ARGS/RETS are X-lists A(field, doc) of message registers in order;
 * ERRS an X-list E(ERR) of every enum hp_gone_err (HP_GONE_ERR_<ERR>) the receiver may answer.
 * direction: TO_DRIVER, a one-way send from the server (no reply, so no errors), or TO_SERVER,
 * a call whose reply carries one enum hp_gone_err in MR0 and the results after it.
 */
#define HP_GONE_DEVICE_GOING_ARGS(A) A(handle, "the device's handle (generation << 16 | sid)")
#define HP_GONE_DEVICE_GOING_RETS(A)
#define HP_GONE_DEVICE_GOING_ERRS(E)

#define HP_GONE_DEVICE_GONE_ARGS(A) A(handle, "the device's handle (generation << 16 | sid)")
#define HP_GONE_DEVICE_GONE_RETS(A)
#define HP_GONE_DEVICE_GONE_ERRS(E)

#define HP_GONE_DETACHED_ARGS(A) A(handle, "handle from device_going, device_new or the assignment")
#define HP_GONE_DETACHED_RETS(A)
#define HP_GONE_DETACHED_ERRS(E) E(LABEL) E(LENGTH) E(HANDLE) E(UNKNOWN) E(STALE)

#define HP_GONE_METHODS(M)                                                                         \
    M(DEVICE_GOING, device_going, 1, HP_GONE_DEVICE_GOING_ARGS, HP_GONE_DEVICE_GOING_RETS,         \
      TO_DRIVER, HP_GONE_DEVICE_GOING_ERRS,                                                        \
      "The device is being removed in order: it is already fenced for ATS; stop issuing DMA, "     \
      "unmap and release it, then call detached(handle) before the server's detach deadline.")     \
    M(DEVICE_GONE, device_gone, 2, HP_GONE_DEVICE_GONE_ARGS, HP_GONE_DEVICE_GONE_RETS, TO_DRIVER,  \
      HP_GONE_DEVICE_GONE_ERRS,                                                                    \
      "The device no longer exists (surprise removal, or the detach deadline passed): it is "      \
      "fenced, every later unmap/close on it succeeds locally; release what is left.")             \
    M(DETACHED, detached, 3, HP_GONE_DETACHED_ARGS, HP_GONE_DETACHED_RETS, TO_SERVER,              \
      HP_GONE_DETACHED_ERRS,                                                                       \
      "The driver no longer uses the device (answer to device_going, or a voluntary release).")

enum hp_gone_dir { HP_GONE_TO_DRIVER = 1, HP_GONE_TO_SERVER = 2 };

enum hp_gone_label {
#define HP_GONE_LABEL_ENUM_(U, l, v, A, R, dir, E, d) HP_GONE_##U = v,
    HP_GONE_METHODS(HP_GONE_LABEL_ENUM_)
#undef HP_GONE_LABEL_ENUM_
};

#define HP_GONE_FIELD_(n, d) uint64_t n;
#define HP_GONE_STRUCTS_(U, l, v, A, R, dir, E, d)                                                 \
    struct hp_gone_##l##_args {                                                                    \
        A(HP_GONE_FIELD_)                                                                          \
    };                                                                                             \
    struct hp_gone_##l##_rets {                                                                    \
        R(HP_GONE_FIELD_)                                                                          \
    };
HP_GONE_METHODS(HP_GONE_STRUCTS_)
#undef HP_GONE_STRUCTS_
#undef HP_GONE_FIELD_

/* Every method carries exactly this many message registers: the handle (checked in gone.c). */
#define HP_GONE_MSG_LENGTH 1u

struct hp_gone_msg {
    enum hp_gone_label label;
    hp_handle_t handle;
};

/* ---- Method metadata (decoder, docs, tests) ------------------------------------------------- */
struct hp_gone_method_info {
    uint64_t label;
    const char *name;
    const char *doc;
    unsigned nargs, nrets;
    unsigned dir;    /* enum hp_gone_dir */
    uint32_t errors; /* HP_GONE_ERRBIT(e) set: the receiver may answer e (besides HP_GONE_OK) */
    const char *const *arg_names, *const *arg_docs, *const *ret_names, *const *ret_docs;
};
/* Metadata for a label, or NULL. */
const struct hp_gone_method_info *hp_gone_method_find(uint64_t label);
/* All methods in table order; *n = count. */
const struct hp_gone_method_info *hp_gone_methods(unsigned *n);

/* Text / name of an error, name of a label; "unknown..." for values outside the tables. */
const char *hp_gone_err_str(int err);
const char *hp_gone_err_name(int err);
const char *hp_gone_label_str(uint64_t label);
/* Errors the receiver of `label` may answer (bit per enum hp_gone_err); 0 for unknown labels. */
uint32_t hp_gone_label_errors(uint64_t label);

/*
 * Encodes msg into (label, mr[0..len)). mr must hold at least HP_GONE_MSG_LENGTH registers
 * (HP_GONE_ERR_LENGTH otherwise); HP_GONE_ERR_LABEL for a label not in the table and
 * HP_GONE_ERR_HANDLE for a malformed handle. Nothing is written on error.
 */
int hp_gone_encode(const struct hp_gone_msg *msg, uint64_t *label, uint64_t *mr, unsigned mr_cap,
                   unsigned *len);

/*
 * Decodes a received message without side effects: the label must be in the table (and, if
 * `accept` is non-zero, its bit (1u << label) set in accept), the length exactly the method's
 * argument count (HP_GONE_MSG_LENGTH), and MR0 a well-formed handle (bits 63:48 clear, generation
 * non-zero). Returns HP_GONE_OK with *out filled, or the error (then *out is untouched).
 */
int hp_gone_decode(uint64_t label, const uint64_t *mr, unsigned len, uint32_t accept,
                   struct hp_gone_msg *out);

#endif /* HOTPLUG_GONE_H */
