/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Boot: from the multiboot hand-off to the first instruction of the root task. The kernel reads
 * the memory map and modules, sets up the CPU, interrupts and timer, builds the root task
 * (address space with its ELF image, stack, IPC buffer, boot information and the other modules
 * mapped read-only; its CNode and TCB) from a boot-time bump allocator, and then hands every
 * remaining byte of RAM and device address space to the root task as untyped capabilities.
 * This is the only time the kernel allocates memory.
 */
#include <arch/machine.h>
#include <arch/vspace.h>
#include <kernel/memmap.h>
#include <kernel/string.h>
#include <portcullis/bootinfo.h>

#define MB_BOOT_MAGIC 0x2BADB002u
#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MODS (1u << 3)
#define MBI_FLAG_MMAP (1u << 6)
#define MB_MMAP_RAM 1u
#define BOOT_IDENTITY_LIMIT (1ull << 30) /* the boot page table maps 0..1 GiB */
#define DEVICE_SPACE_TOP (1ull << 40)

extern char _kernel_end[];

typedef struct boot_module {
    uint64_t start, end;
    char name[PC_BOOTINFO_MODULE_NAME_MAX];
} boot_module_t;

static k_memmap_t ram;
static boot_module_t modules[PC_BOOTINFO_MAX_MODULES];
static unsigned module_count;
static char cmdline[PC_BOOTINFO_CMDLINE_MAX];
static uint64_t reserved_end; /* everything below (from 1 MiB) belongs to the kernel or boot data */
static uint64_t alloc_next, alloc_limit;
static pc_bootinfo_t *bootinfo;
static k_slot_t *root_cnode;
static uint32_t next_slot;

static uint32_t rd32(uint64_t pa)
{
    return *(volatile uint32_t *)pa;
}

static void note_reserved(uint64_t end)
{
    if (end > reserved_end) {
        reserved_end = end;
    }
}

static void copy_string(char *dst, size_t cap, uint64_t pa)
{
    size_t i = 0;
    if (pa != 0 && pa < BOOT_IDENTITY_LIMIT) {
        for (; i + 1 < cap && pa + i < BOOT_IDENTITY_LIMIT; i++) {
            char c = *(const char *)(pa + i);
            if (c == 0) {
                break;
            }
            dst[i] = c;
        }
        /* the whole string is boot data, even where we truncated it */
        uint64_t e = pa + i;
        while (e < BOOT_IDENTITY_LIMIT && *(const char *)e) {
            e++;
        }
        note_reserved(e + 1);
    }
    dst[i] = 0;
}

/* Runs while the boot identity map is live: copy what we need out of the multiboot info. */
static void parse_multiboot(uint32_t magic, uint64_t mbi)
{
    if (magic != MB_BOOT_MAGIC || mbi == 0 || mbi + 52 > BOOT_IDENTITY_LIMIT) {
        k_panic("not booted by a multiboot loader (magic %x)", magic);
    }
    note_reserved(mbi + 52);
    uint32_t flags = rd32(mbi);
    k_memmap_init(&ram);
    if (!(flags & MBI_FLAG_MMAP)) {
        k_panic("no memory map from the boot loader");
    }
    uint64_t mmap = rd32(mbi + 48), mlen = rd32(mbi + 44);
    if (mmap + mlen > BOOT_IDENTITY_LIMIT) {
        k_panic("memory map out of reach");
    }
    note_reserved(mmap + mlen);
    for (uint64_t p = mmap; p + 24 <= mmap + mlen;) {
        uint32_t size = rd32(p);
        uint64_t base = *(volatile uint64_t *)(p + 4), len = *(volatile uint64_t *)(p + 12);
        uint32_t type = rd32(p + 20);
        k_log("  mem %016lx-%016lx type %u\n", base, base + len, type);
        if (type == MB_MMAP_RAM && len > 0 && base + len > base) {
            k_memmap_add(&ram, base, base + len);
        }
        if (size < 20) {
            break;
        }
        p += (uint64_t)size + 4;
    }
    if (flags & MBI_FLAG_CMDLINE) {
        copy_string(cmdline, sizeof(cmdline), rd32(mbi + 16));
    }
    if (flags & MBI_FLAG_MODS) {
        uint64_t count = rd32(mbi + 20), addr = rd32(mbi + 24);
        if (addr + count * 16 > BOOT_IDENTITY_LIMIT) {
            count = 0;
        }
        note_reserved(addr + count * 16);
        for (uint64_t i = 0; i < count && module_count < PC_BOOTINFO_MAX_MODULES; i++) {
            boot_module_t *m = &modules[module_count];
            m->start = rd32(addr + i * 16);
            m->end = rd32(addr + i * 16 + 4);
            if (m->end < m->start || m->end > K_PHYS_MAP_SIZE) {
                k_log("module %lu ignored: bad range\n", i);
                continue;
            }
            copy_string(m->name, sizeof(m->name), rd32(addr + i * 16 + 8));
            note_reserved(m->end);
            module_count++;
        }
    }
}

