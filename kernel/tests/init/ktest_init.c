/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel self-test root task. Freestanding (no C runtime): it exercises the system calls and
 * object invocations through libportcullis, prints one line per test ("ok <name>" or
 * "FAIL <name>: ...") and a final "ktest: N passed, M failed", then ends QEMU through
 * pc_debug_halt with the failure count as exit code.
 */
#include <portcullis/portcullis.h>

static pc_bootinfo_t *bi;
static pc_word_t next_free;
static pc_cptr_t ut_slot; /* the largest RAM untyped */
static int passed, failed;

/* ---- tiny output helpers ---- */
static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}
static void puts_(const char *s)
{
    pc_debug_write(s, slen(s));
}
static void putx(uint64_t v)
{
    char b[19] = "0x";
    for (int i = 0; i < 16; i++) {
        unsigned d = (v >> (60 - 4 * i)) & 15;
        b[2 + i] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    }
    pc_debug_write(b, 18);
}
static void putu(uint64_t v)
{
    char b[21];
    int i = 20;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts_(&b[i]);
}

static int cur_ok;
static const char *cur_name;
static void begin(const char *name)
{
    cur_name = name;
    cur_ok = 1;
}
static void check(int cond, const char *what, uint64_t val)
{
    if (!cond && cur_ok) {
        puts_("FAIL ");
        puts_(cur_name);
        puts_(": ");
        puts_(what);
        puts_(" (");
        putx(val);
        puts_(")\n");
        cur_ok = 0;
    }
}
static void end(void)
{
    if (cur_ok) {
        puts_("ok ");
        puts_(cur_name);
        puts_("\n");
        passed++;
    } else {
        failed++;
    }
}

static pc_cptr_t sleep_ep;
/* Block for `us` microseconds so that lower-priority threads get to run. */
static void sleep_us(uint64_t us)
{
    pc_msg_t m = {0};
    (void)pc_recv(sleep_ep, &m, us);
}

/* ---- object helpers ---- */
static pc_cptr_t retype(unsigned type, unsigned bits)
{
    pc_cptr_t s = next_free++;
    pc_word_t err = pc_untyped_retype(ut_slot, type, bits, 0, s, 1);
    if (err) {
        puts_("retype failed: ");
        putu(err);
        puts_("\n");
        pc_debug_halt(99);
    }
    return s;
}

static uint64_t next_va = 0x0000010000000000ull; /* 1 TiB: PML4 slot 2, nothing mapped yet */
static pc_cptr_t pdpt, pd, pt;

/* Map a fresh RW frame at the next free address of our test window; returns the vaddr. */
static uint64_t map_new_frame(pc_cptr_t *frame_out)
{
    pc_cptr_t f = retype(PC_OBJ_FRAME_4K, 0);
    uint64_t va = next_va;
    next_va += 0x2000; /* leave an unmapped guard page after each */
    pc_word_t err = pc_frame_map(f, PC_SLOT_VSPACE, va, PC_VM_READ | PC_VM_WRITE, 0);
    if (err) {
        puts_("map failed: ");
        putu(err);
        puts_("\n");
        pc_debug_halt(98);
    }
    if (frame_out) {
        *frame_out = f;
    }
    return va;
}

/* A thread in our address space and cspace. */
typedef struct thread {
    pc_cptr_t tcb;
    pc_cptr_t ipc_frame;
    pc_ipc_buffer_t *ipc;
    uint64_t stack_top;
} thread_t;

static void thread_create(thread_t *t, void (*fn)(void), unsigned prio, pc_cptr_t cspace)
{
    t->tcb = retype(PC_OBJ_TCB, 0);
    uint64_t stack = map_new_frame(NULL);
    t->stack_top = stack + 4096 - 8;
    uint64_t ipc_va = map_new_frame(&t->ipc_frame);
    t->ipc = (pc_ipc_buffer_t *)ipc_va;
    pc_word_t err = pc_tcb_configure(t->tcb, cspace, PC_SLOT_VSPACE, t->ipc_frame, ipc_va);
    check(err == PC_OK, "tcb configure", err);
    err = pc_tcb_set_priority(t->tcb, PC_SLOT_TCB, prio);
    check(err == PC_OK, "set priority", err);
    err = pc_tcb_start(t->tcb, (uint64_t)fn, t->stack_top, 0, 1);
    check(err == PC_OK, "start", err);
}

/* ---- shared state with the helper threads ---- */
static pc_cptr_t ep, ep_badged, ntfn, fault_ep, recv_slot;
static volatile uint64_t server_seen_badge, server_seen_label, server_seen_len, server_seen_mr6;
static volatile uint64_t server_notifications, server_caps, server_cap_type;
static thread_t server;

/* Helper threads share the task's global IPC-buffer pointer with the main thread, so they never
 * set it; they reach their own buffer explicitly. */
static void server_main(void)
{
    pc_msg_t m = {0};
    pc_word_t err = pc_recv(ep, &m, PC_TIMEOUT_FOREVER);
    for (;;) {
        if (err != PC_OK) {
            m.info = pc_msginfo(0xEEE, 0, 0, 1);
            m.mr[0] = err;
            err = pc_reply_recv(ep, &m, PC_TIMEOUT_FOREVER);
            continue;
        }
        uint64_t label = pc_msginfo_label(m.info);
        if (label == PC_LABEL_NOTIFICATION) {
            server_notifications = m.badge;
            err = pc_recv(ep, &m, PC_TIMEOUT_FOREVER);
            continue;
        }
        server_seen_badge = m.badge;
        server_seen_label = label;
        server_seen_len = pc_msginfo_length(m.info);
        server_seen_mr6 = server.ipc->mr[6];
        server_caps = pc_msginfo_extra_caps(m.info);
        if (server_caps) {
            pc_word_t r[3] = {0};
            pc_cap_identify(recv_slot, r);
            server_cap_type = r[0];
            server.ipc->receive_index = 0;
        }
        /* reply: echo MR0 + 1 and MR5 * 2 */
        uint64_t a = m.mr[0];
        server.ipc->mr[5] = server.ipc->mr[5] * 2;
        m.info = pc_msginfo(label + 1, 0, 0, 6);
        m.mr[0] = a + 1;
        err = pc_reply_recv(ep, &m, PC_TIMEOUT_FOREVER);
    }
}

static volatile uint64_t faulter_progress;
static void faulter_main(void)
{
    faulter_progress = 1;
    *(volatile uint64_t *)0x0000020000000000ull = 42; /* nothing is mapped there */
    faulter_progress = 2;
    pc_task_exit(0);
}

/* ---- tests ---- */

static void test_bootinfo_describes_root_task(void)
{
    begin("test_bootinfo_describes_root_task");
    check(bi->magic == PC_BOOTINFO_MAGIC, "magic", bi->magic);
    check(bi->version == PC_BOOTINFO_VERSION && bi->size == sizeof(*bi), "version/size", bi->size);
    check(bi->tsc_hz > 1000000, "tsc_hz", bi->tsc_hz);
    check(bi->rsdp_paddr >= 0xE0000 && bi->rsdp_paddr < 0x100000, "rsdp in BIOS area",
          bi->rsdp_paddr);
    check(bi->num_cpus == 1, "cpus", bi->num_cpus);
    check(bi->untyped_count > 0 && bi->first_free_slot > PC_SLOT_FIRST_UNTYPED, "untypeds",
          bi->untyped_count);
    check(bi->module_count >= 1, "modules", bi->module_count);
    check(bi->ipc_buffer_vaddr == PC_ROOT_IPC_BUFFER_VADDR, "ipc buffer", bi->ipc_buffer_vaddr);
    int have_dmar = 0, have_ecam = 0;
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        pc_bootinfo_untyped_t *u = &bi->untyped[i];
        uint64_t e = u->paddr + (1ull << u->size_bits);
        if (u->is_device && u->paddr <= 0xfed90000 && e > 0xfed90000)
            have_dmar = 1;
        if (u->is_device && u->paddr <= 0xb0000000 && e > 0xb0000000)
            have_ecam = 1;
    }
    check(have_dmar && have_ecam, "device untypeds cover DMAR and ECAM",
          (uint64_t)have_dmar << 1 | have_ecam);
    pc_word_t r[3] = {0};
    check(pc_cap_identify(PC_SLOT_TCB, r) == PC_OK && r[0] == PC_OBJ_TCB, "tcb slot", r[0]);
    check(pc_cap_identify(PC_SLOT_CNODE, r) == PC_OK && r[0] == PC_OBJ_CNODE, "cnode slot", r[0]);
    check(pc_cap_identify(PC_SLOT_VSPACE, r) == PC_OK && r[0] == PC_OBJ_VSPACE, "vspace slot",
          r[0]);
    check(pc_cap_identify(PC_SLOT_IRQ_CONTROL, r) == PC_OK && r[0] == PC_CAP_IRQ_CONTROL,
          "irqc slot", r[0]);
    check(pc_cap_identify(PC_SLOT_IOPORT, r) == PC_OK && r[0] == PC_CAP_IOPORT, "ioport slot",
          r[0]);
    check(pc_cap_identify(PC_SLOT_IPC_BUFFER, r) == PC_OK && r[0] == PC_OBJ_FRAME_4K, "ipc slot",
          r[0]);
    end();
}

