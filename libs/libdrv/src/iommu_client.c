/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IOMMU protocol messages over kernel IPC (see drv/iommu.h). A struct iommu_msg built by the
 * generated encoder becomes one call (pc_call_words: label and words, the frame capability of a
 * map in caps_or_badges[0]). The reply's label is the server's error code and its words the
 * method's results.
 */
#include <stddef.h>

#include <drv/iommu.h>

_Static_assert(IOMMU_ERR_COUNT_ <= PC_CALL_IPC_FAILED,
               "the server's errors stay below IPC failures");
_Static_assert(IOMMU_MSG_WORDS <= PC_MSG_MAX_LENGTH, "every protocol message fits one IPC message");

static uint64_t call(struct drv_iommu *c, const struct iommu_msg *msg, pc_cptr_t cap,
                     struct iommu_reply *reply)
{
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    if (c == NULL || c->ep == 0 || buf == NULL || msg->len > IOMMU_MSG_WORDS) {
        return pc_call_ipc_failed(PC_ERR_INVALID_ARGUMENT);
    }
    unsigned ncaps = 0;
    if (cap != 0) {
        buf->caps_or_badges[0] = cap;
        ncaps = 1;
    }
    c->calls++;
    pc_msginfo_t info;
    pc_word_t err =
        pc_call_words(c->ep, msg->label, ncaps, msg->w, msg->len, reply->w, IOMMU_MSG_WORDS, &info);
    if (err != PC_OK) {
        return pc_call_ipc_failed(err);
    }
    unsigned len = pc_msginfo_length(info);
    reply->err = pc_msginfo_label(info);
    reply->len = len > IOMMU_MSG_WORDS ? IOMMU_MSG_WORDS : len;
    reply->cap_kept = false;
    return reply->err;
}

const char *drv_iommu_errname(uint64_t err)
{
    if (pc_call_is_ipc_failure(err)) {
        static const char *const names[] = {
#define DRV_IPC_NAME_(name, value, text) [value] = "IPC " #name,
            PC_ERRORS(DRV_IPC_NAME_)
#undef DRV_IPC_NAME_
        };
        return names[pc_call_ipc_error(err)];
    }
    if (err < IOMMU_ERR_COUNT_) {
        return iommu_errname((unsigned)err);
    }
    return "IOMMU_ERR_?";
}

uint64_t drv_iommu_attach(struct drv_iommu *c, uint16_t sid, uint64_t *handle, uint64_t *flags)
{
    struct iommu_msg m;
    struct iommu_reply r;
    struct iommu_attach_rets out = {0};
    iommu_encode_attach(&m, sid);
    uint64_t err = call(c, &m, 0, &r);
    if (err == IOMMU_OK) {
        (void)iommu_reply_attach(&r, &out);
    }
    *handle = out.handle;
    *flags = out.flags;
    return err;
}

uint64_t drv_iommu_detach(struct drv_iommu *c, uint64_t handle, uint64_t *status)
{
    struct iommu_msg m;
    struct iommu_reply r;
    struct iommu_detach_rets out = {0};
    iommu_encode_detach(&m, handle);
    uint64_t err = call(c, &m, 0, &r);
    if (!pc_call_is_ipc_failure(err)) {
        (void)iommu_reply_detach(&r, &out);
    }
    *status = out.status;
    return err;
}

uint64_t drv_iommu_map_frame(struct drv_iommu *c, uint64_t iova, pc_cptr_t frame, uint64_t size,
                             unsigned rights)
{
    struct iommu_msg m;
    struct iommu_reply r;
    if (frame == 0) {
        return pc_call_ipc_failed(PC_ERR_INVALID_ARGUMENT);
    }
    iommu_encode_map(&m, iova, IOMMU_MEM_CAP, 0, size, rights);
    return call(c, &m, frame, &r);
}