static uint64_t boot_alloc_pages(uint64_t n)
{
    uint64_t size = n * 4096;
    for (;;) {
        if (alloc_next + size <= alloc_limit) {
            uint64_t pa = alloc_next;
            alloc_next += size;
            memset(k_phys_to_virt(pa), 0, size);
            return pa;
        }
        /* next RAM range above */
        bool found = false;
        for (unsigned i = 0; i < ram.n; i++) {
            if (ram.r[i].start >= alloc_limit && ram.r[i].end <= K_PHYS_MAP_SIZE) {
                alloc_next = (ram.r[i].start + 4095) & ~4095ull;
                alloc_limit = ram.r[i].end & ~4095ull;
                found = true;
                break;
            }
        }
        if (!found) {
            k_panic("out of memory while building the root task");
        }
    }
}

static uint64_t boot_alloc_page(void)
{
    return boot_alloc_pages(1);
}

static void alloc_init(void)
{
    alloc_next = (reserved_end + 4095) & ~4095ull;
    alloc_limit = 0;
    for (unsigned i = 0; i < ram.n; i++) {
        if (ram.r[i].start <= alloc_next && ram.r[i].end > alloc_next) {
            alloc_limit = ram.r[i].end & ~4095ull;
        }
    }
    if (alloc_limit == 0) {
        alloc_limit = alloc_next; /* forces a move to the next range */
    }
}

/* ---- the root task's address space ---- */

struct elf64_ehdr {
    uint8_t e_ident[16];
    uint16_t e_type, e_machine;
    uint32_t e_version;
    uint64_t e_entry, e_phoff, e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
struct elf64_phdr {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2

static uint64_t load_elf(uint64_t *pml4, const boot_module_t *m)
{
    const uint8_t *img = k_phys_to_virt(m->start);
    uint64_t size = m->end - m->start;
    const struct elf64_ehdr *eh = (const void *)img;
    if (size < sizeof(*eh) || memcmp(eh->e_ident, "\177ELF", 4) != 0 || eh->e_ident[4] != 2 ||
        eh->e_machine != 62 || eh->e_type != 2 || eh->e_phentsize != sizeof(struct elf64_phdr)) {
        k_panic("root task is not an x86_64 ELF executable");
    }
    if (eh->e_phoff > size ||
        (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr) > size - eh->e_phoff) {
        k_panic("root task ELF: program headers out of bounds");
    }
    const struct elf64_phdr *ph = (const void *)(img + eh->e_phoff);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0) {
            continue;
        }
        if (p->p_filesz > p->p_memsz || p->p_offset > size || p->p_filesz > size - p->p_offset ||
            p->p_vaddr + p->p_memsz < p->p_vaddr || !k_user_addr_ok(p->p_vaddr + p->p_memsz) ||
            p->p_vaddr >= PC_ROOT_MODULES_VADDR) {
            k_panic("root task ELF: bad segment %u", i);
        }
        uint64_t flags = PTE_P | PTE_US | ((p->p_flags & PF_W) ? PTE_RW : 0) |
                         ((p->p_flags & PF_X) ? 0 : PTE_NX);
        for (uint64_t va = p->p_vaddr & ~4095ull; va < p->p_vaddr + p->p_memsz; va += 4096) {
            uint64_t *pte = k_vspace_boot_lookup(pml4, va);
            uint64_t frame;
            if (pte) {
                frame = *pte & PTE_ADDR;
                *pte |= flags & PTE_RW;
                if (!(flags & PTE_NX)) {
                    *pte &= ~PTE_NX;
                }
            } else {
                frame = boot_alloc_page();
                k_vspace_boot_map(pml4, va, frame, flags, boot_alloc_page);
            }
            /* file bytes that land in this page */
            uint64_t fs = p->p_vaddr, fe = p->p_vaddr + p->p_filesz;
            uint64_t s = fs > va ? fs : va, e = fe < va + 4096 ? fe : va + 4096;
            if (s < e) {
                memcpy((uint8_t *)k_phys_to_virt(frame) + (s - va), img + p->p_offset + (s - fs),
                       e - s);
            }
        }
    }
    if (!k_user_addr_ok(eh->e_entry)) {
        k_panic("root task ELF: bad entry point");
    }
    return eh->e_entry;
}