static void test_frame_map_needs_paging_structures_and_reports_level(void)
{
    begin("test_frame_map_needs_paging_structures_and_reports_level");
    pc_cptr_t f = retype(PC_OBJ_FRAME_4K, 0);
    pc_word_t a[3] = {next_va, PC_VM_READ | PC_VM_WRITE, 0}, res[1] = {0};
    pc_cptr_t vs = PC_SLOT_VSPACE;
    pc_word_t err = pc_invoke(f, PC_FRAME_MAP, 3, a, 1, &vs, res, 1);
    check(err == PC_ERR_FAILED_LOOKUP && res[0] == PC_OBJ_PDPT, "missing PDPT reported",
          err << 8 | res[0]);
    pdpt = retype(PC_OBJ_PDPT, 0);
    pd = retype(PC_OBJ_PD, 0);
    pt = retype(PC_OBJ_PT, 0);
    check(pc_page_table_map(pt, PC_SLOT_VSPACE, next_va) == PC_ERR_FAILED_LOOKUP,
          "PT before PD fails", 0);
    check(pc_page_table_map(pdpt, PC_SLOT_VSPACE, next_va) == PC_OK, "map PDPT", 0);
    check(pc_page_table_map(pd, PC_SLOT_VSPACE, next_va) == PC_OK, "map PD", 0);
    check(pc_page_table_map(pt, PC_SLOT_VSPACE, next_va) == PC_OK, "map PT", 0);
    check(pc_page_table_map(pt, PC_SLOT_VSPACE, next_va) == PC_ERR_ILLEGAL_OPERATION,
          "PT cap already mapped", 0);
    err = pc_frame_map(f, PC_SLOT_VSPACE, next_va + 1, PC_VM_READ, 0);
    check(err == PC_ERR_ALIGNMENT, "unaligned vaddr", err);
    err = pc_frame_map(f, PC_SLOT_VSPACE, 0x0000800000000000ull, PC_VM_READ, 0);
    check(err == PC_ERR_RANGE, "kernel half refused", err);
    err = pc_frame_map(f, PC_SLOT_VSPACE, next_va, PC_VM_READ | PC_VM_WRITE, 0);
    check(err == PC_OK, "map frame", err);
    volatile uint64_t *p = (volatile uint64_t *)next_va;
    *p = 0x1234;
    check(*p == 0x1234, "frame readable/writable", *p);
    pc_cptr_t f2 = retype(PC_OBJ_FRAME_4K, 0);
    err = pc_frame_map(f2, PC_SLOT_VSPACE, next_va, PC_VM_READ, 0);
    check(err == PC_ERR_DELETE_FIRST, "occupied vaddr", err);
    uint64_t pa = 0;
    err = pc_frame_get_address(f, &pa);
    check(err == PC_OK && pa != 0 && (pa & 0xfff) == 0, "frame address", pa);
    int inside = 0;
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        if (bi->untyped[i].slot == ut_slot && pa >= bi->untyped[i].paddr &&
            pa < bi->untyped[i].paddr + (1ull << bi->untyped[i].size_bits))
            inside = 1;
    }
    check(inside, "frame address inside its untyped", pa);
    check(pc_frame_unmap(f) == PC_OK, "unmap", 0);
    err = pc_frame_map(f2, PC_SLOT_VSPACE, next_va, PC_VM_READ | PC_VM_WRITE, 0);
    check(err == PC_OK, "vaddr free again after unmap", err);
    check(*p == 0, "new frame is zeroed", *p);
    check(pc_frame_unmap(f2) == PC_OK, "unmap 2", 0);
    next_va += 0x2000;
    end();
}

static void test_call_reply_with_long_message_and_badge(void)
{
    begin("test_call_reply_with_long_message_and_badge");
    ep = retype(PC_OBJ_ENDPOINT, 0);
    ep_badged = next_free++;
    check(pc_cnode_mint(PC_SLOT_CNODE, ep_badged, 0, ep, PC_RIGHTS_ALL, 0x5eed) == PC_OK, "mint",
          0);
    check(pc_cnode_mint(PC_SLOT_CNODE, next_free, 0, ep_badged, PC_RIGHTS_ALL, 7) ==
              PC_ERR_ILLEGAL_OPERATION,
          "re-badging refused", 0);
    recv_slot = next_free++;
    thread_create(&server, server_main, 200, PC_SLOT_CNODE);
    pc_ipc_buffer_t *me = pc_ipc_buffer();
    me->mr[5] = 21;
    me->mr[6] = 0xabcdef;
    pc_msg_t m = {.info = pc_msginfo(0x77, 0, 0, 7), .mr = {41, 0, 0, 0}};
    pc_word_t err = pc_call(ep_badged, &m);
    check(err == PC_OK, "call", err);
    check(pc_msginfo_label(m.info) == 0x78 && m.mr[0] == 42, "reply label/MR0", m.mr[0]);
    check(pc_msginfo_length(m.info) == 6 && me->mr[5] == 42, "reply MR5 via IPC buffer", me->mr[5]);
    check(server_seen_badge == 0x5eed && server_seen_len == 7 && server_seen_mr6 == 0xabcdef,
          "server saw badge/len/MR6", server_seen_badge);
    m = (pc_msg_t){.info = pc_msginfo(PC_LABEL_FAULT, 0, 0, 0)};
    err = pc_call(ep, &m);
    check(err == PC_ERR_INVALID_ARGUMENT, "reserved label refused", err);
    end();
}

static void test_capability_transfer_needs_grant(void)
{
    begin("test_capability_transfer_needs_grant");
    pc_cptr_t n = retype(PC_OBJ_NOTIFICATION, 0);
    pc_ipc_buffer_t *me = pc_ipc_buffer();
    server.ipc->receive_index = recv_slot;
    me->caps_or_badges[0] = n;
    pc_msg_t m = {.info = pc_msginfo(1, 0, 1, 1)};
    pc_word_t err = pc_call(ep, &m);
    pc_word_t r[3] = {0};
    check(err == PC_OK, "call with cap", err);
    check(server_caps == 1 && server_cap_type == PC_OBJ_NOTIFICATION, "cap arrived",
          server_caps << 8 | server_cap_type);
    check(pc_cap_identify(recv_slot, r) == PC_OK && r[0] == PC_OBJ_NOTIFICATION, "in receive slot",
          r[0]);
    pc_cnode_delete(PC_SLOT_CNODE, recv_slot);
    /* without GRANT: message arrives, cap does not */
    pc_cptr_t nogrant = next_free++;
    check(pc_cnode_copy(PC_SLOT_CNODE, nogrant, 0, ep, PC_RIGHT_WRITE) == PC_OK, "copy w/o grant",
          0);
    server.ipc->receive_index = recv_slot;
    me->caps_or_badges[0] = n;
    m = (pc_msg_t){.info = pc_msginfo(1, 0, 1, 1)};
    err = pc_call(nogrant, &m);
    check(err == PC_OK && server_caps == 0, "no cap without grant", server_caps);
    check(pc_cap_identify(recv_slot, r) == PC_ERR_FAILED_LOOKUP, "receive slot still empty", r[0]);
    server.ipc->receive_index = 0;
    end();
}

static void test_recv_timeout_and_poll(void)
{
    begin("test_recv_timeout_and_poll");
    pc_cptr_t e2 = retype(PC_OBJ_ENDPOINT, 0);
    pc_msg_t m = {0};
    pc_word_t err = pc_nb_recv(e2, &m);
    check(err == PC_ERR_TIMEOUT, "poll empty endpoint", err);
    err = pc_recv(e2, &m, 0);
    check(err == PC_ERR_TIMEOUT, "timeout 0 polls", err);
    uint64_t t0 = __builtin_ia32_rdtsc();
    err = pc_recv(e2, &m, 20000); /* 20 ms */
    uint64_t dt = __builtin_ia32_rdtsc() - t0;
    check(err == PC_ERR_TIMEOUT, "timed out", err);
    check(dt >= bi->tsc_hz / 100, "waited at least ~10 ms", dt);
    end();
}

static void test_notification_signal_wait_and_bound(void)
{
    begin("test_notification_signal_wait_and_bound");
    ntfn = retype(PC_OBJ_NOTIFICATION, 0);
    pc_cptr_t b1 = next_free++, b2 = next_free++;
    check(pc_cnode_mint(PC_SLOT_CNODE, b1, 0, ntfn, PC_RIGHTS_ALL, 0x1) == PC_OK, "mint b1", 0);
    check(pc_cnode_mint(PC_SLOT_CNODE, b2, 0, ntfn, PC_RIGHTS_ALL, 0x4) == PC_OK, "mint b2", 0);
    pc_word_t w = 0;
    check(pc_poll(ntfn, &w) == PC_ERR_TIMEOUT, "poll idle", w);
    pc_signal(b1);
    pc_signal(b2);
    check(pc_wait(ntfn, 1000, &w) == PC_OK && w == 0x5, "badges ORed", w);
    check(pc_wait(ntfn, 5000, &w) == PC_ERR_TIMEOUT, "wait times out", w);
    /* bound: the server blocked on its endpoint wakes for the notification */
    pc_cptr_t n2 = retype(PC_OBJ_NOTIFICATION, 0), n2b = next_free++;
    check(pc_cnode_mint(PC_SLOT_CNODE, n2b, 0, n2, PC_RIGHTS_ALL, 0x80) == PC_OK, "mint n2b", 0);
    check(pc_tcb_bind_notification(server.tcb, n2) == PC_OK, "bind", 0);
    check(pc_tcb_bind_notification(server.tcb, n2) == PC_ERR_ILLEGAL_OPERATION, "double bind", 0);
    pc_signal(n2b);
    sleep_us(2000); /* the server (prio 200) runs while we sleep */
    check(server_notifications == 0x80, "server got bound signal", server_notifications);
    end();
}

static void test_fault_goes_to_fault_endpoint(void)
{
    begin("test_fault_goes_to_fault_endpoint");
    fault_ep = retype(PC_OBJ_ENDPOINT, 0);
    pc_cptr_t fe_badged = next_free++;
    check(pc_cnode_mint(PC_SLOT_CNODE, fe_badged, 0, fault_ep, PC_RIGHTS_ALL, 0xfa) == PC_OK,
          "mint", 0);
    thread_t f;
    f.tcb = retype(PC_OBJ_TCB, 0);
    uint64_t stack = map_new_frame(NULL);
    uint64_t ipc_va = map_new_frame(&f.ipc_frame);
    check(pc_tcb_configure(f.tcb, PC_SLOT_CNODE, PC_SLOT_VSPACE, f.ipc_frame, ipc_va) == PC_OK,
          "configure", 0);
    check(pc_tcb_set_fault_ep(f.tcb, fe_badged) == PC_OK, "fault ep", 0);
    check(pc_tcb_set_priority(f.tcb, PC_SLOT_TCB, 100) == PC_OK, "prio", 0);
    check(pc_tcb_start(f.tcb, (uint64_t)faulter_main, stack + 4088, 0, 1) == PC_OK, "start", 0);
    pc_msg_t m = {0};
    pc_ipc_buffer_t *me = pc_ipc_buffer();
    pc_word_t err = pc_recv(fault_ep, &m, 1000000);
    check(err == PC_OK, "fault message received", err);
    check(pc_msginfo_label(m.info) == PC_LABEL_FAULT && m.badge == 0xfa, "label/badge", m.badge);
    check(m.mr[PC_FAULT_MR_TYPE] == PC_FAULT_VM && m.mr[PC_FAULT_MR_ADDR] == 0x0000020000000000ull,
          "type/addr", m.mr[PC_FAULT_MR_ADDR]);
    check(me->mr[PC_FAULT_MR_VECTOR] == 14 &&
              (me->mr[PC_FAULT_MR_ERROR] & (PC_PF_WRITE | PC_PF_USER)) ==
                  (PC_PF_WRITE | PC_PF_USER),
          "vector/error", me->mr[PC_FAULT_MR_ERROR]);
    check(faulter_progress == 1, "faulting thread stopped", faulter_progress);
    /* Fix the fault by moving rip past... instead: rewrite registers to run the exit path. */
    pc_word_t regs[PC_REG_COUNT] = {0};
    check(pc_invoke(f.tcb, PC_TCB_READ_REGISTERS, 0, NULL, 0, NULL, regs, PC_REG_COUNT) == PC_OK &&
              regs[PC_REG_RIP] == m.mr[PC_FAULT_MR_RIP],
          "read registers", regs[PC_REG_RIP]);
    check(pc_tcb_suspend(f.tcb) == PC_OK, "suspend", 0);
    /* A thread without a fault endpoint is suspended with a kernel message; the system runs on. */
    thread_t g;
    g.tcb = retype(PC_OBJ_TCB, 0);
    uint64_t st2 = map_new_frame(NULL);
    check(pc_tcb_configure(g.tcb, PC_SLOT_CNODE, PC_SLOT_VSPACE, 0, 0) == PC_OK, "configure g", 0);
    check(pc_tcb_set_priority(g.tcb, PC_SLOT_TCB, 250) == PC_OK, "prio g", 0);
    faulter_progress = 0;
    check(pc_tcb_start(g.tcb, (uint64_t)faulter_main, st2 + 4088, 0, 1) == PC_OK, "start g", 0);
    sleep_us(2000);
    check(faulter_progress == 1, "g ran and stopped at the fault", faulter_progress);
    end();
}

