/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Capability and extended-capability walks, and the PCI Express capability with its slot and
 * link registers. Lists come from the device and may be corrupt or hostile: each pointer is
 * masked and range-checked, each dword is visited at most once, and the number of hops is
 * bounded, so a looping or wild list ends in an error after a bounded number of reads.
 */
#include <pci/pci.h>

#define STD_CAP_MAX_HOPS ((PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_END) / 4)     /* 48 */
#define EXT_CAP_MAX_HOPS ((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 4) /* 960 */

void pci_cap_iter_init(struct pci_cap_iter *it, const struct pci_ecam *ecam, pci_sid_t sid,
                       bool ext)
{
    it->ecam = ecam;
    it->sid = sid;
    it->ext = ext;
    it->state = 0;
    it->err = PCI_OK;
    it->next = 0;
    it->hops = 0;
    for (size_t i = 0; i < sizeof(it->visited) / sizeof(it->visited[0]); i++) {
        it->visited[i] = 0;
    }
}

static int iter_finish(struct pci_cap_iter *it, int err)
{
    it->state = 2;
    it->err = err;
    return err;
}

/* Marks the dword at off visited; false if it was already. */
static bool visit(struct pci_cap_iter *it, uint16_t off)
{
    uint32_t idx = off / 4u, bit = 1u << (idx % 32u);
    if (it->visited[idx / 32u] & bit) {
        return false;
    }
    it->visited[idx / 32u] |= bit;
    return true;
}