/* ---- capabilities ---- */

static k_slot_t *root_slot(uint32_t i)
{
    return (k_slot_t *)root_cnode->cap.obj + i;
}

static void put_root_cap(uint32_t i, k_cap_t cap)
{
    k_slot_t *s = root_slot(i);
    s->cap = cap;
    k_cdt_insert_root(s);
}

static void add_untyped(void *ctx, uint64_t base, unsigned bits)
{
    bool device = ctx != NULL;
    if (bootinfo->untyped_count >= PC_BOOTINFO_MAX_UNTYPED ||
        next_slot >= (1u << PC_ROOT_CNODE_BITS)) {
        k_log("untyped table full: dropping %lx (2^%u)\n", base, bits);
        return;
    }
    pc_bootinfo_untyped_t *u = &bootinfo->untyped[bootinfo->untyped_count++];
    u->paddr = base;
    u->size_bits = (uint8_t)bits;
    u->is_device = device;
    u->slot = next_slot;
    put_root_cap(next_slot++, (k_cap_t){.type = PC_OBJ_UNTYPED,
                                        .rights = PC_RIGHTS_ALL,
                                        .size_bits = (uint8_t)bits,
                                        .flags = device ? K_CAP_DEVICE : 0,
                                        .obj = base});
}

static void create_untypeds(void)
{
    /* RAM: everything above the boot allocations, inside the direct map. */
    k_memmap_t free = ram;
    k_memmap_remove(&free, 0, alloc_next);
    k_memmap_remove(&free, K_PHYS_MAP_SIZE, ~0ull);
    k_memmap_align_inward(&free, 4096);
    uint64_t ram_bytes = 0;
    for (unsigned i = 0; i < free.n; i++) {
        k_memmap_blocks(free.r[i].start, free.r[i].end, 12, PC_UNTYPED_MAX_BITS, add_untyped, NULL);
        ram_bytes += free.r[i].end - free.r[i].start;
    }
    /* Device: every page of the physical address space below 1 TiB that holds no RAM, except
     * the interrupt controllers the kernel drives. */
    k_memmap_t ram_pages = ram, dev;
    for (unsigned i = 0; i < ram_pages.n; i++) {
        ram_pages.r[i].start &= ~4095ull;
        ram_pages.r[i].end = (ram_pages.r[i].end + 4095) & ~4095ull;
    }
    k_memmap_complement(&ram_pages, 0, DEVICE_SPACE_TOP, &dev);
    k_memmap_remove(&dev, k_lapic_pa() & ~4095ull, (k_lapic_pa() & ~4095ull) + 4096);
    k_memmap_remove(&dev, k_ioapic_pa() & ~4095ull, (k_ioapic_pa() & ~4095ull) + 4096);
    k_memmap_align_inward(&dev, 4096);
    for (unsigned i = 0; i < dev.n; i++) {
        k_memmap_blocks(dev.r[i].start, dev.r[i].end, 12, 39, add_untyped, (void *)1);
    }
    k_log("root task: %u untyped caps, %lu KiB of RAM free\n", bootinfo->untyped_count,
          ram_bytes >> 10);
}