static void test_delete_endpoint_cancels_waiter(void)
{
    begin("test_delete_endpoint_cancels_waiter");
    pc_cptr_t e = retype(PC_OBJ_ENDPOINT, 0);
    pc_cptr_t copy = next_free++;
    check(pc_cnode_copy(PC_SLOT_CNODE, copy, 0, e, PC_RIGHTS_ALL) == PC_OK, "copy", 0);
    check(pc_cnode_delete(PC_SLOT_CNODE, e) == PC_OK, "delete original", 0);
    pc_word_t r[3] = {0};
    check(pc_cap_identify(copy, r) == PC_OK && r[0] == PC_OBJ_ENDPOINT, "copy survives", r[0]);
    check(pc_cap_identify(e, r) == PC_ERR_FAILED_LOOKUP, "slot empty", 0);
    check(pc_cnode_delete(PC_SLOT_CNODE, e) == PC_OK, "deleting empty slot is fine", 0);
    check(pc_cnode_delete(PC_SLOT_CNODE, 1u << PC_ROOT_CNODE_BITS) == PC_ERR_RANGE,
          "index out of range", 0);
    end();
}

static void test_revoke_untyped_makes_memory_reusable(void)
{
    begin("test_revoke_untyped_makes_memory_reusable");
    pc_cptr_t child = next_free++;
    pc_word_t err = pc_untyped_retype(ut_slot, PC_OBJ_UNTYPED, 16, 0, child, 1);
    check(err == PC_OK, "child untyped", err);
    pc_cptr_t objs = next_free;
    next_free += 16;
    err = pc_untyped_retype(child, PC_OBJ_FRAME_4K, 0, 0, objs, 16);
    check(err == PC_OK, "fill with 16 frames", err);
    err = pc_untyped_retype(child, PC_OBJ_ENDPOINT, 0, 0, next_free, 1);
    check(err == PC_ERR_NOT_ENOUGH_MEMORY, "full", err);
    uint64_t pa0 = 0;
    pc_frame_get_address(objs, &pa0);
    pc_cptr_t cpy = next_free++;
    check(pc_cnode_copy(PC_SLOT_CNODE, cpy, 0, objs, PC_RIGHTS_ALL) == PC_OK, "copy frame", 0);
    check(pc_cnode_copy(PC_SLOT_CNODE, next_free, 0, child, PC_RIGHTS_ALL) ==
              PC_ERR_ILLEGAL_OPERATION,
          "untyped cannot be copied", 0);
    err = pc_cnode_revoke(PC_SLOT_CNODE, child);
    check(err == PC_OK, "revoke", err);
    pc_word_t r[3] = {0};
    check(pc_cap_identify(objs, r) == PC_ERR_FAILED_LOOKUP &&
              pc_cap_identify(cpy, r) == PC_ERR_FAILED_LOOKUP,
          "children and grandchildren gone", 0);
    err = pc_untyped_retype(child, PC_OBJ_FRAME_4K, 0, 0, objs, 16);
    check(err == PC_OK, "retype again from the start", err);
    uint64_t pa1 = 1;
    pc_frame_get_address(objs, &pa1);
    check(pa0 == pa1, "same memory reused", pa1);
    err = pc_untyped_retype(child, PC_OBJ_TCB, 0, 0, 0, 1);
    check(err == PC_ERR_RANGE, "slot 0 refused", err);
    err = pc_untyped_retype(child, 99, 0, 0, next_free, 1);
    check(err == PC_ERR_INVALID_ARGUMENT, "bad type", err);
    err = pc_untyped_retype(child, PC_OBJ_ENDPOINT, 0, 0, objs, 1);
    check(err == PC_ERR_DELETE_FIRST, "occupied destination", err);
    end();
}

static void test_priority_bounded_by_mcp(void)
{
    begin("test_priority_bounded_by_mcp");
    pc_cptr_t t = retype(PC_OBJ_TCB, 0);
    check(pc_tcb_set_priority(t, PC_SLOT_TCB, 255) == PC_OK, "root may give 255", 0);
    check(pc_tcb_set_priority(t, PC_SLOT_TCB, 256) == PC_ERR_RANGE, "256 out of range", 0);
    check(pc_tcb_set_mcp(t, PC_SLOT_TCB, 10) == PC_OK, "mcp 10", 0);
    check(pc_tcb_set_priority(t, t, 11) == PC_ERR_RANGE, "above authority's mcp", 0);
    check(pc_tcb_set_priority(t, t, 10) == PC_OK, "at mcp", 0);
    check(pc_tcb_resume(t) == PC_ERR_ILLEGAL_OPERATION, "resume without vspace refused", 0);
    end();
}

static void test_ioport_ranges(void)
{
    begin("test_ioport_ranges");
    pc_cptr_t io = next_free++;
    check(pc_ioport_issue(PC_SLOT_IOPORT, 0x70, 0x71, io) == PC_OK, "issue CMOS ports", 0);
    uint8_t v = 0xff;
    check(pc_ioport_out8(io, 0x70, 0x0a) == PC_OK && pc_ioport_in8(io, 0x71, &v) == PC_OK,
          "CMOS reg A", v);
    check(pc_ioport_in8(io, 0x72, &v) == PC_ERR_RANGE, "outside range", 0);
    check(pc_ioport_issue(io, 0x60, 0x71, next_free) == PC_ERR_RANGE, "cannot widen", 0);
    end();
}

static void test_irq_handlers(void)
{
    begin("test_irq_handlers");
    pc_cptr_t h = next_free++, h2 = next_free++, m = next_free++;
    pc_word_t vec = 0;
    check(pc_irq_control_get(PC_SLOT_IRQ_CONTROL, 0, PC_IRQ_ISA, h, &vec) == PC_OK &&
              vec == 0x30 + 2,
          "ISA IRQ0 follows the MADT override to GSI 2", vec);
    check(pc_irq_control_get(PC_SLOT_IRQ_CONTROL, 2, 0, h2, &vec) == PC_ERR_REVOKE_FIRST,
          "GSI issued once", 0);
    check(pc_irq_control_get(PC_SLOT_IRQ_CONTROL, 200, 0, h2, &vec) == PC_ERR_RANGE,
          "GSI out of range", 0);
    pc_word_t r[3] = {0};
    check(pc_irq_control_get_msi(PC_SLOT_IRQ_CONTROL, m, r) == PC_OK && r[0] >= 0x60 &&
              (r[1] & 0xfff00000) == 0xfee00000 && r[2] == r[0],
          "MSI vector/address/data", r[0]);
    check(pc_irq_handler_set_notification(m, ntfn) == PC_OK, "bind MSI to notification", 0);
    check(pc_cnode_delete(PC_SLOT_CNODE, h) == PC_OK, "delete handler", 0);
    check(pc_irq_control_get(PC_SLOT_IRQ_CONTROL, 2, 0, h, &vec) == PC_OK, "GSI free again", 0);
    end();
}

/* PC_IRQ_REMAP and IRQHandler_SetRemap. The lines stay masked: without interrupt remapping
 * enabled a remappable-format interrupt has no meaning (the RTE bit layout is host-tested in
 * test_ioapic_rte_remappable_format). */