int pci_cap_iter_next(struct pci_cap_iter *it, uint16_t *off, uint16_t *id, uint8_t *version)
{
    if (it->state == 2) {
        return it->err;
    }
    if (it->state == 0) {
        it->state = 1;
        if (!pci_present(it->ecam, it->sid)) {
            return iter_finish(it, PCI_ERR_ABSENT);
        }
        if (it->ext) {
            it->next = PCI_EXT_CAP_START;
        } else {
            if (!(pci_cfg_read16(it->ecam, it->sid, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
                return iter_finish(it, PCI_ERR_NOT_FOUND);
            }
            it->next = pci_cfg_read8(it->ecam, it->sid, PCI_CAPABILITY_LIST) & PCI_CAP_PTR_MASK;
        }
    }

    uint16_t cur = it->next;
    if (it->ext) {
        if (cur == 0) {
            return iter_finish(it, PCI_ERR_NOT_FOUND);
        }
        if (cur < PCI_EXT_CAP_START || cur > PCI_CFG_SPACE_EXP_SIZE - 4) {
            return iter_finish(it, PCI_ERR_MALFORMED);
        }
        if (!visit(it, cur) || ++it->hops > EXT_CAP_MAX_HOPS) {
            return iter_finish(it, PCI_ERR_LOOP);
        }
        uint32_t h = pci_cfg_read32(it->ecam, it->sid, cur);
        if (h == 0xffffffffu) {
            /* Either the function vanished or it has no extended space (conventional PCI). */
            return iter_finish(it,
                               pci_present(it->ecam, it->sid) ? PCI_ERR_NOT_FOUND : PCI_ERR_ABSENT);
        }
        if (h == 0 && cur == PCI_EXT_CAP_START) {
            return iter_finish(it, PCI_ERR_NOT_FOUND); /* PCIe 7.6.3: no extended capabilities */
        }
        it->next = (uint16_t)PCI_EXT_CAP_NEXT(h);
        *off = cur;
        *id = (uint16_t)PCI_EXT_CAP_ID(h);
        if (version) {
            *version = (uint8_t)PCI_EXT_CAP_VER(h);
        }
        return PCI_OK;
    }

    if (cur == 0) {
        return iter_finish(it, PCI_ERR_NOT_FOUND);
    }
    if (cur < PCI_STD_HEADER_END) {
        return iter_finish(it, PCI_ERR_MALFORMED); /* pointer into the header */
    }
    if (!visit(it, cur) || ++it->hops > STD_CAP_MAX_HOPS) {
        return iter_finish(it, PCI_ERR_LOOP);
    }
    uint16_t h = pci_cfg_read16(it->ecam, it->sid, cur);
    if (h == 0xffffu && !pci_present(it->ecam, it->sid)) {
        return iter_finish(it, PCI_ERR_ABSENT);
    }
    it->next = (uint16_t)((h >> 8) & PCI_CAP_PTR_MASK);
    *off = cur;
    *id = h & 0xffu;
    if (version) {
        *version = 0;
    }
    return PCI_OK;
}

static int cap_find(const struct pci_ecam *ecam, pci_sid_t sid, bool ext, uint16_t want,
                    uint16_t *off)
{
    struct pci_cap_iter it;
    uint16_t o, id;
    int err;
    pci_cap_iter_init(&it, ecam, sid, ext);
    while ((err = pci_cap_iter_next(&it, &o, &id, NULL)) == PCI_OK) {
        if (id == want) {
            *off = o;
            return PCI_OK;
        }
    }
    return err;
}

int pci_cap_find(const struct pci_ecam *ecam, pci_sid_t sid, uint8_t cap_id, uint16_t *off)
{
    return cap_find(ecam, sid, false, cap_id, off);
}

int pci_ext_cap_find(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t cap_id, uint16_t *off)
{
    return cap_find(ecam, sid, true, cap_id, off);
}

/* ---- PCI Express capability ---- */

int pci_pcie_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_pcie *out)
{
    uint16_t off;
    int err = pci_cap_find(ecam, sid, PCI_CAP_ID_EXP, &off);
    if (err != PCI_OK) {
        return err;
    }
    uint16_t flags = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_EXP_FLAGS));
    uint8_t version = flags & PCI_EXP_FLAGS_VERS_MASK;
    uint16_t size = version >= 2 ? PCI_EXP_CAP_SIZEOF_V2 : PCI_EXP_CAP_SIZEOF_V1;
    if (version == 0 || off + size > PCI_CFG_SPACE_SIZE) {
        return PCI_ERR_MALFORMED;
    }
    out->off = off;
    out->version = version;
    out->port_type = (uint8_t)((flags & PCI_EXP_FLAGS_TYPE_MASK) >> PCI_EXP_FLAGS_TYPE_SHIFT);
    /* Slot Implemented is only defined for root ports and switch downstream ports (7.5.3.2). */
    out->slot = (flags & PCI_EXP_FLAGS_SLOT) && (out->port_type == PCI_EXP_TYPE_ROOT_PORT ||
                                                 out->port_type == PCI_EXP_TYPE_DOWNSTREAM);
    out->devcap = pci_cfg_read32(ecam, sid, (uint16_t)(off + PCI_EXP_DEVCAP));
    out->lnkcap = pci_cfg_read32(ecam, sid, (uint16_t)(off + PCI_EXP_LNKCAP));
    out->sltcap = out->slot ? pci_cfg_read32(ecam, sid, (uint16_t)(off + PCI_EXP_SLTCAP)) : 0;
    return PCI_OK;
}

void pci_slot_caps_decode(uint32_t c, struct pci_slot_caps *out)
{
    out->abp = c & PCI_EXP_SLTCAP_ABP;
    out->pcp = c & PCI_EXP_SLTCAP_PCP;
    out->mrlsp = c & PCI_EXP_SLTCAP_MRLSP;
    out->aip = c & PCI_EXP_SLTCAP_AIP;
    out->pip = c & PCI_EXP_SLTCAP_PIP;
    out->hps = c & PCI_EXP_SLTCAP_HPS;
    out->hpc = c & PCI_EXP_SLTCAP_HPC;
    out->eip = c & PCI_EXP_SLTCAP_EIP;
    out->nccs = c & PCI_EXP_SLTCAP_NCCS;
    out->psn = (uint16_t)((c & PCI_EXP_SLTCAP_PSN_MASK) >> PCI_EXP_SLTCAP_PSN_SHIFT);
}

