/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Benchmark of the IOMMU server's map/unmap path through the full decode/perform code, on the
 * VT-d model: instructions per map+unmap of 4 KiB and of 2 MiB, and queue submissions / waits
 * per batch of 256 unmaps. Instructions are counted by callgrind with collection switched on
 * only inside iommu_handle_client and switched off inside every call into the model (register
 * access, memory, clock), so the number is the server's own code with each hardware access
 * counted as roughly one instruction - the same thing QEMU's -icount measures in the guest.
 * Run without arguments: the program re-runs itself under valgrind for each scenario and
 * prints one line per measurement. Nothing here asserts a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <valgrind/callgrind.h>

#include <iommu/server.h>
#include <vtd_model.h>

#define DEV 0x0100
#define CLIENT 0xa1
#define POOL 0x200000ull
#define POOL_SIZE 0x1000000ull

static const struct vtd_hw *model_hw;
static struct vtd_hw wrapped;

#define OFF() CALLGRIND_TOGGLE_COLLECT
#define ON() CALLGRIND_TOGGLE_COLLECT
static bool collecting;

static uint32_t w_read32(void *c, uint32_t o)
{
    if (collecting) {
        OFF();
    }
    uint32_t v = model_hw->read32(c, o);
    if (collecting) {
        ON();
    }
    return v;
}
static uint64_t w_read64(void *c, uint32_t o)
{
    if (collecting) {
        OFF();
    }
    uint64_t v = model_hw->read64(c, o);
    if (collecting) {
        ON();
    }
    return v;
}
static void w_write32(void *c, uint32_t o, uint32_t v)
{
    if (collecting) {
        OFF();
    }
    model_hw->write32(c, o, v);
    if (collecting) {
        ON();
    }
}
static void w_write64(void *c, uint32_t o, uint64_t v)
{
    if (collecting) {
        OFF();
    }
    model_hw->write64(c, o, v);
    if (collecting) {
        ON();
    }
}
static void *w_alloc(void *c, uint64_t *pa)
{
    if (collecting) {
        OFF();
    }
    void *v = model_hw->alloc_page(c, pa);
    if (collecting) {
        ON();
    }
    return v;
}
static void w_free(void *c, void *va, uint64_t pa)
{
    if (collecting) {
        OFF();
    }
    model_hw->free_page(c, va, pa);
    if (collecting) {
        ON();
    }
}
static void *w_p2v(void *c, uint64_t pa)
{
    if (collecting) {
        OFF();
    }
    void *v = model_hw->phys_to_virt(c, pa);
    if (collecting) {
        ON();
    }
    return v;
}
static void w_flush(void *c, const void *va, size_t len)
{
    if (collecting) {
        OFF();
    }
    model_hw->flush_cache(c, va, len);
    if (collecting) {
        ON();
    }
}
static uint64_t w_now(void *c)
{
    if (collecting) {
        OFF();
    }
    uint64_t v = model_hw->now_ns(c);
    if (collecting) {
        ON();
    }
    return v;
}
static void w_relax(void *c)
{
    if (collecting) {
        OFF();
    }
    model_hw->relax(c);
    if (collecting) {
        ON();
    }
}

static struct iommu_server srv;
static struct vtd_model *model;

static void setup(bool coherent)
{
    struct vtd_model_config mc = {0};
    if (coherent) {
        mc.ecap = 0x0000000000f00f5full; /* QEMU-like with ECAP.C: no cache write-back */
    }
    model = vtd_model_create(&mc);
    if (!model) {
        abort();
    }
    model_hw = vtd_model_hw(model);
    wrapped = (struct vtd_hw){model_hw->ctx, w_read32, w_read64, w_write32, w_write64, w_alloc,
                              w_free,        w_p2v,    w_flush,  w_now,     w_relax};
    vtd_model_add_device(model, DEV, 0);
    iommu_server_init(&srv, NULL, 0x4850);
    /* libvtd's default page-table mode (entry counts in bits 61:52): no DMA is walked here. */
    if (iommu_server_add_unit(&srv, &wrapped, NULL, true, NULL) != IOMMU_OK ||
        iommu_server_add_device(&srv, DEV) != IOMMU_OK ||
        iommu_client_register(&srv, CLIENT, 0) != IOMMU_OK ||
        iommu_client_grant_memory(&srv, CLIENT, POOL, POOL_SIZE, 3, NULL) != IOMMU_OK ||
        iommu_client_grant_device(&srv, CLIENT, DEV) != IOMMU_OK) {
        abort();
    }
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_attach(&m, DEV);
    m.badge = CLIENT;
    iommu_handle_client(&srv, &m, &r);
    if (r.err != IOMMU_OK) {
        abort();
    }
}