void k_boot_main(uint32_t magic, uint32_t mbi)
{
    k_serial_init();
    k_log("Portcullis microkernel (x86_64) booting\n");
    reserved_end = k_virt_to_phys(_kernel_end);
    parse_multiboot(magic, mbi);
    k_vspace_boot_init(&ram);
    k_cpu_t *cpu = k_cpu_init();
    k_sched_init(cpu);
    k_cdt_reset();
    k_acpi_init();
    k_pic_disable();
    k_lapic_init(k_lapic_pa());
    k_ioapic_init();
    k_irq_init();
    k_timer_calibrate_and_start();

    if (module_count == 0) {
        k_panic("no boot modules: the root task must be the first -initrd module");
    }
    alloc_init();
    uint64_t *pml4 = k_phys_to_virt(boot_alloc_page());
    k_vspace_init_pml4(pml4);
    uint64_t entry = load_elf(pml4, &modules[0]);

    for (uint64_t va = PC_ROOT_STACK_TOP - PC_ROOT_STACK_SIZE; va < PC_ROOT_STACK_TOP; va += 4096) {
        k_vspace_boot_map(pml4, va, boot_alloc_page(), PTE_P | PTE_US | PTE_RW | PTE_NX,
                          boot_alloc_page);
    }
    uint64_t bi_pa = boot_alloc_pages(PC_BOOTINFO_PAGES);
    for (unsigned i = 0; i < PC_BOOTINFO_PAGES; i++) {
        k_vspace_boot_map(pml4, PC_ROOT_BOOTINFO_VADDR + i * 4096ull, bi_pa + i * 4096ull,
                          PTE_P | PTE_US | PTE_NX, boot_alloc_page);
    }
    bootinfo = k_phys_to_virt(bi_pa);
    uint64_t ipc_pa = boot_alloc_page();
    k_vspace_boot_map(pml4, PC_ROOT_IPC_BUFFER_VADDR, ipc_pa, PTE_P | PTE_US | PTE_RW | PTE_NX,
                      boot_alloc_page);

    uint64_t mva = PC_ROOT_MODULES_VADDR;
    for (unsigned i = 1; i < module_count; i++) {
        boot_module_t *m = &modules[i];
        pc_bootinfo_module_t *bm = &bootinfo->module[i];
        bm->vaddr = mva + (m->start & 4095);
        bm->size = m->end - m->start;
        for (uint64_t pa = m->start & ~4095ull; pa < m->end; pa += 4096) {
            k_vspace_boot_map(pml4, mva, pa, PTE_P | PTE_US | PTE_NX, boot_alloc_page);
            mva += 4096;
        }
        mva += 4096; /* unmapped gap between modules */
    }
    for (unsigned i = 0; i < module_count; i++) {
        memcpy(bootinfo->module[i].cmdline, modules[i].name, sizeof(modules[i].name));
    }
    bootinfo->module[0].vaddr = 0; /* the root task itself is loaded, not mapped */
    bootinfo->module[0].size = modules[0].end - modules[0].start;

    /* CNode and TCB */
    uint64_t cn_pa = boot_alloc_pages((1ull << (PC_ROOT_CNODE_BITS + PC_SLOT_BITS)) / 4096);
    k_tcb_t *tcb = k_phys_to_virt(boot_alloc_page());
    k_tcb_init(tcb);
    static k_slot_t cnode_holder;
    cnode_holder.cap = (k_cap_t){.type = PC_OBJ_CNODE,
                                 .rights = PC_RIGHTS_ALL,
                                 .size_bits = PC_ROOT_CNODE_BITS,
                                 .obj = (uint64_t)k_phys_to_virt(cn_pa)};
    root_cnode = &cnode_holder;
    uint32_t vs_asid;
    k_asid_alloc((uint64_t)pml4, &vs_asid);

    put_root_cap(PC_SLOT_TCB,
                 (k_cap_t){.type = PC_OBJ_TCB, .rights = PC_RIGHTS_ALL, .obj = (uint64_t)tcb});
    put_root_cap(PC_SLOT_CNODE, cnode_holder.cap);
    put_root_cap(PC_SLOT_VSPACE, (k_cap_t){.type = PC_OBJ_VSPACE,
                                           .rights = PC_RIGHTS_ALL,
                                           .aux = vs_asid,
                                           .obj = (uint64_t)pml4});
    put_root_cap(PC_SLOT_IRQ_CONTROL,
                 (k_cap_t){.type = PC_CAP_IRQ_CONTROL, .rights = PC_RIGHTS_ALL});
    put_root_cap(PC_SLOT_IOPORT,
                 (k_cap_t){.type = PC_CAP_IOPORT, .rights = PC_RIGHTS_ALL, .w2 = 0, .w3 = 0xFFFF});
    put_root_cap(
        PC_SLOT_BOOTINFO_FRAME,
        (k_cap_t){.type = PC_OBJ_FRAME_4K, .rights = PC_RIGHT_READ, .size_bits = 12, .obj = bi_pa});
    put_root_cap(PC_SLOT_IPC_BUFFER, (k_cap_t){.type = PC_OBJ_FRAME_4K,
                                               .rights = PC_RIGHTS_ALL,
                                               .size_bits = 12,
                                               .obj = ipc_pa});
    k_cap_derive(root_slot(PC_SLOT_CNODE), &tcb->slot[K_TCB_CSPACE], root_slot(PC_SLOT_CNODE)->cap);
    k_cap_derive(root_slot(PC_SLOT_VSPACE), &tcb->slot[K_TCB_VSPACE],
                 root_slot(PC_SLOT_VSPACE)->cap);
    k_cap_derive(root_slot(PC_SLOT_IPC_BUFFER), &tcb->slot[K_TCB_IPC_BUFFER],
                 root_slot(PC_SLOT_IPC_BUFFER)->cap);
    tcb->ipc_buffer_vaddr = PC_ROOT_IPC_BUFFER_VADDR;
    tcb->vspace_pa = k_virt_to_phys(pml4);

    /* Boot information */
    bootinfo->magic = PC_BOOTINFO_MAGIC;
    bootinfo->version = PC_BOOTINFO_VERSION;
    bootinfo->size = sizeof(*bootinfo);
    bootinfo->tsc_hz = k_tsc_hz;
    bootinfo->timer_hz = k_timer_hz;
    bootinfo->rsdp_paddr = k_acpi_rsdp();
    bootinfo->ipc_buffer_vaddr = PC_ROOT_IPC_BUFFER_VADDR;
    bootinfo->num_cpus = 1;
    bootinfo->cnode_size_bits = PC_ROOT_CNODE_BITS;
    bootinfo->module_count = module_count;
    memcpy(bootinfo->cmdline, cmdline, sizeof(cmdline));
    next_slot = PC_SLOT_FIRST_UNTYPED;
    create_untypeds();
    bootinfo->first_free_slot = next_slot;
    bootinfo->end_free_slot = 1u << PC_ROOT_CNODE_BITS;

    tcb->ctx.rip = entry;
    tcb->ctx.rsp = PC_ROOT_STACK_TOP;
    tcb->ctx.rdi = PC_ROOT_BOOTINFO_VADDR;
    tcb->prio = PC_MAX_PRIO;
    tcb->mcp = PC_MAX_PRIO;
    tcb->state = K_TS_RUNNING;
    cpu->current = tcb;
    k_log("starting root task '%s' at %lx (%u module(s))\n", modules[0].name, entry, module_count);
    k_context_t *ctx = k_sched_exit();
    __asm__ volatile("movq %0, %%rax\n jmp k_restore" : : "r"(ctx) : "rax", "memory");
    __builtin_unreachable();
}