uint64_t drv_iommu_unmap(struct drv_iommu *c, uint64_t iova, uint64_t size, uint64_t *status,
                         uint64_t *unmapped)
{
    struct iommu_msg m;
    struct iommu_reply r;
    struct iommu_unmap_rets out = {0};
    iommu_encode_unmap(&m, iova, size);
    uint64_t err = call(c, &m, 0, &r);
    if (!pc_call_is_ipc_failure(err)) {
        (void)iommu_reply_unmap(&r, &out);
    }
    *status = out.status;
    *unmapped = out.unmapped;
    return err;
}

uint64_t drv_iommu_ats_flush(struct drv_iommu *c, uint64_t handle, uint64_t iova, uint64_t size,
                             uint64_t *status)
{
    struct iommu_msg m;
    struct iommu_reply r;
    struct iommu_ats_flush_rets out = {0};
    iommu_encode_ats_flush(&m, handle, iova, size);
    uint64_t err = call(c, &m, 0, &r);
    if (!pc_call_is_ipc_failure(err)) {
        (void)iommu_reply_ats_flush(&r, &out);
    }
    *status = out.status;
    return err;
}

uint64_t drv_iommu_fault_read(struct drv_iommu *c, struct iommu_fault_rec *recs, unsigned max,
                              unsigned *count, uint64_t *dropped)
{
    struct iommu_msg m;
    struct iommu_reply r;
    struct iommu_fault_read_rets out = {0};
    *count = 0;
    *dropped = 0;
    if (max > IOMMU_FAULTS_PER_REPLY) {
        max = IOMMU_FAULTS_PER_REPLY;
    }
    iommu_encode_fault_read(&m, max);
    uint64_t err = call(c, &m, 0, &r);
    if (err != IOMMU_OK) {
        return err;
    }
    (void)iommu_reply_fault_read(&r, &out);
    /* trust nothing: never more records than asked for, nor than the reply carries */
    unsigned n = out.count > max ? max : (unsigned)out.count;
    unsigned fit = r.len >= 2 ? (r.len - 2) / IOMMU_FAULT_WORDS : 0;
    if (n > fit) {
        n = fit;
    }
    for (unsigned i = 0; i < n; i++) {
        iommu_fault_unpack(&r.w[2 + i * IOMMU_FAULT_WORDS], &recs[i]);
    }
    *count = n;
    *dropped = out.dropped;
    return IOMMU_OK;
}

uint64_t drv_iommu_irq_alloc(struct drv_iommu *c, uint64_t handle, uint64_t grant, uint64_t *irq,
                             uint64_t *msi_addr, uint32_t *msi_data)
{
    struct iommu_msg m;
    struct iommu_reply r;
    struct iommu_irq_alloc_rets out = {0};
    iommu_encode_irq_alloc(&m, handle, grant);
    uint64_t err = call(c, &m, 0, &r);
    if (err == IOMMU_OK) {
        (void)iommu_reply_irq_alloc(&r, &out);
    }
    *irq = out.irq;
    *msi_addr = out.msi_addr;
    *msi_data = (uint32_t)out.msi_data;
    return err;
}

uint64_t drv_iommu_irq_free(struct drv_iommu *c, uint64_t irq)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_irq_free(&m, irq);
    return call(c, &m, 0, &r);
}

uint64_t drv_iommu_msi_pair(struct drv_iommu *c, const task_cap_t *msi, bool attached,
                            uint64_t handle, uint64_t *irq, uint64_t *addr, uint32_t *data,
                            bool *remapped)
{
    *irq = 0;
    *addr = msi->arg1;
    *data = (uint32_t)msi->arg2;
    *remapped = msi->arg1 == 0;
    if (!*remapped) {
        return IOMMU_OK;
    }
    if (!attached) {
        return IOMMU_ERR_NOT_ATTACHED;
    }
    return drv_iommu_irq_alloc(c, handle, msi->arg0, irq, addr, data);
}