static void test_irq_remapped_lines(void)
{
    begin("test_irq_remapped_lines");
    const pc_cptr_t irqc = PC_SLOT_IRQ_CONTROL;
    pc_cptr_t h = next_free++, h2 = next_free++, m = next_free++;
    pc_word_t vec = 0, r[3] = {0};
    check(pc_irq_control_get_remapped(irqc, 5, PC_IRQ_LEVEL | PC_IRQ_ACTIVE_LOW, 0x8123, h, &vec) ==
                  PC_OK &&
              vec == 0x30 + 5,
          "remapped GSI 5 answers its vector", vec);
    check(pc_cap_identify(h, r) == PC_OK && r[0] == PC_CAP_IRQ_HANDLER, "an IRQHandler", r[0]);
    check(pc_irq_control_get(irqc, 5, 0, h2, &vec) == PC_ERR_REVOKE_FIRST, "issued once", 0);
    /* argument errors issue nothing: neither the GSI nor the slot is taken */
    check(pc_irq_control_get_remapped(irqc, 6, 0, 0x10000, h2, &vec) == PC_ERR_RANGE,
          "index 0x10000", 0);
    check(pc_irq_control_get_remapped(irqc, 6, 0, ~0ull, h2, &vec) == PC_ERR_RANGE, "index ~0", 0);
    pc_word_t a[3] = {6, PC_IRQ_REMAP, h2};
    check(pc_invoke(irqc, PC_IRQ_CONTROL_GET, 3, a, 0, NULL, NULL, 0) == PC_ERR_TRUNCATED_MESSAGE,
          "PC_IRQ_REMAP without MR3", 0);
    check(pc_irq_control_get(irqc, 6, 1u << 4, h2, &vec) == PC_ERR_INVALID_ARGUMENT,
          "unknown flag bit", 0);
    check(pc_irq_control_get_remapped(irqc, 6, 1u << 4, 1, h2, &vec) == PC_ERR_INVALID_ARGUMENT,
          "unknown flag bit with PC_IRQ_REMAP", 0);
    check(pc_cap_identify(h2, r) == PC_ERR_FAILED_LOOKUP, "slot still empty", r[0]);
    check(pc_irq_control_get(irqc, 6, 0, h2, &vec) == PC_OK && vec == 0x30 + 6,
          "GSI 6 issued normally after the refusals", vec);
    /* IRQHandler_SetRemap */
    check(pc_irq_handler_set_remap(h2, 0xffff) == PC_OK, "move a compatibility line", 0);
    check(pc_irq_handler_set_remap(h, 0) == PC_OK, "re-index a remapped line", 0);
    check(pc_irq_handler_set_remap(h2, 0x10000) == PC_ERR_RANGE, "SetRemap index 0x10000", 0);
    check(pc_invoke(h2, PC_IRQ_HANDLER_SET_REMAP, 0, NULL, 0, NULL, NULL, 0) ==
              PC_ERR_TRUNCATED_MESSAGE,
          "SetRemap without MR0", 0);
    check(pc_irq_control_get_msi(irqc, m, r) == PC_OK, "MSI handler", 0);
    check(pc_irq_handler_set_remap(m, 1) == PC_ERR_ILLEGAL_OPERATION, "SetRemap on an MSI", 0);
    check(pc_irq_handler_ack(h2) == PC_OK, "handler still usable", 0);
    /* deleting the handlers frees the lines; a plain Get rewrites the whole entry */
    check(pc_cnode_delete(PC_SLOT_CNODE, h) == PC_OK &&
              pc_cnode_delete(PC_SLOT_CNODE, h2) == PC_OK &&
              pc_cnode_delete(PC_SLOT_CNODE, m) == PC_OK,
          "delete handlers", 0);
    check(pc_irq_control_get(irqc, 5, 0, h, &vec) == PC_OK && vec == 0x30 + 5, "GSI 5 free again",
          vec);
    check(pc_cnode_delete(PC_SLOT_CNODE, h) == PC_OK, "delete", 0);
    end();
}

static volatile uint64_t unwrap_badge, unwrap_flags;
static thread_t unwrapper;
static pc_cptr_t unwrap_ep;
static void unwrapper_main(void)
{
    pc_msg_t m = {0};
    pc_word_t err = pc_recv(unwrap_ep, &m, PC_TIMEOUT_FOREVER);
    unwrap_flags =
        err == PC_OK ? (pc_msginfo_unwrapped(m.info) | (uint64_t)pc_msginfo_extra_caps(m.info) << 4)
                     : 0xEE;
    unwrap_badge = unwrapper.ipc->caps_or_badges[0];
    m.info = 0;
    pc_reply(&m);
    for (;;) {
        pc_recv(unwrap_ep, &m, PC_TIMEOUT_FOREVER);
    }
}

static void test_badged_cap_sent_through_its_own_endpoint_is_unwrapped(void)
{
    begin("test_badged_cap_sent_through_its_own_endpoint_is_unwrapped");
    unwrap_ep = retype(PC_OBJ_ENDPOINT, 0);
    pc_cptr_t b = next_free++;
    check(pc_cnode_mint(PC_SLOT_CNODE, b, 0, unwrap_ep, PC_RIGHTS_ALL, 0x4242) == PC_OK, "mint", 0);
    thread_create(&unwrapper, unwrapper_main, 200, PC_SLOT_CNODE);
    unwrapper.ipc->receive_index = next_free++; /* would receive a real cap here */
    pc_ipc_buffer_t *me = (pc_ipc_buffer_t *)bi->ipc_buffer_vaddr;
    me->caps_or_badges[0] = b;
    pc_msg_t m = {.info = pc_msginfo(3, 0, 1, 0)};
    sleep_us(1000); /* let it block in recv */
    pc_word_t err = pc_call(unwrap_ep, &m);
    check(err == PC_OK, "call", err);
    check(unwrap_flags == (1u | 1u << 4) && unwrap_badge == 0x4242, "badge unwrapped, no cap",
          unwrap_flags);
    pc_word_t r[3] = {0};
    check(pc_cap_identify(unwrapper.ipc->receive_index, r) == PC_ERR_FAILED_LOOKUP,
          "receive slot untouched", r[0]);
    end();
}

static volatile uint64_t victim_result;
static thread_t victim;
static pc_cptr_t victim_ep_slot;
static void victim_main(void)
{
    pc_msg_t m = {0};
    victim_result = 1;
    victim_result = pc_recv(victim_ep_slot, &m, PC_TIMEOUT_FOREVER) + 100;
    pc_task_exit(0);
}

static void test_deleting_nested_cnodes_destroys_their_objects(void)
{
    begin("test_deleting_nested_cnodes_destroys_their_objects");
    pc_word_t r[3] = {0};
    /* 1. Outer CNode A holds the only cap to CNode B, which holds the only cap to an endpoint a
     *    thread waits on. Deleting A's last cap destroys B and the endpoint: the waiter gets
     *    PC_ERR_CANCELLED. (The waiter's own copy would keep the endpoint alive, so it is
     *    deleted once the waiter is blocked.) */
    pc_cptr_t a = retype(PC_OBJ_CNODE, 3), b = retype(PC_OBJ_CNODE, 3),
              e = retype(PC_OBJ_ENDPOINT, 0);
    victim_ep_slot = next_free++;
    check(pc_cnode_copy(PC_SLOT_CNODE, victim_ep_slot, 0, e, PC_RIGHT_READ) == PC_OK,
          "waiter's copy", 0);
    check(pc_cnode_move(b, 1, PC_SLOT_CNODE, e) == PC_OK, "ep into B", 0);
    check(pc_cnode_move(a, 1, PC_SLOT_CNODE, b) == PC_OK, "B into A", 0);
    victim_result = 0;
    thread_create(&victim, victim_main, 200, PC_SLOT_CNODE);
    sleep_us(1000);
    check(victim_result == 1, "victim blocked", victim_result);
    check(pc_cnode_delete(PC_SLOT_CNODE, victim_ep_slot) == PC_OK, "drop the waiter's copy", 0);
    sleep_us(1000);
    check(victim_result == 1, "still blocked: B holds the endpoint", victim_result);
    check(pc_cnode_delete(PC_SLOT_CNODE, a) == PC_OK, "delete A", 0);
    sleep_us(1000);
    check(victim_result == 100 + PC_ERR_CANCELLED, "waiter cancelled", victim_result);
    check(pc_cap_identify(a, r) == PC_ERR_FAILED_LOOKUP, "A's slot empty", r[0]);

    /* 2. A CNode that holds a cap to itself survives the deletion of its external cap
     *    (unreachable); revoking the untyped it came from cleans everything up. */
    pc_cptr_t u = next_free++;
    check(pc_untyped_retype(ut_slot, PC_OBJ_UNTYPED, 16, 0, u, 1) == PC_OK, "child untyped", 0);
    pc_cptr_t a2 = next_free++, e2 = next_free++;
    check(pc_untyped_retype(u, PC_OBJ_CNODE, 3, 0, a2, 1) == PC_OK, "A2", 0);
    check(pc_untyped_retype(u, PC_OBJ_ENDPOINT, 0, 0, e2, 1) == PC_OK, "E2", 0);
    victim_ep_slot = next_free++;
    check(pc_cnode_copy(PC_SLOT_CNODE, victim_ep_slot, 0, e2, PC_RIGHT_READ) == PC_OK,
          "waiter's copy", 0);
    check(pc_cnode_move(a2, 1, PC_SLOT_CNODE, e2) == PC_OK, "E2 into A2", 0);
    check(pc_cnode_copy(a2, 2, PC_SLOT_CNODE, a2, PC_RIGHTS_ALL) == PC_OK, "A2 holds itself", 0);
    check(pc_cnode_move(a2, 3, PC_SLOT_CNODE, u) == PC_ERR_ILLEGAL_OPERATION,
          "untyped into its own CNode refused", 0);
    victim_result = 0;
    thread_t v2;
    thread_create(&v2, victim_main, 200, PC_SLOT_CNODE);
    sleep_us(1000);
    check(victim_result == 1, "second victim blocked", victim_result);
    check(pc_cnode_delete(PC_SLOT_CNODE, a2) == PC_OK, "delete A2's external cap", 0);
    sleep_us(1000);
    check(victim_result == 1, "still blocked: A2 keeps itself alive", victim_result);
    check(pc_cnode_revoke(PC_SLOT_CNODE, u) == PC_OK, "revoke the untyped", 0);
    sleep_us(1000);
    check(victim_result == 100 + PC_ERR_CANCELLED, "cycle destroyed, waiter cancelled",
          victim_result);
    pc_cptr_t frames = next_free;
    next_free += 16;
    pc_word_t err = pc_untyped_retype(u, PC_OBJ_FRAME_4K, 0, 0, frames, 16);
    check(err == PC_OK, "untyped fully reusable (16 x 4 KiB = all of it)", err);
    end();
}

static volatile uint64_t spin_a, spin_b;
static thread_t spinner_a, spinner_b;
static void spin_a_main(void)
{
    for (;;)
        spin_a++;
}
static void spin_b_main(void)
{
    for (;;)
        spin_b++;
}

static void test_equal_priorities_share_the_cpu_and_cannot_starve_higher(void)
{
    begin("test_equal_priorities_share_the_cpu_and_cannot_starve_higher");
    thread_create(&spinner_a, spin_a_main, 100, PC_SLOT_CNODE);
    thread_create(&spinner_b, spin_b_main, 100, PC_SLOT_CNODE);
    sleep_us(50000);
    uint64_t a1 = spin_a, b1 = spin_b;
    check(a1 > 0 && b1 > 0, "both ran (round robin on the timer)", a1 < b1 ? a1 : b1);
    /* a spinner at our own priority: yielding lets it run, the timer brings us back */
    pc_tcb_set_priority(spinner_a.tcb, PC_SLOT_TCB, 255);
    uint64_t before = spin_a;
    pc_yield();
    check(spin_a > before, "equal-priority spinner ran after yield", spin_a - before);
    pc_tcb_suspend(spinner_a.tcb);
    pc_tcb_suspend(spinner_b.tcb);
    end();
}

