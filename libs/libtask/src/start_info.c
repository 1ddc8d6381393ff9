/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Building, validating and reading a task's start information and command line. The root task
 * builds the structure; the task reads it. Both sides run this same code, and so do the host
 * tests, so it touches nothing but the bytes it is given.
 */
#include <stdio.h>
#include <string.h>

#include <task/start_info.h>

static bool str_terminated(const char *s, size_t n)
{
    return memchr(s, '\0', n) != NULL;
}

void task_start_init(task_start_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->magic = TASK_START_MAGIC;
    info->version = TASK_START_VERSION;
    info->size = (uint32_t)sizeof(*info);
}

task_start_error_t task_start_validate(const task_start_info_t *info)
{
    if (info == NULL) {
        return TASK_START_ERR_NULL;
    }
    if (info->magic != TASK_START_MAGIC) {
        return TASK_START_ERR_MAGIC;
    }
    if (info->version != TASK_START_VERSION) {
        return TASK_START_ERR_VERSION;
    }
    if (info->size != sizeof(*info)) {
        return TASK_START_ERR_SIZE;
    }
    if (info->cap_count > TASK_MAX_CAPS) {
        return TASK_START_ERR_COUNT;
    }
    if (!str_terminated(info->name, sizeof(info->name)) ||
        !str_terminated(info->cmdline, sizeof(info->cmdline))) {
        return TASK_START_ERR_STRING;
    }
    if (info->cnode_size_bits == 0 || info->cnode_size_bits > 16) {
        return TASK_START_ERR_SLOTS;
    }
    uint64_t slots = 1ull << info->cnode_size_bits;
    if (info->first_free_slot > info->end_free_slot || info->end_free_slot > slots) {
        return TASK_START_ERR_SLOTS;
    }
    for (uint32_t i = 0; i < info->cap_count; i++) {
        const task_cap_t *c = &info->cap[i];
        if (!str_terminated(c->name, sizeof(c->name))) {
            return TASK_START_ERR_STRING;
        }
        uint64_t end = (uint64_t)c->slot + (c->count ? c->count : 1);
        if (c->slot != 0 && end > slots) {
            return TASK_START_ERR_SLOTS;
        }
        if (c->aux_slot >= slots) {
            return TASK_START_ERR_SLOTS;
        }
    }
    return TASK_START_OK;
}

const char *task_start_strerror(task_start_error_t err)
{
    switch (err) {
    case TASK_START_OK:
        return "ok";
    case TASK_START_ERR_NULL:
        return "no start info";
    case TASK_START_ERR_MAGIC:
        return "bad magic";
    case TASK_START_ERR_VERSION:
        return "unsupported version";
    case TASK_START_ERR_SIZE:
        return "size mismatch";
    case TASK_START_ERR_COUNT:
        return "too many caps";
    case TASK_START_ERR_STRING:
        return "unterminated string";
    case TASK_START_ERR_SLOTS:
        return "slot out of range";
    }
    return "unknown error";
}

task_cap_t *task_start_add_cap(task_start_info_t *info, const char *name, uint32_t kind)
{
    size_t len = strlen(name);
    if (len == 0 || len >= TASK_CAP_NAME_MAX || info->cap_count >= TASK_MAX_CAPS ||
        task_cap_find(info, name) != NULL) {
        return NULL;
    }
    task_cap_t *c = &info->cap[info->cap_count++];
    memset(c, 0, sizeof(*c));
    memcpy(c->name, name, len + 1);
    c->kind = kind;
    c->count = 1;
    return c;
}

const task_cap_t *task_cap_find(const task_start_info_t *info, const char *name)
{
    if (info == NULL || name == NULL) {
        return NULL;
    }
    uint32_t n = info->cap_count <= TASK_MAX_CAPS ? info->cap_count : TASK_MAX_CAPS;
    for (uint32_t i = 0; i < n; i++) {
        if (strncmp(info->cap[i].name, name, TASK_CAP_NAME_MAX) == 0) {
            return &info->cap[i];
        }
    }
    return NULL;
}

bool task_cap_name_nth(char *out, size_t n, const char *base, unsigned index)
{
    int len = index == 0 ? snprintf(out, n, "%s", base) : snprintf(out, n, "%s%u", base, index);
    if (len < 0 || (size_t)len >= n) {
        if (n > 0) {
            out[0] = 0;
        }
        return false;
    }
    return true;
}

