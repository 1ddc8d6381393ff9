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
 */
#ifndef TASK_PROTOCOL_H
#define TASK_PROTOCOL_H

#define TASK_LABEL_DONE 0x7a5d0e1ull
#define TASK_LABEL_ECHO 0x7a5ec40ull

#endif /* TASK_PROTOCOL_H */