static int slot_check(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie)
{
    if (pcie == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pcie->slot) {
        return PCI_ERR_NOT_FOUND;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    return PCI_OK;
}

int pci_slot_status(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                    uint16_t *sltsta)
{
    int err = slot_check(ecam, sid, pcie);
    if (err == PCI_OK) {
        *sltsta = pci_cfg_read16(ecam, sid, (uint16_t)(pcie->off + PCI_EXP_SLTSTA));
    }
    return err;
}

int pci_slot_ack(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                 uint16_t events)
{
    int err = slot_check(ecam, sid, pcie);
    if (err != PCI_OK) {
        return err;
    }
    if (events & ~PCI_EXP_SLTSTA_EVENTS) {
        return PCI_ERR_INVALID;
    }
    pci_cfg_write16(ecam, sid, (uint16_t)(pcie->off + PCI_EXP_SLTSTA), events);
    return PCI_OK;
}

int pci_slot_control(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                     uint16_t *sltctl)
{
    int err = slot_check(ecam, sid, pcie);
    if (err == PCI_OK) {
        *sltctl = pci_cfg_read16(ecam, sid, (uint16_t)(pcie->off + PCI_EXP_SLTCTL));
    }
    return err;
}

#define SLTCTL_COMMANDS                                                                            \
    (PCI_EXP_SLTCTL_AIC_MASK | PCI_EXP_SLTCTL_PIC_MASK | PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_EIC)

int pci_slot_update_control(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                            uint16_t clear, uint16_t set, const struct pci_clock *clk,
                            uint64_t timeout_ns)
{
    int err = slot_check(ecam, sid, pcie);
    if (err != PCI_OK) {
        return err;
    }
    bool is_command = ((clear | set) & SLTCTL_COMMANDS) && !(pcie->sltcap & PCI_EXP_SLTCAP_NCCS);
    if (is_command && (clk == NULL || clk->now_ns == NULL)) {
        return PCI_ERR_INVALID; /* a command needs a deadline for its completion */
    }
    uint16_t sta_off = (uint16_t)(pcie->off + PCI_EXP_SLTSTA),
             ctl_off = (uint16_t)(pcie->off + PCI_EXP_SLTCTL);
    if (is_command) {
        pci_cfg_write16(ecam, sid, sta_off, PCI_EXP_SLTSTA_CC); /* drop a stale completion */
    }
    uint16_t ctl = pci_cfg_read16(ecam, sid, ctl_off);
    pci_cfg_write16(ecam, sid, ctl_off, (uint16_t)((ctl & ~clear) | set));
    if (!is_command) {
        return PCI_OK;
    }
    uint64_t deadline = clk->now_ns(clk->ctx) + timeout_ns;
    for (;;) {
        uint16_t sta = pci_cfg_read16(ecam, sid, sta_off);
        if (sta == 0xffffu && !pci_present(ecam, sid)) {
            return PCI_ERR_ABSENT;
        }
        if (sta & PCI_EXP_SLTSTA_CC) {
            pci_cfg_write16(ecam, sid, sta_off, PCI_EXP_SLTSTA_CC);
            return PCI_OK;
        }
        if (clk->now_ns(clk->ctx) >= deadline) {
            return PCI_ERR_TIMEOUT;
        }
        if (clk->relax) {
            clk->relax(clk->ctx);
        }
    }
}

int pci_slot_set_power(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                       bool on, const struct pci_clock *clk, uint64_t timeout_ns)
{
    if (pcie != NULL && pcie->slot && !(pcie->sltcap & PCI_EXP_SLTCAP_PCP)) {
        return PCI_ERR_NOT_FOUND;
    }
    return on ? pci_slot_update_control(ecam, sid, pcie, PCI_EXP_SLTCTL_PCC, 0, clk, timeout_ns)
              : pci_slot_update_control(ecam, sid, pcie, 0, PCI_EXP_SLTCTL_PCC, clk, timeout_ns);
}

int pci_slot_set_indicators(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                            unsigned power_ind, unsigned attn_ind, const struct pci_clock *clk,
                            uint64_t timeout_ns)
{
    if (power_ind < PCI_EXP_SLTCTL_IND_ON || power_ind > PCI_EXP_SLTCTL_IND_OFF ||
        attn_ind < PCI_EXP_SLTCTL_IND_ON || attn_ind > PCI_EXP_SLTCTL_IND_OFF) {
        return PCI_ERR_INVALID;
    }
    uint16_t set = (uint16_t)((power_ind << PCI_EXP_SLTCTL_PIC_SHIFT) |
                              (attn_ind << PCI_EXP_SLTCTL_AIC_SHIFT));
    return pci_slot_update_control(
        ecam, sid, pcie, PCI_EXP_SLTCTL_PIC_MASK | PCI_EXP_SLTCTL_AIC_MASK, set, clk, timeout_ns);
}

int pci_link_status(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                    uint16_t *lnksta)
{
    if (pcie == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    *lnksta = pci_cfg_read16(ecam, sid, (uint16_t)(pcie->off + PCI_EXP_LNKSTA));
    return PCI_OK;
}

/* ---- ATS, PASID, PRI (PCIe 10.5) ---- */

static int ext_cap_sized(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t id, uint16_t size,
                         uint16_t *off)
{
    int err = pci_ext_cap_find(ecam, sid, id, off);
    if (err == PCI_OK && *off + size > PCI_CFG_SPACE_EXP_SIZE) {
        return PCI_ERR_MALFORMED;
    }
    return err;
}

int pci_ats_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_ats *out)
{
    uint16_t off;
    int err = ext_cap_sized(ecam, sid, PCI_EXT_CAP_ID_ATS, PCI_ATS_SIZEOF, &off);
    if (err != PCI_OK) {
        return err;
    }
    uint16_t cap = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_ATS_CAP));
    uint16_t ctl = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_ATS_CTRL));
    out->off = off;
    out->queue_depth = (cap & PCI_ATS_CAP_QDEP_MASK) ? (cap & PCI_ATS_CAP_QDEP_MASK) : 32;
    out->page_aligned = cap & PCI_ATS_CAP_PAGE_ALIGNED;
    out->global_inv = cap & PCI_ATS_CAP_GLOBAL_INV;
    out->enabled = ctl & PCI_ATS_CTRL_ENABLE;
    out->stu = ctl & PCI_ATS_CTRL_STU_MASK;
    return PCI_OK;
}