static void test_deleting_a_blocked_thread_leaves_the_endpoint_usable(void)
{
    begin("test_deleting_a_blocked_thread_leaves_the_endpoint_usable");
    /* the victim thread from the nested-CNode test is still blocked on the unreachable endpoint;
     * a fresh waiter on our own endpoint gets deleted while queued */
    pc_cptr_t e = retype(PC_OBJ_ENDPOINT, 0);
    victim_ep_slot = e;
    victim_result = 0;
    thread_t w;
    thread_create(&w, victim_main, 200, PC_SLOT_CNODE);
    sleep_us(1000);
    check(victim_result == 1, "blocked", victim_result);
    check(pc_cnode_delete(PC_SLOT_CNODE, w.tcb) == PC_OK, "delete its TCB", 0);
    pc_msg_t m = {.info = pc_msginfo(1, 0, 0, 0)};
    check(pc_nb_send(e, &m) == PC_OK, "send finds no receiver", 0);
    check(pc_nb_recv(e, &m) == PC_ERR_TIMEOUT, "queue empty", 0);
    end();
}

/* ---- saved reply capabilities (PC_CNODE_SAVE_CALLER, PC_CAP_REPLY) ---- */
static pc_cptr_t reply_ep;
static volatile uint64_t caller_result[4], caller_err[4], caller_done[4];
static thread_t callers[4];

/* Caller i calls reply_ep with MR0 = i + 1 and records the reply (or the error). */
static void caller_body(unsigned i)
{
    pc_msg_t m = {.info = pc_msginfo(0x77, 0, 0, 1), .mr = {i + 1}};
    caller_err[i] = pc_call(reply_ep, &m);
    caller_result[i] = m.mr[0];
    caller_done[i] = 1;
    pc_task_exit(0);
}
static void caller0_main(void)
{
    caller_body(0);
}
static void caller1_main(void)
{
    caller_body(1);
}
static void caller2_main(void)
{
    caller_body(2);
}
static void caller3_main(void)
{
    caller_body(3);
}
static void (*const caller_main[4])(void) = {caller0_main, caller1_main, caller2_main,
                                             caller3_main};

/* Start caller i (below our priority, so it runs while we sleep) and take its call. */
static pc_word_t accept_call(unsigned i, pc_cptr_t save_to)
{
    caller_done[i] = caller_err[i] = caller_result[i] = 0;
    thread_create(&callers[i], caller_main[i], 100, PC_SLOT_CNODE);
    pc_msg_t m = {0};
    pc_word_t err = pc_recv(reply_ep, &m, 100000);
    if (err != PC_OK || m.mr[0] != i + 1) {
        return err ? err : 0xbad;
    }
    return pc_cnode_save_caller(PC_SLOT_CNODE, save_to);
}

static pc_word_t slot_type(pc_cptr_t s)
{
    pc_word_t r[3] = {0};
    pc_word_t err = pc_cap_identify(s, r);
    return err ? 0 : r[0];
}

static void test_saved_replies_answer_their_callers_in_reverse_order(void)
{
    begin("test_saved_replies_answer_their_callers_in_reverse_order");
    reply_ep = retype(PC_OBJ_ENDPOINT, 0);
    pc_cptr_t ra = next_free++, rb = next_free++;
    pc_word_t err = accept_call(0, ra);
    check(err == PC_OK, "save caller A", err);
    err = accept_call(1, rb);
    check(err == PC_OK, "save caller B", err);
    check(slot_type(ra) == PC_CAP_REPLY && slot_type(rb) == PC_CAP_REPLY, "reply caps", 0);
    pc_msg_t m = {.info = pc_msginfo(0, 0, 0, 1)};
    check(pc_reply(&m) == PC_ERR_NO_REPLY, "nothing pending after the save", 0);
    sleep_us(2000);
    check(!caller_done[0] && !caller_done[1], "callers still blocked", 0);
    m.mr[0] = 200;
    check(pc_send(rb, &m) == PC_OK, "reply to B first", 0);
    sleep_us(2000);
    check(caller_done[1] && !caller_done[0], "B woke, A still waits", caller_done[0]);
    m.mr[0] = 100;
    check(pc_nb_send(ra, &m) == PC_OK, "reply to A", 0);
    sleep_us(2000);
    check(caller_done[0] && caller_err[0] == PC_OK && caller_result[0] == 100, "A got its reply",
          caller_result[0]);
    check(caller_err[1] == PC_OK && caller_result[1] == 200, "B got its reply", caller_result[1]);
    check(slot_type(ra) == 0 && slot_type(rb) == 0, "both caps consumed", 0);
    check(pc_send(ra, &m) == PC_ERR_FAILED_LOOKUP, "a consumed reply cap is gone", 0);
    end();
}

static void test_deleting_a_saved_reply_wakes_its_caller_with_an_error(void)
{
    begin("test_deleting_a_saved_reply_wakes_its_caller_with_an_error");
    pc_cptr_t r = next_free++;
    pc_word_t err = accept_call(2, r);
    check(err == PC_OK, "save caller", err);
    sleep_us(2000);
    check(!caller_done[2], "caller blocked", 0);
    check(pc_cnode_delete(PC_SLOT_CNODE, r) == PC_OK, "delete the reply cap", 0);
    sleep_us(2000);
    check(caller_done[2] && caller_err[2] == PC_ERR_CANCELLED, "caller woke with CANCELLED",
          caller_err[2]);
    end();
}

static void test_identify_reports_frame_address(void)
{
    begin("test_identify_reports_frame_address");
    pc_cptr_t f = retype(PC_OBJ_FRAME_4K, 0);
    uint64_t pa = 0;
    pc_word_t r[3] = {0};
    check(pc_frame_get_address(f, &pa) == PC_OK && pa != 0, "frame address", pa);
    check(pc_cap_identify(f, r) == PC_OK && r[0] == PC_OBJ_FRAME_4K && r[2] == pa,
          "identify word 2 = physical base", r[2]);
    check(pc_cap_identify(PC_SLOT_CNODE, r) == PC_OK && r[2] == 0, "no address for a CNode", r[2]);
    end();
}

/* ---- FPU state across IPC: lazy (#NM) and eager switching ---- */
static pc_cptr_t fpu_ep;
static volatile uint64_t fpu_echo_bad, fpu_echo_seen;

static inline void xmm0_set(uint64_t v)
{
    __asm__ volatile("movq %0, %%xmm0" : : "r"(v));
}

static inline uint64_t xmm0_get(void)
{
    uint64_t v;
    __asm__ volatile("movq %%xmm0, %0" : "=r"(v));
    return v;
}

/* Sets its own xmm0 once, then answers; each message checks the value is still its own. */
static void fpu_echo_main(void)
{
    pc_msg_t m = {0};
    pc_word_t err = pc_recv(fpu_ep, &m, PC_TIMEOUT_FOREVER);
    xmm0_set(0xa5a5a5a5a5a5a5a5ull);
    for (;;) {
        fpu_echo_seen++;
        if (err != PC_OK || xmm0_get() != 0xa5a5a5a5a5a5a5a5ull) {
            fpu_echo_bad++;
        }
        m.info = pc_msginfo(0, 0, 0, 0);
        err = pc_reply_recv(fpu_ep, &m, PC_TIMEOUT_FOREVER);
    }
}

/* Two threads both using SSE, switching on every message for more than K_FPU_EAGER_SWITCHES
 * rounds (so both the trapping and the eager switch, and the return to lazy, are exercised):
 * each keeps its own registers. */
static void test_fpu_registers_survive_ipc_switches(void)
{
    begin("test_fpu_registers_survive_ipc_switches");
    fpu_ep = retype(PC_OBJ_ENDPOINT, 0);
    thread_t echo;
    thread_create(&echo, fpu_echo_main, 200, PC_SLOT_CNODE);
    unsigned bad = 0;
    for (unsigned i = 0; i < 300; i++) {
        uint64_t mine = 0x1234567800000000ull + i;
        xmm0_set(mine);
        pc_msg_t m = {.info = pc_msginfo(1, 0, 0, 0)};
        pc_word_t err = pc_call(fpu_ep, &m);
        if (err != PC_OK || xmm0_get() != mine) {
            bad++;
        }
    }
    check(bad == 0, "caller's xmm0 kept across calls", bad);
    check(fpu_echo_seen == 300 && fpu_echo_bad == 0, "server's xmm0 kept across messages",
          fpu_echo_bad);
    check(pc_cnode_delete(PC_SLOT_CNODE, echo.tcb) == PC_OK, "delete echo thread", 0);
    end();
}

static void test_stale_and_misused_reply_caps_get_defined_errors(void)
{
    begin("test_stale_and_misused_reply_caps_get_defined_errors");
    pc_msg_t m = {.info = pc_msginfo(0, 0, 0, 1), .mr = {5}};
    pc_cptr_t r = next_free++, r2 = next_free++, other = next_free++;
    check(pc_cnode_save_caller(PC_SLOT_CNODE, r) == PC_ERR_NO_REPLY, "no caller to save", 0);
    check(pc_cnode_save_caller(PC_SLOT_CNODE, PC_SLOT_TCB) == PC_ERR_DELETE_FIRST, "occupied slot",
          0);
    /* a caller that is suspended leaves a stale cap */
    pc_word_t err = accept_call(3, r);
    check(err == PC_OK, "save caller", err);
    check(pc_cnode_save_caller(PC_SLOT_CNODE, other) == PC_ERR_NO_REPLY, "saved once only", 0);
    check(pc_cnode_copy(PC_SLOT_CNODE, other, PC_SLOT_CNODE, r, PC_RIGHTS_ALL) ==
              PC_ERR_ILLEGAL_OPERATION,
          "reply caps cannot be copied", 0);
    check(pc_call(r, &m) == PC_ERR_ILLEGAL_OPERATION, "call on a reply cap refused", 0);
    m.info = pc_msginfo(PC_LABEL_FAULT, 0, 0, 1);
    check(pc_send(r, &m) == PC_ERR_INVALID_ARGUMENT, "reserved label refused", 0);
    check(slot_type(r) == PC_CAP_REPLY, "refusals consume nothing", slot_type(r));
    pc_tcb_suspend(callers[3].tcb);
    m.info = pc_msginfo(0, 0, 0, 1);
    check(pc_send(r, &m) == PC_ERR_NO_REPLY, "stale cap: caller suspended", 0);
    check(slot_type(r) == 0, "stale cap consumed", 0);
    check(!caller_done[3], "suspended caller did not run", 0);
    /* a moved cap still answers; a deleted caller leaves a stale cap */
    err = accept_call(0, r);
    check(err == PC_OK, "save again", err);
    check(pc_cnode_move(PC_SLOT_CNODE, r2, PC_SLOT_CNODE, r) == PC_OK, "move the reply cap", 0);
    m.mr[0] = 77;
    check(pc_send(r2, &m) == PC_OK, "reply through the moved cap", 0);
    sleep_us(2000);
    check(caller_done[0] && caller_result[0] == 77, "moved cap delivered", caller_result[0]);
    err = accept_call(1, r);
    check(err == PC_OK, "save a third time", err);
    check(pc_cnode_delete(PC_SLOT_CNODE, callers[1].tcb) == PC_OK, "delete the caller", 0);
    check(pc_send(r, &m) == PC_ERR_NO_REPLY, "stale cap: caller deleted", 0);
    end();
}