uint32_t task_cap_slot(const task_start_info_t *info, const char *name, uint32_t kind)
{
    const task_cap_t *c = task_cap_find(info, name);
    return (c != NULL && c->kind == kind) ? c->slot : 0;
}

const char *task_cap_kind_name(uint32_t kind)
{
    static const char *const names[TASK_CAP_KIND_COUNT_] = {
        [TASK_CAP_NONE] = "none",
        [TASK_CAP_ENDPOINT] = "endpoint",
        [TASK_CAP_NOTIFICATION] = "notification",
        [TASK_CAP_IRQ] = "irq",
        [TASK_CAP_MSI] = "msi",
        [TASK_CAP_IOPORT] = "ioport",
        [TASK_CAP_DEVICE_REGION] = "device-region",
        [TASK_CAP_UNTYPED] = "untyped",
        [TASK_CAP_OWN_TCB] = "own-tcb",
        [TASK_CAP_OWN_CNODE] = "own-cnode",
        [TASK_CAP_OWN_VSPACE] = "own-vspace",
        [TASK_CAP_FRAMES] = "frames",
        [TASK_CAP_TCB] = "tcb",
        [TASK_CAP_MEMORY_REGION] = "memory-region",
        [TASK_CAP_DMA_POOL] = "dma-pool",
    };
    return kind < TASK_CAP_KIND_COUNT_ ? names[kind] : "?";
}

/* ---- command line ---- */

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

static const char *word_end(const char *p)
{
    while (*p != '\0' && *p != ' ' && *p != '\t') {
        p++;
    }
    return p;
}

/* Finds the word after the program name whose key is `key`; *value points after '=' (or at the
 * word's end for a bare flag), *value_len is the value's length. */
static bool find_key(const char *cmdline, const char *key, const char **value, size_t *value_len)
{
    if (cmdline == NULL || key == NULL) {
        return false;
    }
    size_t klen = strlen(key);
    if (klen == 0) {
        return false;
    }
    const char *p = word_end(skip_spaces(cmdline)); /* skip the program name */
    for (;;) {
        p = skip_spaces(p);
        if (*p == '\0') {
            return false;
        }
        const char *end = word_end(p);
        size_t wlen = (size_t)(end - p);
        if (wlen >= klen && memcmp(p, key, klen) == 0) {
            if (wlen == klen) {
                *value = end;
                *value_len = 0;
                return true;
            }
            if (p[klen] == '=') {
                *value = p + klen + 1;
                *value_len = wlen - klen - 1;
                return true;
            }
        }
        p = end;
    }
}

bool task_cmdline_get(const char *cmdline, const char *key, char *out, size_t out_size)
{
    if (out == NULL || out_size == 0) {
        return false;
    }
    out[0] = '\0';
    const char *v;
    size_t n;
    if (!find_key(cmdline, key, &v, &n) || n >= out_size) {
        return false;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

bool task_cmdline_has(const char *cmdline, const char *flag)
{
    const char *v;
    size_t n;
    return find_key(cmdline, flag, &v, &n);
}

bool task_cmdline_get_u64(const char *cmdline, const char *key, uint64_t *value)
{
    char buf[24];
    if (!task_cmdline_get(cmdline, key, buf, sizeof(buf)) || buf[0] == '\0') {
        return false;
    }
    const char *p = buf;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        if (*p == '\0') {
            return false;
        }
    }
    uint64_t v = 0;
    for (; *p != '\0'; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9') {
            d = (unsigned)(*p - '0');
        } else if (base == 16 && *p >= 'a' && *p <= 'f') {
            d = (unsigned)(*p - 'a' + 10);
        } else if (base == 16 && *p >= 'A' && *p <= 'F') {
            d = (unsigned)(*p - 'A' + 10);
        } else {
            return false;
        }
        if (v > (UINT64_MAX - d) / base) {
            return false; /* overflow */
        }
        v = v * base + d;
    }
    *value = v;
    return true;
}

void task_cmdline_program(const char *cmdline, char *out, size_t out_size)
{
    if (out == NULL || out_size == 0) {
        return;
    }
    out[0] = '\0';
    if (cmdline == NULL) {
        return;
    }
    const char *p = skip_spaces(cmdline);
    const char *end = word_end(p);
    const char *base = p;
    for (const char *q = p; q < end; q++) {
        if (*q == '/') {
            base = q + 1;
        }
    }
    size_t n = (size_t)(end - base);
    if (n >= out_size) {
        n = out_size - 1;
    }
    memcpy(out, base, n);
    out[n] = '\0';
}