int pci_ats_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_ats *ats,
                   uint8_t stu)
{
    if (ats == NULL || stu > PCI_ATS_CTRL_STU_MASK) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    /* STU may only change while disabled (10.5.1.3): write it first, then Enable. */
    pci_cfg_write16(ecam, sid, (uint16_t)(ats->off + PCI_ATS_CTRL), stu);
    pci_cfg_write16(ecam, sid, (uint16_t)(ats->off + PCI_ATS_CTRL),
                    (uint16_t)(PCI_ATS_CTRL_ENABLE | stu));
    return PCI_OK;
}

int pci_ats_disable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_ats *ats)
{
    if (ats == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT; /* nothing to disable: a vanished device has no ATC */
    }
    uint16_t ctl = pci_cfg_read16(ecam, sid, (uint16_t)(ats->off + PCI_ATS_CTRL));
    pci_cfg_write16(ecam, sid, (uint16_t)(ats->off + PCI_ATS_CTRL),
                    (uint16_t)(ctl & ~PCI_ATS_CTRL_ENABLE));
    return PCI_OK;
}

int pci_pasid_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_pasid *out)
{
    uint16_t off;
    int err = ext_cap_sized(ecam, sid, PCI_EXT_CAP_ID_PASID, PCI_PASID_SIZEOF, &off);
    if (err != PCI_OK) {
        return err;
    }
    uint16_t cap = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_PASID_CAP));
    uint16_t ctl = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_PASID_CTRL));
    out->off = off;
    out->max_width = (uint8_t)((cap & PCI_PASID_CAP_WIDTH_MASK) >> PCI_PASID_CAP_WIDTH_SHIFT);
    out->exec = cap & PCI_PASID_CAP_EXEC;
    out->priv = cap & PCI_PASID_CAP_PRIV;
    out->enabled = ctl & PCI_PASID_CTRL_ENABLE;
    if (out->max_width == 0 || out->max_width > 20) {
        return PCI_ERR_MALFORMED; /* PASIDs are at most 20 bits */
    }
    return PCI_OK;
}