/* ---- a hostile device: MSIs with exception vectors (HPET FSB delivery, -global hpet.msi=on) ----
 */
#define HPET_PADDR 0xfed00000ull
#define HPET_GCAP_ID 0x000  /* General Capabilities and ID */
#define HPET_GEN_CONF 0x010 /* General Configuration */
#define HPET_ENABLE_CNF 0x1
#define HPET_MAIN_CNT 0x0f0                  /* Main Counter Value */
#define HPET_TN_CONF(n) (0x100 + 0x20 * (n)) /* Timer N Configuration and Capability */
#define HPET_TN_INT_ENB (1u << 2)
#define HPET_TN_FSB_EN (1u << 14)
#define HPET_TN_FSB_CAP (1ull << 15)
#define HPET_TN_CMP(n) (0x108 + 0x20 * (n)) /* Timer N Comparator Value */
#define HPET_TN_FSB(n) (0x110 + 0x20 * (n)) /* Timer N FSB Interrupt Route */

static volatile uint64_t *hpet;

static void hpet_fire(unsigned vector)
{
    hpet[HPET_GEN_CONF / 8] = 0;
    hpet[HPET_TN_FSB(0) / 8] = (0xfee00000ull << 32) | vector;
    hpet[HPET_TN_CONF(0) / 8] = HPET_TN_INT_ENB | HPET_TN_FSB_EN;
    hpet[HPET_TN_CMP(0) / 8] = hpet[HPET_MAIN_CNT / 8] + 2000; /* ~140 us at 14.3 MHz */
    hpet[HPET_GEN_CONF / 8] = HPET_ENABLE_CNF;
}

static void test_device_msi_with_exception_vectors_is_ignored(void)
{
    begin("test_device_msi_with_exception_vectors_is_ignored");
    pc_cptr_t ut = 0;
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        if (bi->untyped[i].is_device && bi->untyped[i].paddr == HPET_PADDR)
            ut = bi->untyped[i].slot;
    }
    check(ut != 0, "device untyped starting at the HPET", 0);
    if (!ut) {
        end();
        return;
    }
    pc_cptr_t fr = next_free++;
    check(pc_untyped_retype(ut, PC_OBJ_FRAME_4K, 0, 0, fr, 1) == PC_OK, "HPET frame", 0);
    check(pc_untyped_retype(ut, PC_OBJ_TCB, 0, 0, next_free, 1) == PC_ERR_INVALID_ARGUMENT,
          "device memory cannot become a TCB", 0);
    uint64_t va = next_va;
    next_va += 0x2000;
    check(pc_frame_map(fr, PC_SLOT_VSPACE, va, PC_VM_READ | PC_VM_WRITE, PC_VM_ATTR_UNCACHED) ==
              PC_OK,
          "map", 0);
    hpet = (volatile uint64_t *)va;
    if (!(hpet[HPET_TN_CONF(0) / 8] & HPET_TN_FSB_CAP)) {
        puts_("ktest: HPET without FSB delivery (run with -global hpet.msi=on): skipped\n");
        end();
        return;
    }
    static const unsigned vectors[] = {17, 18, 21, 30, 0xff, 0x25};
    for (unsigned i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        /* while this thread runs in user mode ... */
        hpet_fire(vectors[i]);
        uint64_t t0 = __builtin_ia32_rdtsc();
        while (__builtin_ia32_rdtsc() - t0 < bi->tsc_hz / 500) {
        }
        /* ... and while the CPU idles */
        hpet_fire(vectors[i]);
        sleep_us(2000);
    }
    hpet[HPET_GEN_CONF / 8] = 0;
    /* interrupts (the timer) still work: a timeout still expires */
    uint64_t t0 = __builtin_ia32_rdtsc();
    pc_msg_t m = {0};
    pc_word_t err = pc_recv(sleep_ep, &m, 5000);
    check(err == PC_ERR_TIMEOUT && __builtin_ia32_rdtsc() - t0 >= bi->tsc_hz / 400,
          "timer still delivers", err);
    end();
}

/* ---- robustness: a thread throwing random system calls ---- */
static volatile uint64_t fuzz_iters;
static thread_t fuzzer;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t fuzz_target = 10000;

static int prefix_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] || a[i] == 0) {
            return 0;
        }
    }
    return 1;
}

/* "name=<decimal>" from the kernel command line (QEMU -append), or dflt. */
static uint64_t cmdline_num(const char *name, uint64_t dflt)
{
    const char *c = bi->cmdline;
    size_t n = slen(name);
    for (size_t i = 0; c[i]; i++) {
        if ((i == 0 || c[i - 1] == ' ') && prefix_eq(c + i, name, n) && c[i + n] == '=') {
            uint64_t v = 0;
            for (size_t j = i + n + 1; c[j] >= '0' && c[j] <= '9'; j++) {
                v = v * 10 + (uint64_t)(c[j] - '0');
            }
            return v;
        }
    }
    return dflt;
}
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Calls into the fuzzer's endpoint (its slot 12) so that it has callers whose replies it can
 * save, use, move and delete at random. */
static volatile uint64_t fuzz_calls, fuzz_saves;
static pc_cptr_t fuzz_call_ep;
static thread_t fuzz_caller;
static void fuzz_caller_main(void)
{
    for (;;) {
        pc_msg_t m = {.info = pc_msginfo(1, 0, 0, 1), .mr = {fuzz_calls}};
        (void)pc_call(fuzz_call_ep, &m);
        fuzz_calls++;
    }
}

/* One in eight steps: take a pending call and save its reply into a random slot of the
 * fuzzer's CNode (slot 1), where the random system calls will find it; or answer or delete
 * whatever a random slot above the fixed ones holds. */
static void fuzz_reply_step(void)
{
    pc_msg_t m = {.info = pc_msginfo(rnd() % 4, 0, 0, (unsigned)(rnd() % 6)), .mr = {rnd()}};
    pc_word_t slot = 13 + rnd() % 27;
    switch (rnd() % 3) {
    case 0:
        if (pc_nb_recv(12, &m) == PC_OK && pc_msginfo_label(m.info) != PC_LABEL_NOTIFICATION) {
            pc_word_t dest = rnd() % 40;
            pc_word_t err =
                pc_invoke_buf(fuzzer.ipc, 1, PC_CNODE_SAVE_CALLER, 1, &dest, 0, NULL, NULL, 0);
            if (err == PC_OK) {
                fuzz_saves++;
            }
        }
        break;
    case 1:
        (void)pc_nb_send(slot, &m);
        break;
    default:
        (void)pc_invoke_buf(fuzzer.ipc, 1, PC_CNODE_DELETE, 1, &slot, 0, NULL, NULL, 0);
        break;
    }
}

static void fuzz_main(void)
{
    for (;;) {
        if (rnd() % 8 == 0) {
            fuzz_reply_step();
        }
        uint64_t sys = rnd() % 15;
        if (sys == PC_SYS_DEBUG_HALT || sys == PC_SYS_DEBUG_WRITE) {
            sys = PC_SYS_CALL;
        }
        for (unsigned i = 4; i < 12; i++) {
            fuzzer.ipc->mr[i] = (rnd() & 1) ? rnd() % 64 : rnd();
        }
        for (unsigned i = 0; i < 3; i++) {
            fuzzer.ipc->caps_or_badges[i] = rnd() % 40;
        }
        fuzzer.ipc->receive_index = rnd() % 40;
        uint64_t pick = rnd() % 8;
        uint64_t label = pick < 5 ? rnd() % 64 : rnd();
        pc_msg_t m = {
            .info = pc_msginfo(label, 0, (unsigned)(rnd() % 4), (unsigned)(rnd() % 80)),
            .mr = {rnd() % 64, (rnd() & 1) ? rnd() % 32 : rnd(), rnd() % 64, rnd() % 300}};
        uint64_t cptr = (rnd() & 3) ? rnd() % 40 : rnd();
        uint64_t timeout = (rnd() % 8 == 0) ? rnd() % 300 : 0;
        pc_syscall(sys, cptr, timeout, &m);
        fuzz_iters++;
    }
}

