/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Error codes returned by every Portcullis system call and object invocation in rax.
 * One enum for the whole kernel interface: a call either succeeds (PC_OK) and its results are in
 * the message registers, or it fails with one of these codes and changed nothing.
 */
#ifndef PORTCULLIS_ERRORS_H
#define PORTCULLIS_ERRORS_H

#define PC_ERRORS(X)                                                                               \
    X(PC_OK, 0, "success")                                                                         \
    X(PC_ERR_INVALID_ARGUMENT, 1, "an argument is out of its domain")                              \
    X(PC_ERR_INVALID_CAPABILITY, 2, "a capability has the wrong type or lacks a right")            \
    X(PC_ERR_ILLEGAL_OPERATION, 3, "the operation is not allowed on this object in its state")     \
    X(PC_ERR_RANGE, 4, "a number (slot index, size, priority, port) is outside the allowed range") \
    X(PC_ERR_ALIGNMENT, 5, "an address is not aligned as required")                                \
    X(PC_ERR_FAILED_LOOKUP, 6, "a slot is empty, or a paging structure is missing (MR0 = level)")  \
    X(PC_ERR_TRUNCATED_MESSAGE, 7, "the message is too short for the invocation")                  \
    X(PC_ERR_DELETE_FIRST, 8, "the destination slot or virtual address is occupied")               \
    X(PC_ERR_REVOKE_FIRST, 9, "the object still has derived capabilities or is in use")            \
    X(PC_ERR_NOT_ENOUGH_MEMORY, 10, "the untyped region (or a kernel table) is exhausted")         \
    X(PC_ERR_TIMEOUT, 11, "nothing arrived before the timeout (also: poll found nothing)")         \
    X(PC_ERR_INVALID_SYSCALL, 12, "unknown system call number")                                    \
    X(PC_ERR_CANCELLED, 13,                                                                        \
      "the blocking operation was aborted (object deleted, thread suspended)")                     \
    X(PC_ERR_NO_REPLY, 14, "there is no caller waiting for a reply")

enum pc_error {
#define PC_ERROR_ENUM_(name, value, text) name = value,
    PC_ERRORS(PC_ERROR_ENUM_)
#undef PC_ERROR_ENUM_
        PC_ERR_COUNT_
};

#endif /* PORTCULLIS_ERRORS_H */