int pci_pasid_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pasid *p,
                     bool exec, bool priv)
{
    if (p == NULL || (exec && !p->exec) || (priv && !p->priv)) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    uint16_t ctl =
        PCI_PASID_CTRL_ENABLE | (exec ? PCI_PASID_CTRL_EXEC : 0) | (priv ? PCI_PASID_CTRL_PRIV : 0);
    pci_cfg_write16(ecam, sid, (uint16_t)(p->off + PCI_PASID_CTRL), ctl);
    return PCI_OK;
}

int pci_pasid_disable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pasid *p)
{
    if (p == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    pci_cfg_write16(ecam, sid, (uint16_t)(p->off + PCI_PASID_CTRL), 0);
    return PCI_OK;
}

int pci_pri_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_pri *out)
{
    uint16_t off;
    int err = ext_cap_sized(ecam, sid, PCI_EXT_CAP_ID_PRI, PCI_PRI_SIZEOF, &off);
    if (err != PCI_OK) {
        return err;
    }
    uint16_t ctl = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_PRI_CTRL));
    uint16_t sta = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_PRI_STATUS));
    out->off = off;
    out->max_requests = pci_cfg_read32(ecam, sid, (uint16_t)(off + PCI_PRI_MAX_REQ));
    out->enabled = ctl & PCI_PRI_CTRL_ENABLE;
    out->stopped = sta & PCI_PRI_STATUS_STOPPED;
    out->pasid_required = sta & PCI_PRI_STATUS_PASID;
    return PCI_OK;
}

int pci_pri_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pri *p,
                   uint32_t requests)
{
    if (p == NULL || requests == 0 || requests > p->max_requests) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    uint16_t ctl = pci_cfg_read16(ecam, sid, (uint16_t)(p->off + PCI_PRI_CTRL));
    uint16_t sta = pci_cfg_read16(ecam, sid, (uint16_t)(p->off + PCI_PRI_STATUS));
    if ((ctl & PCI_PRI_CTRL_ENABLE) || !(sta & PCI_PRI_STATUS_STOPPED)) {
        return PCI_ERR_BUSY;
    }
    /* 10.5.2.2: Reset (only while disabled) clears allocation state and the error bits. */
    pci_cfg_write16(ecam, sid, (uint16_t)(p->off + PCI_PRI_CTRL), PCI_PRI_CTRL_RESET);
    pci_cfg_write32(ecam, sid, (uint16_t)(p->off + PCI_PRI_ALLOC_REQ), requests);
    pci_cfg_write16(ecam, sid, (uint16_t)(p->off + PCI_PRI_CTRL), PCI_PRI_CTRL_ENABLE);
    return PCI_OK;
}

int pci_pri_disable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pri *p,
                    const struct pci_clock *clk, uint64_t timeout_ns)
{
    if (p == NULL || clk == NULL || clk->now_ns == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    pci_cfg_write16(ecam, sid, (uint16_t)(p->off + PCI_PRI_CTRL), 0);
    uint64_t deadline = clk->now_ns(clk->ctx) + timeout_ns;
    for (;;) {
        uint16_t sta = pci_cfg_read16(ecam, sid, (uint16_t)(p->off + PCI_PRI_STATUS));
        if (sta == 0xffffu && !pci_present(ecam, sid)) {
            return PCI_ERR_ABSENT;
        }
        if (sta & PCI_PRI_STATUS_STOPPED) {
            return PCI_OK;
        }
        if (clk->now_ns(clk->ctx) >= deadline) {
            return PCI_ERR_TIMEOUT;
        }
        if (clk->relax) {
            clk->relax(clk->ctx);
        }
    }
}