static void test_random_syscalls_do_not_hurt_the_kernel(void)
{
    begin("test_random_syscalls_do_not_hurt_the_kernel");
    /* The fuzzer gets its own CNode with a few caps it may destroy at will. */
    pc_cptr_t cn = retype(PC_OBJ_CNODE, 6);
    pc_word_t err = pc_cnode_copy(cn, 1, PC_SLOT_CNODE, cn, PC_RIGHTS_ALL);
    check(err == PC_OK, "cnode self", err);
    pc_cnode_copy(cn, 2, PC_SLOT_CNODE, ep, PC_RIGHTS_ALL);
    pc_cnode_copy(cn, 3, PC_SLOT_CNODE, ntfn, PC_RIGHTS_ALL);
    pc_cptr_t ut = next_free++;
    pc_untyped_retype(ut_slot, PC_OBJ_UNTYPED, 18, 0, ut, 1);
    err = pc_cnode_move(cn, 4, PC_SLOT_CNODE, ut);
    check(err == PC_OK, "move untyped", err);
    pc_cnode_copy(cn, 5, PC_SLOT_CNODE, fault_ep, PC_RIGHTS_ALL);
    pc_cptr_t port80 = next_free++;
    pc_ioport_issue(PC_SLOT_IOPORT, 0x80, 0x80, port80);
    pc_cnode_move(cn, 6, PC_SLOT_CNODE, port80);
    pc_cptr_t fr = retype(PC_OBJ_FRAME_4K, 0);
    pc_cnode_move(cn, 7, PC_SLOT_CNODE, fr);
    pc_cnode_copy(cn, 8, PC_SLOT_CNODE, PC_SLOT_VSPACE, PC_RIGHTS_ALL);
    pc_cptr_t pt2 = retype(PC_OBJ_PT, 0);
    pc_cnode_move(cn, 9, PC_SLOT_CNODE, pt2);
    thread_create(&fuzzer, fuzz_main, 50, cn);
    pc_cnode_copy(cn, 10, PC_SLOT_CNODE, fuzzer.tcb, PC_RIGHTS_ALL);
    pc_cnode_copy(cn, 11, PC_SLOT_CNODE, PC_SLOT_IRQ_CONTROL, PC_RIGHTS_ALL);
    fuzz_call_ep = retype(PC_OBJ_ENDPOINT, 0);
    pc_cnode_copy(cn, 12, PC_SLOT_CNODE, fuzz_call_ep, PC_RIGHTS_ALL);
    thread_create(&fuzz_caller, fuzz_caller_main, 50, PC_SLOT_CNODE);
    uint64_t last = 0;
    const uint64_t target = fuzz_target;
    for (unsigned rounds = 0; rounds < 6000 + target / 2 && fuzz_iters < target; rounds++) {
        sleep_us(1000); /* let the fuzzer run */
        if (rounds % 1000 == 0) {
            puts_("ktest: fuzz progress ");
            putu(fuzz_iters);
            puts_("\n");
        }
        if (fuzz_iters == last) {
            /* it blocked or suspended itself: kick it */
            pc_tcb_suspend(fuzzer.tcb);
            pc_tcb_resume(fuzzer.tcb);
        }
        last = fuzz_iters;
    }
    pc_tcb_suspend(fuzzer.tcb);
    pc_tcb_suspend(fuzz_caller.tcb);
    puts_("ktest: fuzzer made ");
    putu(fuzz_iters);
    puts_(" random system calls, saved ");
    putu(fuzz_saves);
    puts_(" replies of ");
    putu(fuzz_calls);
    puts_(" calls\n");
    check(fuzz_iters >= target, "enough iterations", fuzz_iters);
    check(fuzz_saves > 0, "replies were saved", fuzz_saves);
    /* the kernel still works */
    pc_msg_t m = {.info = pc_msginfo(0x10, 0, 0, 1), .mr = {1}};
    server.ipc->receive_index = 0;
    err = pc_call(ep, &m);
    check(err == PC_OK && m.mr[0] == 2, "IPC still works", err);
    end();
}

/* ---- decode errors of CNode invocations change nothing ---- */

typedef struct slot_view {
    pc_word_t err, type, rights, word;
} slot_view_t;

static slot_view_t view(pc_cptr_t s)
{
    pc_word_t r[3] = {0};
    pc_word_t err = pc_cap_identify(s, r);
    return (slot_view_t){err, r[0], r[1], r[2]};
}

/* A CNode invocation with `len` message registers from `args` and no caps. */
static pc_word_t cnode_raw(pc_cptr_t cn, uint64_t label, unsigned len, const pc_word_t *args)
{
    return pc_invoke(cn, label, len, args, 0, NULL, NULL, 0);
}

static void test_cnode_invocations_that_fail_decode_change_nothing(void)
{
    begin("test_cnode_invocations_that_fail_decode_change_nothing");
    pc_cptr_t first = next_free;
    pc_cptr_t e = retype(PC_OBJ_ENDPOINT, 0), x = retype(PC_OBJ_CNODE, 3);
    pc_cptr_t badged = next_free++, copy = next_free++, empty = next_free++, empty2 = next_free++;
    pc_cptr_t frame = retype(PC_OBJ_FRAME_4K, 0);
    pc_cptr_t u = next_free++;
    check(pc_untyped_retype(ut_slot, PC_OBJ_UNTYPED, 16, 0, u, 1) == PC_OK, "child untyped", 0);
    pc_cptr_t inner = next_free++;
    check(pc_untyped_retype(u, PC_OBJ_CNODE, 3, 0, inner, 1) == PC_OK, "CNode inside u", 0);
    check(pc_cnode_mint(PC_SLOT_CNODE, badged, 0, e, PC_RIGHTS_ALL, 7) == PC_OK, "mint", 0);
    check(pc_cnode_copy(PC_SLOT_CNODE, copy, 0, e, PC_RIGHT_WRITE) == PC_OK, "copy", 0);
    check(pc_cnode_copy(x, 1, PC_SLOT_CNODE, e, PC_RIGHTS_ALL) == PC_OK, "copy into x", 0);
    pc_cptr_t last = next_free;
    slot_view_t before[16];
    for (pc_cptr_t s = first; s < last; s++) {
        before[s - first] = view(s);
    }

    pc_word_t no[4] = {0}, zero_idx[1] = {0}, big_idx[1] = {1u << PC_ROOT_CNODE_BITS};
    pc_word_t copy_args[3] = {copy, e, PC_RIGHTS_ALL}, idx[1] = {copy};
    struct {
        pc_word_t got, want;
    } r[] = {
        {pc_cnode_copy(PC_SLOT_CNODE, copy, 0, e, PC_RIGHTS_ALL), PC_ERR_DELETE_FIRST},
        {pc_cnode_copy(PC_SLOT_CNODE, empty, 0, empty2, PC_RIGHTS_ALL), PC_ERR_FAILED_LOOKUP},
        {pc_cnode_copy(PC_SLOT_CNODE, empty, 0, 1u << PC_ROOT_CNODE_BITS, PC_RIGHTS_ALL),
         PC_ERR_RANGE},
        {pc_cnode_copy(PC_SLOT_CNODE, 0, 0, e, PC_RIGHTS_ALL), PC_ERR_RANGE},
        {pc_cnode_mint(PC_SLOT_CNODE, empty, 0, badged, PC_RIGHTS_ALL, 9),
         PC_ERR_ILLEGAL_OPERATION},
        {pc_cnode_mint(PC_SLOT_CNODE, empty, 0, frame, PC_RIGHTS_ALL, 9), PC_ERR_INVALID_ARGUMENT},
        {pc_cnode_copy(PC_SLOT_CNODE, empty, 0, u, PC_RIGHTS_ALL), PC_ERR_ILLEGAL_OPERATION},
        {pc_cnode_move(inner, 1, PC_SLOT_CNODE, u), PC_ERR_ILLEGAL_OPERATION},
        {pc_cnode_move(PC_SLOT_CNODE, copy, 0, e), PC_ERR_DELETE_FIRST},
        {pc_cnode_move(PC_SLOT_CNODE, empty, frame, 1), PC_ERR_INVALID_CAPABILITY},
        {pc_cnode_move(PC_SLOT_CNODE, empty, empty2, 1), PC_ERR_FAILED_LOOKUP},
        {pc_cnode_copy(x, 1, PC_SLOT_CNODE, e, PC_RIGHTS_ALL), PC_ERR_DELETE_FIRST},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_COPY, 2, copy_args), PC_ERR_TRUNCATED_MESSAGE},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_MINT, 3, copy_args), PC_ERR_TRUNCATED_MESSAGE},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_MOVE, 1, copy_args), PC_ERR_TRUNCATED_MESSAGE},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_DELETE, 0, idx), PC_ERR_TRUNCATED_MESSAGE},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_REVOKE, 0, idx), PC_ERR_TRUNCATED_MESSAGE},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_DELETE, 1, zero_idx), PC_ERR_RANGE},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_REVOKE, 1, big_idx), PC_ERR_RANGE},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_SAVE_CALLER, 1, idx), PC_ERR_DELETE_FIRST},
        {cnode_raw(PC_SLOT_CNODE, PC_CNODE_SAVE_CALLER, 0, idx), PC_ERR_TRUNCATED_MESSAGE},
        {pc_cnode_save_caller(PC_SLOT_CNODE, empty), PC_ERR_NO_REPLY},
        {cnode_raw(PC_SLOT_CNODE, 9999, 4, no), PC_ERR_ILLEGAL_OPERATION},
    };
    for (unsigned i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        check(r[i].got == r[i].want, "error code (case index << 8 | got)", (i << 8) | r[i].got);
    }
    for (pc_cptr_t s = first; s < last; s++) {
        slot_view_t a = before[s - first], b = view(s);
        check(a.err == b.err && a.type == b.type && a.rights == b.rights && a.word == b.word,
              "slot unchanged", s);
    }
    /* The derivation tree is as it was: revoking the endpoint removes exactly its three
     * children, wherever they are. */
    check(pc_cnode_revoke(PC_SLOT_CNODE, e) == PC_OK, "revoke", 0);
    check(view(e).type == PC_OBJ_ENDPOINT, "the endpoint stays", 0);
    check(view(badged).err == PC_ERR_FAILED_LOOKUP && view(copy).err == PC_ERR_FAILED_LOOKUP,
          "root copies gone", 0);
    check(pc_cnode_move(PC_SLOT_CNODE, empty, x, 1) == PC_ERR_FAILED_LOOKUP, "x's copy gone", 0);
    check(view(u).type == PC_OBJ_UNTYPED && view(inner).type == PC_OBJ_CNODE, "others stay", 0);
    end();
}

/* ---- preemptible revoke and retype ---- */

static pc_cptr_t tick_ep, work_ep;
static volatile uint64_t ticker_wakeups;
static thread_t ticker, worker;

/* Above the worker: wakes on every timer tick while the worker's long kernel
 * operation runs, if the kernel lets the tick in. */
static void ticker_main(void)
{
    pc_msg_t m = {0};
    for (;;) {
        (void)pc_recv(tick_ep, &m, 1); /* expires on the next tick */
        ticker_wakeups++;
    }
}

/* What the worker does, and what it saw. */
static volatile uint64_t work_kind, work_a, work_b, work_c;
static volatile uint64_t work_err, work_done, work_cycles, work_preempts, work_wakeups;

