/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The run-time side of a started task (target only). A constructor validates the start argument
 * crt0 saved and points libportcullis at the thread's IPC buffer before main() runs; the rest are
 * small services every task needs: reporting to the root task and starting a second thread.
 */
#include <stdio.h>
#include <string.h>

#include <portcullis/bootinfo.h>
#include <portcullis/invoke.h>
#include <portcullis/syscall.h>

#include <pc_libc/runtime.h>
#include <task/task.h>

static const task_start_info_t *g_start;
static task_start_error_t g_start_status = TASK_START_ERR_NULL;

/* Referenced from the link line (-u task_runtime_init) so every task linking this library gets
 * its IPC buffer set up, whether or not it calls anything else here. */
__attribute__((constructor)) void task_runtime_init(void)
{
    const void *arg = __pc_start_arg;
    if (arg == NULL) {
        g_start_status = TASK_START_ERR_NULL;
        return;
    }
    uint64_t magic = *(const volatile uint64_t *)arg;
    if (magic == PC_BOOTINFO_MAGIC) {
        /* The root task: the kernel's boot information names its IPC buffer. */
        const pc_bootinfo_t *bi = arg;
        pc_set_ipc_buffer((pc_ipc_buffer_t *)(uintptr_t)bi->ipc_buffer_vaddr);
        g_start_status = TASK_START_ERR_MAGIC;
        return;
    }
    const task_start_info_t *info = arg;
    g_start_status = task_start_validate(info);
    if (g_start_status == TASK_START_OK) {
        g_start = info;
        pc_set_ipc_buffer((pc_ipc_buffer_t *)(uintptr_t)info->ipc_buffer_vaddr);
    }
}

const task_start_info_t *task_start(void)
{
    return g_start;
}

task_start_error_t task_start_status(void)
{
    return g_start_status;
}

pc_word_t task_report_done(unsigned passed, unsigned failed)
{
    uint32_t ep = task_cap_slot(g_start, "init", TASK_CAP_ENDPOINT);
    if (ep == 0) {
        return PC_ERR_FAILED_LOOKUP;
    }
    pc_msg_t m = {0};
    m.info = pc_msginfo(TASK_LABEL_DONE, 0, 0, 2);
    m.mr[0] = passed;
    m.mr[1] = failed;
    pc_word_t err = pc_call(ep, &m);
    if (err != PC_OK) {
        return err;
    }
    return pc_msginfo_length(m.info) >= 1 ? m.mr[0] : PC_ERR_TRUNCATED_MESSAGE;
}

pc_word_t task_log(const char *line)
{
    size_t n = strlen(line);
    uint32_t ep = task_cap_slot(g_start, "init", TASK_CAP_ENDPOINT);
    if (ep == 0 || pc_ipc_buffer() == NULL) {
        pc_debug_write(line, n);
        pc_debug_write("\n", 1);
        return PC_OK;
    }
    if (n > TASK_LOG_MAX) {
        n = TASK_LOG_MAX;
    }
    pc_word_t w[64] = {0};
    w[0] = n;
    for (size_t i = 0; i < n; i++) {
        w[1 + i / 8] |= (pc_word_t)(unsigned char)line[i] << (8 * (i % 8));
    }
    unsigned words = 1 + (unsigned)((n + 7) / 8);
    pc_word_t res = PC_OK;
    pc_word_t err = pc_invoke(ep, TASK_LABEL_LOG, words, w, 0, NULL, &res, 1);
    return err != PC_OK ? err : res;
}

void task_test_line(const char *name, bool ok, const char *detail)
{
    /* Several instances of one task in an image (tag=X, e.g. the root task's hot-started
       instances) keep their result names apart. */
    char tag[24], full[96], line[TASK_LOG_MAX];
    if (g_start != NULL && task_cmdline_get(g_start->cmdline, "tag", tag, sizeof(tag)) &&
        tag[0] != '\0') {
        snprintf(full, sizeof(full), "%s_%s", name, tag);
        name = full;
    }
    if (detail == NULL) {
        detail = "";
    }
    snprintf(line, sizeof(line), "TEST %s: %s%s%s", name, ok ? "PASS" : "FAIL",
             detail[0] ? " " : "", detail);
    (void)task_log(line);
}

