/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The messages a task may send to the root task over the "init" endpoint it was given (badged
 * with the task's id). Anything else gets PC_ERR_INVALID_ARGUMENT in MR0 of the reply.
 *
 *   TASK_LABEL_DONE  MR0 = tests passed, MR1 = tests failed: the task has finished its work and
 *                    reported its results (the root task counts them into the run's SUMMARY line).
 *                    Reply: MR0 = PC_OK.
 *   TASK_LABEL_ECHO  MR0..MR3 = any words. Reply: the same words, in reverse order (a liveness and
 *                    sanity check of IPC from the caller's side).
 *   TASK_LABEL_LOG   MR0 = n (bytes, <= TASK_LOG_MAX), MR1.. = the bytes, 8 per word,
 * little-endian: one line of text the root task prints whole (control characters replaced),
 *                    followed by a newline. The console takes at most 40 bytes per kernel call, so
 *                    lines printed by several tasks directly can interleave mid-line; lines that
 *                    go through the root task (which runs above every task) cannot.
 *                    Reply: MR0 = PC_OK.
 *   TASK_LABEL_HP_ASSIGN  (hotplug role only) MR0 = device-gone handle of a new occupant
 *                    (generation << 16 | source-id), MR1 = vendor | device << 16, MR2 = source-id
 *                    of the port above it. The root task's policy gives the device to a driver:
 *                    the live driver task that drove this source-id before (re-grant), or a fresh
 *                    instance of the role that drives vendor:device (its BARs are programmed into
 *                    the port's windows first). Reply: MR0 = PC_OK and MR1 = the driver's task id,
 *                    with one capability: a copy of the driver's notification to signal (badge
 *                    HPS_NOTIFY_BIT); or MR0 = PC_ERR_FAILED_LOOKUP (no driver for that device),
 *                    PC_ERR_INVALID_ARGUMENT (not the hotplug role, or malformed).
 */
#ifndef TASK_PROTOCOL_H
#define TASK_PROTOCOL_H

#define TASK_LABEL_DONE 0x7a5d0e1ull
#define TASK_LABEL_ECHO 0x7a5ec40ull
#define TASK_LABEL_LOG 0x7a5e106ull
#define TASK_LABEL_HP_ASSIGN 0x7a5ea55ull

#define TASK_LOG_MAX ((64 - 1) * 8)

#endif /* TASK_PROTOCOL_H */
