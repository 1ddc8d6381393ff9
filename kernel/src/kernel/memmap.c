/* SPDX-License-Identifier: BSD-2-Clause */
/* Sorted, merged physical range sets (see kernel/memmap.h). */
#include <kernel/memmap.h>

void k_memmap_init(k_memmap_t *m)
{
    m->n = 0;
}

static void remove_at(k_memmap_t *m, unsigned i)
{
    for (unsigned j = i; j + 1 < m->n; j++) {
        m->r[j] = m->r[j + 1];
    }
    m->n--;
}

static bool insert_at(k_memmap_t *m, unsigned i, uint64_t s, uint64_t e)
{
    if (m->n >= K_MEMMAP_MAX) {
        return false;
    }
    for (unsigned j = m->n; j > i; j--) {
        m->r[j] = m->r[j - 1];
    }
    m->r[i].start = s;
    m->r[i].end = e;
    m->n++;
    return true;
}

bool k_memmap_add(k_memmap_t *m, uint64_t start, uint64_t end)
{
    if (start >= end) {
        return false;
    }
    unsigned i = 0;
    while (i < m->n && m->r[i].end < start) {
        i++;
    }
    if (i == m->n || m->r[i].start > end) {
        return insert_at(m, i, start, end);
    }
    /* Overlaps or touches r[i]: merge, then swallow the following ranges it reaches. */
    if (start < m->r[i].start) {
        m->r[i].start = start;
    }
    if (end > m->r[i].end) {
        m->r[i].end = end;
    }
    while (i + 1 < m->n && m->r[i + 1].start <= m->r[i].end) {
        if (m->r[i + 1].end > m->r[i].end) {
            m->r[i].end = m->r[i + 1].end;
        }
        remove_at(m, i + 1);
    }
    return true;
}

bool k_memmap_remove(k_memmap_t *m, uint64_t start, uint64_t end)
{
    if (start >= end) {
        return true;
    }
    for (unsigned i = 0; i < m->n;) {
        k_range_t r = m->r[i];
        if (r.end <= start || r.start >= end) {
            i++;
            continue;
        }
        if (r.start < start && r.end > end) {
            if (!insert_at(m, i + 1, end, r.end)) {
                return false;
            }
            m->r[i].end = start;
            return true;
        }
        if (r.start < start) {
            m->r[i].end = start;
            i++;
        } else if (r.end > end) {
            m->r[i].start = end;
            i++;
        } else {
            remove_at(m, i);
        }
    }
    return true;
}

void k_memmap_align_inward(k_memmap_t *m, uint64_t align)
{
    for (unsigned i = 0; i < m->n;) {
        uint64_t s = m->r[i].start, e = m->r[i].end;
        uint64_t as = s + align - 1 < s ? e : (s + align - 1) & ~(align - 1);
        uint64_t ae = e & ~(align - 1);
        if (as >= ae) {
            remove_at(m, i);
        } else {
            m->r[i].start = as;
            m->r[i].end = ae;
            i++;
        }
    }
}

bool k_memmap_complement(const k_memmap_t *m, uint64_t lo, uint64_t hi, k_memmap_t *out)
{
    k_memmap_init(out);
    uint64_t cur = lo;
    for (unsigned i = 0; i < m->n && cur < hi; i++) {
        if (m->r[i].end <= cur) {
            continue;
        }
        if (m->r[i].start > cur) {
            uint64_t e = m->r[i].start < hi ? m->r[i].start : hi;
            if (!k_memmap_add(out, cur, e)) {
                return false;
            }
        }
        cur = m->r[i].end;
    }
    if (cur < hi && !k_memmap_add(out, cur, hi)) {
        return false;
    }
    return true;
}

unsigned k_memmap_blocks(uint64_t start, uint64_t end, unsigned min_bits, unsigned max_bits,
                         void (*fn)(void *ctx, uint64_t base, unsigned bits), void *ctx)
{
    unsigned count = 0;
    uint64_t min = 1ull << min_bits;
    if ((start & (min - 1)) || (end & (min - 1))) {
        return 0;
    }
    while (start < end) {
        unsigned bits = max_bits;
        /* Largest block that is aligned at start and fits before end. */
        while (bits > min_bits &&
               ((start & ((1ull << bits) - 1)) != 0 || end - start < (1ull << bits))) {
            bits--;
        }
        if (fn) {
            fn(ctx, start, bits);
        }
        count++;
        start += 1ull << bits;
    }
    return count;
}