static pc_word_t take_slot(uint32_t *next_slot, uint32_t end_slot, pc_cptr_t *slot)
{
    if (*next_slot >= end_slot) {
        return PC_ERR_RANGE;
    }
    *slot = (*next_slot)++;
    return PC_OK;
}

/* Maps `frame` at vaddr, creating the paging structures the kernel says are missing. */
static pc_word_t map_with_tables(const task_thread_spec_t *s, pc_cptr_t frame, uint64_t vaddr,
                                 uint32_t *next_slot, uint32_t end_slot)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        pc_word_t a[3] = {vaddr, PC_VM_READ | PC_VM_WRITE, 0};
        pc_word_t missing = 0;
        pc_word_t err = pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &s->vspace, &missing, 1);
        if (err != PC_ERR_FAILED_LOOKUP) {
            return err;
        }
        if (missing != PC_OBJ_PDPT && missing != PC_OBJ_PD && missing != PC_OBJ_PT) {
            return err;
        }
        pc_cptr_t table;
        err = take_slot(next_slot, end_slot, &table);
        if (err == PC_OK) {
            err = pc_untyped_retype(s->untyped, (unsigned)missing, 0, PC_NULL_CPTR, table, 1);
        }
        if (err == PC_OK) {
            err = pc_page_table_map(table, s->vspace, vaddr);
        }
        if (err != PC_OK) {
            return err;
        }
    }
    return PC_ERR_FAILED_LOOKUP;
}

pc_word_t task_thread_create(const task_thread_spec_t *s, uint32_t *next_slot, uint32_t end_slot,
                             pc_cptr_t *tcb_slot)
{
    if (s == NULL || next_slot == NULL || tcb_slot == NULL || s->entry == NULL) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    if (s->ipc_buffer_vaddr < TASK_SELF_MIN || s->ipc_buffer_vaddr >= TASK_SELF_MAX ||
        (s->ipc_buffer_vaddr & 0xfff) != 0 || (s->stack_top & 0xf) != 0) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    pc_cptr_t tcb, frame;
    pc_word_t err = take_slot(next_slot, end_slot, &tcb);
    if (err == PC_OK) {
        err = take_slot(next_slot, end_slot, &frame);
    }
    if (err == PC_OK) {
        err = pc_untyped_retype(s->untyped, PC_OBJ_TCB, 0, PC_NULL_CPTR, tcb, 1);
    }
    if (err == PC_OK) {
        err = pc_untyped_retype(s->untyped, PC_OBJ_FRAME_4K, 0, PC_NULL_CPTR, frame, 1);
    }
    if (err == PC_OK) {
        err = map_with_tables(s, frame, s->ipc_buffer_vaddr, next_slot, end_slot);
    }
    if (err == PC_OK) {
        err = pc_tcb_configure(tcb, s->cnode, s->vspace, frame, s->ipc_buffer_vaddr);
    }
    if (err == PC_OK) {
        err = pc_tcb_set_priority(tcb, s->authority, s->priority);
    }
    if (err == PC_OK) {
        /* The entry takes its argument in rdi; its return address slot must keep the usual
         * alignment (rsp + 8 aligned to 16 at entry), so start with a zero "return address". */
        uint64_t rsp = s->stack_top - 8;
        *(uint64_t *)(uintptr_t)rsp = 0;
        err = pc_tcb_start(tcb, (uint64_t)(uintptr_t)s->entry, rsp, s->arg, 1);
    }
    if (err == PC_OK) {
        *tcb_slot = tcb;
    }
    return err;
}
