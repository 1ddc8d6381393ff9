/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Authority is what a task holds, nothing more: every way of reaching past the capabilities the
 * root task granted gets the documented error code (<portcullis/errors.h>) and changes nothing.
 * Empty and out-of-range slots, caps of the wrong type (invoked or passed as arguments), copies
 * without the right, out-of-range arguments, kernel-half and non-canonical addresses, unknown
 * system calls, truncated messages. After all of it, the same objects still work.
 */
#include <stdio.h>

#include <ktest/ktest.h>

static void expect(const char *name, pc_word_t got, pc_word_t want)
{
    kt_result(name, got == want, "(got %s, expected %s)", kt_err(got), kt_err(want));
}

static pc_word_t raw_syscall(pc_word_t nr, pc_word_t cptr)
{
    pc_msg_t m = {0};
    return pc_syscall(nr, cptr, 0, &m);
}

static pc_word_t retype4(pc_cptr_t ut, pc_word_t type, pc_word_t bits, pc_word_t dest,
                         pc_word_t count)
{
    pc_word_t a[4] = {type, bits, dest, count};
    return pc_invoke(ut, PC_UNTYPED_RETYPE, 4, a, 0, NULL, NULL, 0);
}

static pc_word_t map_at(pc_cptr_t frame, pc_cptr_t vspace, uint64_t vaddr, unsigned rights)
{
    pc_word_t a[3] = {vaddr, rights, 0};
    return pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &vspace, NULL, 0);
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    pc_cptr_t ntfn_ro = kt_cap("ntfn_ro", TASK_CAP_NOTIFICATION);
    pc_cptr_t ep_ro = kt_cap("ep_ro", TASK_CAP_ENDPOINT);
    pc_cptr_t ntfn = kt_cap("ntfn", TASK_CAP_NOTIFICATION);
    pc_cptr_t ut = kt_cap("untyped", TASK_CAP_UNTYPED);
    pc_cptr_t cnode = kt_cap("cnode", TASK_CAP_OWN_CNODE);
    pc_cptr_t vspace = kt_cap("vspace", TASK_CAP_OWN_VSPACE);
    pc_cptr_t ports = kt_cap("ports", TASK_CAP_IOPORT);
    if (!ntfn_ro || !ep_ro || !ntfn || !ut || !cnode || !vspace || !ports) {
        kt_finish();
    }
    uint32_t slots = 1u << si->cnode_size_bits;
    uint32_t free0 = si->first_free_slot;
    pc_msg_t m = {0};

    /* Invalid capabilities: nothing in the slot, or no such slot. */
    m.info = pc_msginfo(PC_TCB_RESUME, 0, 0, 0);
    expect("nocap_empty_slot_is_failed_lookup", pc_call(si->end_free_slot - 1, &m),
           PC_ERR_FAILED_LOOKUP);
    m.info = pc_msginfo(PC_TCB_RESUME, 0, 0, 0);
    expect("nocap_slot_beyond_cnode_is_failed_lookup", pc_call(slots + 5, &m),
           PC_ERR_FAILED_LOOKUP);
    m.info = pc_msginfo(PC_TCB_RESUME, 0, 0, 0);
    expect("nocap_huge_cptr_is_failed_lookup", pc_call(~0ull, &m), PC_ERR_FAILED_LOOKUP);
    expect("nocap_wait_on_empty_slot_is_failed_lookup", pc_wait(free0 + 3, 0, NULL),
           PC_ERR_FAILED_LOOKUP);

    /* Wrong type: invoking an object with another object's operation; caps of the wrong type as
     * arguments; waiting on something that is not a notification or endpoint. */
    pc_word_t a1 = 0;
    expect("nocap_ioport_cannot_retype",
           pc_invoke(ports, PC_UNTYPED_RETYPE, 1, &a1, 0, NULL, NULL, 0), PC_ERR_ILLEGAL_OPERATION);
    expect("nocap_untyped_cannot_map", pc_invoke(ut, PC_FRAME_MAP, 1, &a1, 0, NULL, NULL, 0),
           PC_ERR_ILLEGAL_OPERATION);
    {
        pc_word_t a[4] = {PC_OBJ_FRAME_4K, 0, free0, 1};
        pc_cptr_t wrong = ntfn;
        expect("nocap_retype_into_a_notification_is_invalid_cap",
               pc_invoke(ut, PC_UNTYPED_RETYPE, 4, a, 1, &wrong, NULL, 0),
               PC_ERR_INVALID_CAPABILITY);
    }
    expect("nocap_wait_on_untyped_is_invalid_cap", pc_wait(ut, 0, NULL), PC_ERR_INVALID_CAPABILITY);

    /* Insufficient rights. */
    m = (pc_msg_t){0};
    expect("nocap_signal_without_write_right", pc_syscall(PC_SYS_NB_SEND, ntfn_ro, 0, &m),
           PC_ERR_INVALID_CAPABILITY);
    m = (pc_msg_t){0};
    m.info = pc_msginfo(1, 0, 0, 0);
    expect("nocap_send_without_write_right", pc_syscall(PC_SYS_NB_SEND, ep_ro, 0, &m),
           PC_ERR_INVALID_CAPABILITY);

    /* Out-of-range arguments. */
    expect("nocap_retype_count_zero", retype4(ut, PC_OBJ_FRAME_4K, 0, free0, 0), PC_ERR_RANGE);
    expect("nocap_retype_count_257", retype4(ut, PC_OBJ_FRAME_4K, 0, free0, 257), PC_ERR_RANGE);
    expect("nocap_retype_unknown_type", retype4(ut, 99, 0, free0, 1), PC_ERR_INVALID_ARGUMENT);
    expect("nocap_retype_untyped_too_big_bits", retype4(ut, PC_OBJ_UNTYPED, 60, free0, 1),
           PC_ERR_RANGE);
    expect("nocap_retype_bigger_than_untyped", retype4(ut, PC_OBJ_UNTYPED, 20, free0, 1),
           PC_ERR_NOT_ENOUGH_MEMORY);
    expect("nocap_retype_dest_beyond_cnode", retype4(ut, PC_OBJ_FRAME_4K, 0, slots, 1),
           PC_ERR_RANGE);
    expect("nocap_retype_dest_slot_zero", retype4(ut, PC_OBJ_FRAME_4K, 0, 0, 1), PC_ERR_RANGE);
    expect("nocap_retype_run_past_cnode_end", retype4(ut, PC_OBJ_FRAME_4K, 0, slots - 1, 2),
           PC_ERR_RANGE);
    expect("nocap_retype_into_occupied_slot", retype4(ut, PC_OBJ_FRAME_4K, 0, ntfn, 1),
           PC_ERR_DELETE_FIRST);
    {
        pc_word_t a[2] = {PC_OBJ_FRAME_4K, 0};
        expect("nocap_retype_truncated_message",
               pc_invoke(ut, PC_UNTYPED_RETYPE, 2, a, 0, NULL, NULL, 0), PC_ERR_TRUNCATED_MESSAGE);
    }
    {
        pc_word_t a[2] = {0x81, 0};
        expect("nocap_ioport_outside_granted_range",
               pc_invoke(ports, PC_IOPORT_OUT8, 2, a, 0, NULL, NULL, 0), PC_ERR_RANGE);
        a[0] = 0x7f;
        expect("nocap_ioport_below_granted_range",
               pc_invoke(ports, PC_IOPORT_IN8, 1, a, 0, NULL, NULL, 0), PC_ERR_RANGE);
        pc_word_t b[3] = {0x70, 0x80, free0};
        expect("nocap_ioport_cannot_widen_its_range",
               pc_invoke(ports, PC_IOPORT_ISSUE, 3, b, 0, NULL, NULL, 0), PC_ERR_RANGE);
    }
    {
        register pc_word_t rax __asm__("rax") = PC_SYS_DEBUG_WRITE;
        register pc_word_t rdi __asm__("rdi") = 41;
        __asm__ volatile("syscall" : "+r"(rax) : "r"(rdi) : "rcx", "r11", "memory");
        expect("nocap_debug_write_over_40_bytes", rax, PC_ERR_RANGE);
    }
    expect("nocap_unknown_syscall_number", raw_syscall(99, 0), PC_ERR_INVALID_SYSCALL);
    expect("nocap_syscall_number_zero", raw_syscall(0, 0), PC_ERR_INVALID_SYSCALL);

    /* Bad addresses: a frame of our own, mapped where it must not go. */
    pc_cptr_t frame = free0;
    pc_word_t err = retype4(ut, PC_OBJ_FRAME_4K, 0, frame, 1);
    kt_result("nocap_own_untyped_still_retypes_after_refusals", err == PC_OK, "(%s)", kt_err(err));
    expect("nocap_map_kernel_half_address",
           map_at(frame, vspace, 0xffff800000000000ull, PC_VM_READ), PC_ERR_RANGE);
    expect("nocap_map_kernel_image_address",
           map_at(frame, vspace, 0xffffffff80000000ull, PC_VM_READ), PC_ERR_RANGE);
    expect("nocap_map_noncanonical_address",
           map_at(frame, vspace, 0x0000900000000000ull, PC_VM_READ), PC_ERR_RANGE);
    expect("nocap_map_unaligned_address", map_at(frame, vspace, TASK_SELF_MIN + 8, PC_VM_READ),
           PC_ERR_ALIGNMENT);
    expect("nocap_map_unknown_rights_bits", map_at(frame, vspace, TASK_SELF_MIN, 0x100),
           PC_ERR_INVALID_ARGUMENT);
    {
        pc_word_t a[3] = {TASK_SELF_MIN, PC_VM_READ, 0};
        pc_cptr_t wrong = cnode;
        expect("nocap_map_into_a_cnode_is_invalid_cap",
               pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &wrong, NULL, 0), PC_ERR_INVALID_CAPABILITY);
    }
    expect("nocap_map_over_own_code", map_at(frame, vspace, 0x400000, PC_VM_READ),
           PC_ERR_DELETE_FIRST);

    /* Nothing changed: the frame maps where it may, and reads back zero. */
    err = map_at(frame, vspace, TASK_SELF_MIN, PC_VM_READ | PC_VM_WRITE);
    if (err == PC_ERR_FAILED_LOOKUP) {
        /* paging structures for that region are ours to supply */
        uint32_t next = free0 + 1;
        for (int i = 0; i < 3 && err == PC_ERR_FAILED_LOOKUP; i++) {
            pc_word_t missing = 0;
            pc_word_t a[3] = {TASK_SELF_MIN, PC_VM_READ | PC_VM_WRITE, 0};
            err = pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &vspace, &missing, 1);
            if (err != PC_ERR_FAILED_LOOKUP) {
                break;
            }
            if (retype4(ut, missing, 0, next, 1) != PC_OK ||
                pc_page_table_map(next, vspace, TASK_SELF_MIN) != PC_OK) {
                break;
            }
            next++;
            err = map_at(frame, vspace, TASK_SELF_MIN, PC_VM_READ | PC_VM_WRITE);
        }
    }
    volatile uint64_t *p = (volatile uint64_t *)TASK_SELF_MIN;
    bool ok = err == PC_OK && p[0] == 0 && p[511] == 0;
    if (ok) {
        p[0] = 0xfeed;
        ok = p[0] == 0xfeed;
    }
    kt_result("nocap_refused_calls_changed_nothing", ok, "(map %s)", kt_err(err));
    /* The root task is a server too: malformed requests get an error reply, nothing else. */
    pc_cptr_t init_ep = kt_cap("init", TASK_CAP_ENDPOINT);
    m = (pc_msg_t){0};
    m.info = pc_msginfo(0x12345, 0, 0, 1);
    err = pc_call(init_ep, &m);
    pc_word_t unknown = m.mr[0];
    m = (pc_msg_t){0};
    m.info = pc_msginfo(TASK_LABEL_DONE, 0, 0, 1); /* DONE needs two words */
    pc_word_t err2 = pc_call(init_ep, &m);
    pc_word_t short_done = m.mr[0];
    kt_result("nocap_root_task_refuses_malformed_requests",
              err == PC_OK && unknown == PC_ERR_INVALID_ARGUMENT && err2 == PC_OK &&
                  short_done == PC_ERR_INVALID_ARGUMENT,
              "(unknown label: %s / %s, short report: %s / %s)", kt_err(err), kt_err(unknown),
              kt_err(err2), kt_err(short_done));
    pc_word_t id[3] = {0, 0, 0};
    err = pc_cap_identify(ntfn_ro, id);
    kt_result("nocap_read_only_copy_keeps_its_rights",
              err == PC_OK && id[0] == PC_OBJ_NOTIFICATION && id[1] == PC_RIGHT_READ,
              "(type %llu rights %#llx)", (unsigned long long)id[0], (unsigned long long)id[1]);
    kt_finish();
}