static void call(struct iommu_msg *m, struct iommu_reply *r)
{
    m->badge = CLIENT;
    collecting = true;
    ON();
    iommu_handle_client(&srv, m, r);
    OFF();
    collecting = false;
    if (r->err != IOMMU_OK) {
        fprintf(stderr, "unexpected error %s\n", iommu_errname((unsigned)r->err));
        exit(1);
    }
}

static void map_unmap(uint64_t iova, uint64_t off, uint64_t size)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map(&m, iova, 0, off, size, IOMMU_READ | IOMMU_WRITE);
    call(&m, &r);
    iommu_encode_unmap(&m, iova, size);
    call(&m, &r);
}

#define ITER 200

static int scenario(const char *name)
{
    setup(strstr(name, "coherent") != NULL);
    uint64_t size = strstr(name, "2m") ? 0x200000 : 0x1000;
    if (strncmp(name, "map", 3) == 0) {
        /* warm-up: the page-table levels above the leaf exist after the first round */
        map_unmap(0x40000000, 0, size);
        for (int i = 0; i < ITER; i++) {
            map_unmap(0x40000000, 0, size);
        }
        return 0;
    }
    if (strcmp(name, "batch256") == 0) {
        struct iommu_msg m;
        struct iommu_reply r;
        for (unsigned i = 0; i < 256; i++) {
            iommu_encode_map(&m, 0x40000000 + i * 0x1000ull, 0, i * 0x1000ull, 0x1000, 3);
            call(&m, &r);
        }
        struct vtd_model_stats a, b;
        vtd_model_get_stats(model, &a);
        iommu_encode_unmap(&m, 0x40000000, 256 * 0x1000);
        call(&m, &r);
        vtd_model_get_stats(model, &b);
        printf("batch of 256 x 4 KiB unmaps (one request): %llu queue submissions (tail writes), "
               "%llu waits, %llu descriptors\n",
               (unsigned long long)(b.tail_writes - a.tail_writes),
               (unsigned long long)(b.waits - a.waits),
               (unsigned long long)(b.descriptors - a.descriptors));
        return 0;
    }
    return 2;
}

static double wall_ns(uint64_t size)
{
    setup(true);
    map_unmap(0x40000000, 0, size);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 2000; i++) {
        map_unmap(0x40000000, 0, size);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    vtd_model_destroy(model);
    return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 2000;
}

static long long callgrind_total(const char *self, const char *name)
{
    char out[256];
    snprintf(out, sizeof(out), "/tmp/bench_iommu.%d.%s.cg", (int)getpid(), name);
    pid_t pid = fork();
    if (pid == 0) {
        char arg[300];
        snprintf(arg, sizeof(arg), "--callgrind-out-file=%s", out);
        freopen("/dev/null", "w", stderr);
        execlp("valgrind", "valgrind", "--tool=callgrind", "--collect-atstart=no", arg, self,
               "--scenario", name, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        return -1;
    }
    FILE *f = fopen(out, "r");
    long long total = -1;
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0) {
            total = atoll(strchr(line, ':') + 1);
        }
    }
    if (f) {
        fclose(f);
    }
    unlink(out);
    return total;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--scenario") == 0) {
        return scenario(argv[2]);
    }
    printf("IOMMU server map/unmap through decode+perform on the VT-d model "
           "(legacy mode, QEMU 7.2 capabilities, strict unmap)\n");
    const char *names[] = {"map4k", "map2m", "map4k_coherent", "map2m_coherent"};
    const char *desc[] = {"map + unmap 4 KiB", "map + unmap 2 MiB",
                          "map + unmap 4 KiB (coherent unit)", "map + unmap 2 MiB (coherent unit)"};
    for (unsigned i = 0; i < 4; i++) {
        long long t = callgrind_total(argv[0], names[i]);
        if (t < 0) {
            printf("%-36s: instructions n/a (valgrind not available)\n", desc[i]);
        } else {
            /* ITER + 1 rounds were collected (the warm-up too) */
            printf("%-36s: %lld instructions per map+unmap (callgrind, model excluded)\n", desc[i],
                   t / (ITER + 1));
        }
    }
    int rc = scenario("batch256");
    vtd_model_destroy(model);
    printf("wall clock on this host (model included): map+unmap 4 KiB %.0f ns, 2 MiB %.0f ns\n",
           wall_ns(0x1000), wall_ns(0x200000));
    return rc;
}