static void worker_main(void)
{
    pc_msg_t m = {0};
    for (;;) {
        (void)pc_recv(work_ep, &m, PC_TIMEOUT_FOREVER);
        uint64_t w0 = ticker_wakeups, p0 = pc_debug_preemptions();
        uint64_t t0 = __builtin_ia32_rdtsc();
        if (work_kind == 0) {
            work_err = pc_cnode_revoke(PC_SLOT_CNODE, work_a);
        } else {
            work_err = pc_untyped_retype(work_a, PC_OBJ_FRAME_2M, 0, 0, work_b, work_c);
        }
        work_cycles = __builtin_ia32_rdtsc() - t0;
        work_preempts = pc_debug_preemptions() - p0;
        work_wakeups = ticker_wakeups - w0;
        work_done = 1;
    }
}

/* Run one long operation in the worker (priority 100) with the ticker (200) waiting on timer
 * ticks; the root task (255) sleeps meanwhile. */
static void run_in_worker(uint64_t kind, uint64_t a, uint64_t b, uint64_t c)
{
    if (worker.tcb == 0) {
        tick_ep = retype(PC_OBJ_ENDPOINT, 0);
        work_ep = retype(PC_OBJ_ENDPOINT, 0);
        thread_create(&ticker, ticker_main, 200, PC_SLOT_CNODE);
        thread_create(&worker, worker_main, 100, PC_SLOT_CNODE);
        sleep_us(2000);
    }
    work_kind = kind;
    work_a = a;
    work_b = b;
    work_c = c;
    work_done = 0;
    pc_msg_t m = {.info = pc_msginfo(0, 0, 0, 0)};
    check(pc_send(work_ep, &m) == PC_OK, "start the worker", 0);
    for (unsigned i = 0; i < 20000 && !work_done; i++) {
        sleep_us(1000);
    }
    check(work_done, "the operation finished", 0);
}

/* The worker's operation let the timer in: at least one preemption point stopped it (a
 * non-preemptible operation takes none, whatever the load), and the higher-priority tick thread
 * ran. How many ticks fall into the operation depends on the host's speed under TCG, so only
 * "at least one" is asserted; the counts are printed. */
static void check_worker_was_preempted(const char *what)
{
    check(work_preempts >= 1, "preemption points taken", work_preempts);
    check(work_wakeups >= 1, "timer-driven thread ran during the operation", work_wakeups);
    puts_(what);
    puts_(": ");
    putu(work_cycles);
    puts_(" TSC cycles, ");
    putu(work_preempts);
    puts_(" preemption points, ");
    putu(work_wakeups);
    puts_(" timer wake-ups of a higher-priority thread during it\n");
}

static void test_revoke_of_a_large_tree_is_preemptible_and_complete(void)
{
    begin("test_revoke_of_a_large_tree_is_preemptible_and_complete");
    const unsigned bits = 15, half = ((1u << bits) - 1) / 2, n = 2 * half;
    pc_cptr_t e = retype(PC_OBJ_ENDPOINT, 0), x = retype(PC_OBJ_CNODE, bits);
    unsigned made = 0;
    for (unsigned i = 1; i <= half; i++) { /* children of e */
        made += pc_cnode_copy(x, i, PC_SLOT_CNODE, e, PC_RIGHTS_ALL) == PC_OK;
    }
    for (unsigned i = half + 1; i <= n; i++) { /* grandchildren: badged mints of the copies */
        made += pc_cnode_mint(x, i, 0, i - half, PC_RIGHTS_ALL, i) == PC_OK;
    }
    check(made == n, "tree built", made);
    run_in_worker(0, e, 0, 0);
    check(work_err == PC_OK, "revoke", work_err);
    check_worker_was_preempted("revoke of 32766 caps");
    check(view(e).type == PC_OBJ_ENDPOINT, "the revoked cap stays", 0);
    unsigned empty = 0;
    for (unsigned i = 1; i <= n; i++) { /* a copy into an occupied slot would fail */
        pc_word_t err = pc_cnode_copy(x, i, PC_SLOT_CNODE, x, PC_RIGHTS_ALL);
        empty += err == PC_OK;
    }
    check(empty == n, "every descendant gone", empty);
    check(pc_cnode_delete(PC_SLOT_CNODE, x) == PC_OK, "delete x", 0);
    end();
}

static void test_retype_zeroes_memory_preemptibly(void)
{
    begin("test_retype_zeroes_memory_preemptibly");
    /* 1. Reused memory is zero again: dirty a frame, revoke, retype, read. */
    pc_cptr_t u = next_free++;
    check(pc_untyped_retype(ut_slot, PC_OBJ_UNTYPED, 16, 0, u, 1) == PC_OK, "small untyped", 0);
    pc_cptr_t f = next_free++;
    for (unsigned round = 0; round < 2; round++) {
        check(pc_untyped_retype(u, PC_OBJ_FRAME_4K, 0, 0, f, 1) == PC_OK, "frame", round);
        uint64_t va = next_va;
        next_va += 0x2000;
        check(pc_frame_map(f, PC_SLOT_VSPACE, va, PC_VM_READ | PC_VM_WRITE, 0) == PC_OK, "map",
              round);
        volatile uint64_t *w = (volatile uint64_t *)va;
        uint64_t nonzero = 0;
        for (unsigned i = 0; i < 512; i++) {
            nonzero |= w[i];
            w[i] = 0xA5A5A5A5A5A5A5A5ull;
        }
        check(nonzero == 0, "a new frame reads zero", round);
        check(pc_frame_unmap(f) == PC_OK, "unmap", round);
        check(pc_cnode_revoke(PC_SLOT_CNODE, u) == PC_OK, "revoke", round);
    }
    /* 2. 16 MiB of 2 MiB frames: the zeroing lets timer interrupts in. */
    pc_cptr_t big = next_free++;
    pc_word_t err = pc_untyped_retype(ut_slot, PC_OBJ_UNTYPED, 24, 0, big, 1);
    check(err == PC_OK, "16 MiB untyped", err);
    pc_cptr_t frames = next_free;
    next_free += 8;
    run_in_worker(1, big, frames, 8);
    check(work_err == PC_OK, "retype of 8 x 2 MiB", work_err);
    check_worker_was_preempted("retype of 8 x 2 MiB frames");
    check(view(frames).type == PC_OBJ_FRAME_2M && view(frames + 7).type == PC_OBJ_FRAME_2M,
          "frames made", 0);
    check(pc_cnode_revoke(PC_SLOT_CNODE, big) == PC_OK, "revoke the frames", 0);
    check(pc_untyped_retype(big, PC_OBJ_FRAME_2M, 0, 0, frames, 8) == PC_OK,
          "the memory is retyped again", 0);
    check(pc_cnode_revoke(PC_SLOT_CNODE, big) == PC_OK, "revoke again", 0);
    end();
}

/* ---- benchmark: null syscall vs IPC round trip ---- */
static thread_t echo;
static pc_cptr_t bench_ep;
static void echo_main(void)
{
    pc_msg_t m = {0};
    pc_recv(bench_ep, &m, PC_TIMEOUT_FOREVER);
    for (;;) {
        m.info = pc_msginfo(0, 0, 0, 1);
        pc_reply_recv(bench_ep, &m, PC_TIMEOUT_FOREVER);
    }
}

static void bench(void)
{
    bench_ep = retype(PC_OBJ_ENDPOINT, 0);
    thread_create(&echo, echo_main, 255,
                  PC_SLOT_CNODE); /* same priority: the fastpath switches directly */
    const unsigned n = 20000;
    uint64_t t0 = __builtin_ia32_rdtsc();
    for (unsigned i = 0; i < n; i++) {
        pc_null_syscall();
    }
    uint64_t t1 = __builtin_ia32_rdtsc();
    pc_msg_t m = {0};
    for (unsigned i = 0; i < n; i++) {
        m.info = pc_msginfo(0, 0, 0, 1);
        pc_call(bench_ep, &m);
    }
    uint64_t t2 = __builtin_ia32_rdtsc();
    uint64_t nul = (t1 - t0) / n, ipc = (t2 - t1) / n;
    puts_("bench: null syscall ");
    putu(nul);
    puts_(" cycles, IPC round trip ");
    putu(ipc);
    puts_(" cycles, ratio x");
    putu(nul ? ipc * 10 / nul : 0);
    puts_("/10\n");
}

void ktest_main(pc_bootinfo_t *bootinfo)
{
    bi = bootinfo;
    pc_set_ipc_buffer((pc_ipc_buffer_t *)bi->ipc_buffer_vaddr);
    next_free = bi->first_free_slot;
    uint32_t best = 0;
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        if (!bi->untyped[i].is_device && bi->untyped[i].size_bits > bi->untyped[best].size_bits)
            best = i;
        if (bi->untyped[best].is_device)
            best = i;
    }
    ut_slot = bi->untyped[best].slot;
    puts_("ktest: starting\n");
    rng ^= cmdline_num("ktest.seed", 0) * 0x2545F4914F6CDD1Dull;
    fuzz_target = cmdline_num("ktest.fuzz", fuzz_target);
    sleep_ep = retype(PC_OBJ_ENDPOINT, 0);
    test_bootinfo_describes_root_task();
    test_frame_map_needs_paging_structures_and_reports_level();
    test_call_reply_with_long_message_and_badge();
    test_capability_transfer_needs_grant();
    test_recv_timeout_and_poll();
    test_notification_signal_wait_and_bound();
    test_fault_goes_to_fault_endpoint();
    test_delete_endpoint_cancels_waiter();
    test_revoke_untyped_makes_memory_reusable();
    test_priority_bounded_by_mcp();
    test_ioport_ranges();
    test_irq_handlers();
    test_irq_remapped_lines();
    test_badged_cap_sent_through_its_own_endpoint_is_unwrapped();
    test_deleting_nested_cnodes_destroys_their_objects();
    test_deleting_a_blocked_thread_leaves_the_endpoint_usable();
    test_equal_priorities_share_the_cpu_and_cannot_starve_higher();
    test_device_msi_with_exception_vectors_is_ignored();
    test_saved_replies_answer_their_callers_in_reverse_order();
    test_deleting_a_saved_reply_wakes_its_caller_with_an_error();
    test_stale_and_misused_reply_caps_get_defined_errors();
    test_identify_reports_frame_address();
    test_fpu_registers_survive_ipc_switches();
    test_cnode_invocations_that_fail_decode_change_nothing();
    test_random_syscalls_do_not_hurt_the_kernel();
    test_revoke_of_a_large_tree_is_preemptible_and_complete();
    test_retype_zeroes_memory_preemptibly();
    bench();
    puts_("ktest: ");
    putu((uint64_t)passed);
    puts_(" passed, ");
    putu((uint64_t)failed);
    puts_(" failed\n");
    pc_debug_halt(failed);
}
