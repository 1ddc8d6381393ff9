/*
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The fence / invalidate / ITE-recovery / PASID-drain protocol between the PCIe hotplug server,
 * the IOMMU server, a driver and its device, as a Promela model. Message labels, replies,
 * states and events carry the names of the C declarations (libs/libiommu/include/iommu/
 * protocol.h and server.h, libs/libhotplug/include/hotplug/*.h, servers/pcie-hotplug/include/
 * hpsrv/protocol.h, libs/libvtd); check_messages.py holds the model to them.
 *
 * One hot-plug slot, one source-id, NGEN occupants (re-plug = a new generation), NPASID PASID
 * slots of the remapping unit, one mapped page of the driver's domain. Time is abstract: every
 * wait either completes or its deadline fires; every loop is bounded by a budget.
 *
 * Properties (assertions, plus Spin's invalid-end-state check for P2):
 *   P1 no device-TLB invalidation reaches the device after the sid's fence (until device_added)
 *   P2 every request is answered (no deadlock, at most MAX_WAITS bounded waits per request)
 *   P3 a PASID is bound again only after its drain completed
 *   P4 a page is released only after its invalidation completed or its device is quarantined
 * Each -DBUG_* variant removes one mechanism; ctest checks that Spin rejects each of them.
 * -DREACH=n fails at scenario probe n (ctest checks every probe is reached).
 * -DFAULT_BLOCK_FLUSH_FAILS lets one context-entry invalidation fail, as hardware may; the code
 * holds P4 then because a failed block is redone until its invalidation completes and a fence
 * whose block failed is a pending quarantine; -DBUG_BLOCK_NOT_RETRIED and -DBUG_FENCE_NOT_PENDING
 * model the code before that fix, each of which Spin rejects (docs/model-checking.md).
 */

#ifndef NGEN
#define NGEN 2          /* occupants of the slot: 1 + number of re-plugs */
#endif
#ifndef NPASID
#define NPASID 1        /* PASID slots of the unit */
#endif
#ifndef NREQ
#define NREQ 2          /* driver requests over the whole run */
#endif
#ifndef NPR
#define NPR 2           /* page requests the device may issue over the whole run */
#endif
#ifndef PR_INFLIGHT
#define PR_INFLIGHT 1   /* outstanding page requests per PASID (not yet in the queue) */
#endif
#ifndef PRQ_CAP
#define PRQ_CAP 1       /* page request queue entries */
#endif
#ifndef DRAIN_ROUNDS
#define DRAIN_ROUNDS 2  /* vtd_pasid_drain rounds (the code has 4) */
#endif
/*
 * Reachability probes: with -DREACH=n the model fails when it reaches probe n, so a scenario
 * the properties are meant to cover is shown to occur (run_spin.sh reach).
 */
#ifdef REACH
#define REACHED(n) assert(REACH != n);
#else
#define REACHED(n)
#endif
#if NPASID > 2
#error the model spells out at most two PASID slots
#endif
#define MAX_WAITS (2 * DRAIN_ROUNDS + 4)
#if NPASID > 1
#define SERVICEABLE ((queued[0] > 0 && pasid_state[0] == IOMMU_PASID_BOUND) || \
                     (queued[1] > 0 && pasid_state[1] == IOMMU_PASID_BOUND))
#else
#define SERVICEABLE (queued[0] > 0 && pasid_state[0] == IOMMU_PASID_BOUND)
#endif
#if NPASID > 1
#define ANY_DRAINING (pasid_state[0] == IOMMU_PASID_DRAINING || pasid_state[1] == IOMMU_PASID_DRAINING)
#else
#define ANY_DRAINING (pasid_state[0] == IOMMU_PASID_DRAINING)
#endif

/* IOMMU protocol labels (IOMMU_CLIENT_METHODS, IOMMU_HOTPLUG_METHODS) */
mtype = { DEVICE_FENCE, DEVICE_REMOVED, DEVICE_ADDED, UNMAP, ATS_FLUSH, PASID_BIND, PASID_UNBIND };
/* replies (IOMMU_ERRORS, IOMMU_HP_ERRORS) and status bits */
mtype = { IOMMU_OK, IOMMU_ERR_STALE, IOMMU_ERR_FENCED, IOMMU_ERR_NO_PASID, IOMMU_ERR_NOT_BOUND,
          IOMMU_ERR_DEVICE_TIMEOUT, IOMMU_ERR_HW, IOMMU_HP_OK, IOMMU_HP_ERR_HW };
mtype = { IOMMU_STATUS_DEVICE_GONE, IOMMU_STATUS_QUARANTINED };
mtype = { IOMMU_FENCE_ORDERLY, IOMMU_FENCE_SURPRISE };
/* device-gone protocol (HP_GONE_METHODS) and the hotplug server's driver event (hps NEXT_EVENT) */
mtype = { HP_GONE_DEVICE_GOING, HP_GONE_DEVICE_GONE, HP_GONE_DETACHED, NEXT_EVENT };
/* slot states and events (HP_STATES, HP_EVENTS) */
mtype = { HP_ST_OFF, HP_ST_POWERING_ON, HP_ST_WAIT_CONFIG, HP_ST_ON, HP_ST_WAIT_DETACH,
          HP_ST_POWERING_OFF };
mtype = { HP_EV_PRESENT, HP_EV_ABSENT, HP_EV_DEADLINE, HP_EV_DETACHED, HP_EV_REQ_REMOVE,
          HP_EV_REQ_POWER_OFF };
/* IOMMU server device and PASID states (enum iommu_dev_state, enum iommu_pasid_state) */
mtype = { IOMMU_DEV_PRESENT, IOMMU_DEV_FENCED, IOMMU_DEV_REMOVED };
mtype = { IOMMU_PASID_FREE, IOMMU_PASID_BOUND, IOMMU_PASID_DRAINING };
/* invalidation queue: device-TLB operations (enum vtd_op kinds) and results (VTD_ERRORS) */
mtype = { VTD_OP_DEVTLB, VTD_OP_PDEVTLB };
mtype = { VTD_OK, VTD_ERR_ITE, VTD_ERR_TIMEOUT, VTD_ERR_HW };

/* ---- channels -------------------------------------------------------------------------- */
chan drv_call  = [1] of { mtype, byte, byte };   /* label, handle generation, pasid */
chan drv_reply = [1] of { mtype, mtype, byte };  /* error, status, pasid */
chan hp_call   = [1] of { mtype, mtype };        /* label, fence mode */
chan hp_reply  = [1] of { mtype };               /* enum iommu_hp_err */
chan hp_to_drv = [3] of { mtype, byte };         /* going / gone / next_event, generation */
chan drv_to_hp = [NGEN] of { mtype, byte };         /* detached, generation */
chan hp_ev     = [1] of { mtype };               /* slot events raised by the device */
chan qi_to_dev = [1] of { mtype };               /* a device-TLB descriptor fetched */
chan dev_done  = [1] of { mtype };               /* the device's invalidation completion */

/* ---- IOMMU server state (struct iommu_device, struct iommu_pasid, vtd unit) ------------- */
mtype dev_state = IOMMU_DEV_PRESENT;
byte gen = 1;                 /* d->generation */
bool quarantined, quarantine_done;
bool ats_enabled = true;      /* d->ats_enabled */
bool unit_fenced;             /* vtd_unit_is_fenced(sid) */
bool ctx_dte = true;          /* the context entry allows translated requests */
bool ctx_p = true;            /* the context entry is present in memory */
bool ctx_blocked;             /* not present and flushed: nothing of the device reaches memory */
#ifdef FAULT_BLOCK_FLUSH_FAILS
byte hw_fail = 1;             /* injected failures of a block's invalidation */
#endif
mtype pasid_state[NPASID];    /* all IOMMU_PASID_FREE (initialised in init) */
/* the page: mapped in the domain, pinned (not yet released), stuck (kept after a failed unmap) */
bool mapped = true, pinned = true, stuck;

/* ---- device (hardware) state ----------------------------------------------------------- */
bool dev_present = true;      /* in the slot */
bool dev_alive = true;        /* answers device-TLB invalidations */
bool dev_ats = true;          /* ATS enable in its config space */
bool atc_valid;               /* its ATC holds the page's translation */
byte dev_gen = 1;             /* the occupant in the slot (its generation) */
byte dev_uses[NPASID];        /* generation of the occupant the driver has issue page requests
                                 under the PASID (0: none) */
byte inflight[NPASID];        /* page requests on their way to the queue */
byte queued[NPASID];          /* page requests in the page request queue */
byte prq_count;
bool prq_pro;                 /* PRS.PRO: a request was lost to a full queue */
byte pr_budget = NPR;

/* ---- ghosts for the properties ---------------------------------------------------------- */
bool fence_seen;              /* P1: the sid's fence took effect (reset by device_added) */
bool inv_completed;           /* P4: the last unmap's invalidation completed */
bool needs_drain[NPASID];     /* P3: torn down, drain not yet complete */
byte waits;                   /* P2: bounded waits spent on the current request */

/*
 * One device-TLB descriptor through the invalidation queue (emit + wait in libvtd's qi.c).
 * A descriptor for a fenced sid is dropped (VTD_OPF_DROPPED) and never reaches the device.
 * Otherwise the device answers, or the deadline fires: ITE, the descriptor is withdrawn
 * (handle_ite) and the caller quarantines the sid (iommu_submit).
 */
inline qi_devtlb(kind, res)
{
    res = VTD_OK;
#ifdef BUG_SEND_DEVTLB_AFTER_FENCE
    if
    :: true ->
#else
    if
    :: !unit_fenced ->
#endif
        assert(!fence_seen);                        /* P1 */
        waits++;
        qi_to_dev!kind;
#ifdef BUG_UNBOUNDED_WAIT
        dev_done?_
#else
        if
        :: dev_done?_
        :: atomic { empty(dev_done) -> qi_to_dev?_; res = VTD_ERR_ITE }   /* deadline */
        REACHED(1)
        fi
#endif
    :: else -> skip                                 /* VTD_OPF_DROPPED */
    fi
}

/* vtd_unit_fence */
inline unit_fence()
{
    unit_fenced = true;
    fence_seen = true
}

/*
 * The context entry's invalidation (context cache, IOTLB) at the end of vtd_dev_block. With
 * -DFAULT_BLOCK_FLUSH_FAILS it may fail once (VTD_ERR_HW: a queue error other than ITE/ICE);
 * the entry is then non-present in memory but may still be cached: not blocked.
 */
inline block_flush(res)
{
#ifdef FAULT_BLOCK_FLUSH_FAILS
    if
    :: hw_fail > 0 && res != VTD_ERR_ITE -> hw_fail--; res = VTD_ERR_HW
    :: else -> skip
    fi;
#endif
    if :: res != VTD_ERR_HW -> ctx_blocked = true :: else -> skip fi
}

/*
 * legacy_clear / sm_clear: an entry already non-present returns VTD_OK at once only once its
 * invalidation completed (libvtd's unflushed set); -DBUG_BLOCK_NOT_RETRIED: at once, as before.
 */
#ifndef BUG_BLOCK_NOT_RETRIED
#define BLOCK_DONE (!ctx_p && ctx_blocked)
#else
#define BLOCK_DONE (!ctx_p)
#endif

/* vtd_dev_block for a fenced sid (its device-TLB op is dropped): no ITE possible */
inline block_fenced(res)
{
    res = VTD_OK;
    if
    :: BLOCK_DONE -> skip
    :: else -> ctx_p = false; ctx_dte = false; block_flush(res)
    fi
}

/* iommu_quarantine: fenced first, ATS off, entry blocked; done only if the block completed. */
inline iommu_quarantine()
{
    unit_fence();
    quarantined = true;
    ats_enabled = false;
    if :: dev_alive -> dev_ats = false :: else -> skip fi;
    block_fenced(qres);
    quarantine_done = (qres == VTD_OK)
}

/* quarantine_pending (perform.c): retry an incomplete quarantine, report whether it still is */
inline quarantine_pending(pending)
{
    if :: quarantined && !quarantine_done -> iommu_quarantine() :: else -> skip fi;
    pending = quarantined && !quarantine_done
}

/* vtd_dev_block (+ quarantine_if_timeout): entry cleared, device-TLB flushed if it had ATS. */
inline dev_block(res)
{
    res = VTD_OK;
    if
    :: BLOCK_DONE -> skip
    :: else ->
        ctx_p = false;
        if
        :: ctx_dte -> ctx_dte = false; qi_devtlb(VTD_OP_DEVTLB, res)
        :: else -> skip
        fi;
        block_flush(res)
    fi;
    if :: res == VTD_ERR_ITE -> REACHED(11) iommu_quarantine() :: else -> skip fi
}

/* One page request reaches the queue, or is lost to a full queue (PRS.PRO). */
inline pr_deliver(q)
{
    inflight[q]--;
    if
    :: prq_count < PRQ_CAP -> queued[q]++; prq_count++
    :: else -> prq_pro = true
    fi
}

/* drain_queue: every queued request is taken (the drained PASID's dropped, others answered). */
inline drain_queue(ovf)
{
    for (i : 0 .. NPASID - 1) { queued[i] = 0 };
    prq_count = 0;
    ovf = prq_pro;
    prq_pro = false
}

/* vtd_pasid_drain: rounds of drain, PASID invalidations and a page-drain wait. */
inline pasid_drain(p, ats, res)
{
    round = 0;
    res = VTD_ERR_TIMEOUT;
    do
    :: round < DRAIN_ROUNDS ->
        round++;
        drain_queue(ovf);
        /* the page-drain wait: everything the device issued before it is in the queue */
        res = VTD_OK;
        if
        :: ats -> qi_devtlb(VTD_OP_PDEVTLB, res);
                  if :: res == VTD_ERR_ITE -> iommu_quarantine() :: else -> skip fi
        :: else -> skip
        fi;
        waits++;
        atomic {
            for (i : 0 .. NPASID - 1) {
                do
                :: inflight[i] > 0 -> pr_deliver(i)
                :: else -> break
                od
            }
        };
        if
        :: !prq_pro && !ovf -> drain_queue(ovf); break
        :: else -> REACHED(3) res = VTD_ERR_TIMEOUT /* lost requests: round again */
        fi
    :: else -> break
    od
}

/* pasid_teardown: DRAINING until the drain completed, then FREE. */
inline pasid_teardown(p, res)
{
    pasid_state[p] = IOMMU_PASID_DRAINING;
    needs_drain[p] = true;
#ifdef BUG_REUSE_PASID_EARLY
    pasid_state[p] = IOMMU_PASID_FREE;              /* freed when blocked, before the drain */
    res = VTD_OK
#else
    pasid_drain(p, (ats_enabled && dev_state == IOMMU_DEV_PRESENT && !quarantined), res);
    if
    :: res == VTD_OK -> pasid_state[p] = IOMMU_PASID_FREE; needs_drain[p] = false
    :: else -> REACHED(4) skip                     /* stays DRAINING */
    fi
#endif
}

/* fence() of perform.c */
inline fence(mode, hres)
{
    hres = IOMMU_HP_OK;
    if
    :: dev_state != IOMMU_DEV_PRESENT ->
        if :: mode == IOMMU_FENCE_SURPRISE -> unit_fence() :: else -> skip fi
    :: else ->
        if
        :: mode == IOMMU_FENCE_ORDERLY ->
            ats_enabled = false;                    /* iommu_ats_off */
            if :: dev_alive -> dev_ats = false :: else -> skip fi;
            dev_block(vres);
            unit_fence()
        :: else ->
            unit_fence();                           /* fenced first: the ATC is never addressed */
            ats_enabled = false;
            dev_block(vres)
        fi;
        dev_state = IOMMU_DEV_FENCED;
        if
        :: vres == VTD_ERR_HW -> hres = IOMMU_HP_ERR_HW
#ifndef BUG_FENCE_NOT_PENDING
            ; iommu_quarantine()                    /* pending until its block completed */
#endif
        :: else -> skip
        fi
    fi
}

/* removed() of perform.c */
inline removed()
{
    if
    :: dev_state == IOMMU_DEV_REMOVED -> skip
    :: else ->
        if :: dev_state == IOMMU_DEV_PRESENT -> fence(IOMMU_FENCE_SURPRISE, hres) :: else -> skip fi;
        for (j : 0 .. NPASID - 1) {
            if :: pasid_state[j] == IOMMU_PASID_BOUND -> pasid_teardown(j, vres) :: else -> skip fi
        };
        dev_state = IOMMU_DEV_REMOVED
    fi
}

/* perform_unmap: one batch, release only if confirmed (or the failed device quarantined). */
inline perform_unmap(err)
{
    err = IOMMU_OK;
    mapped = false;
    inv_completed = false;
    vres = VTD_OK;
    if
    :: dev_state == IOMMU_DEV_PRESENT && ats_enabled && !quarantined ->
#ifdef BUG_RELEASE_BEFORE_WAIT
        pinned = false;                             /* released before the wait */
#endif
        qi_devtlb(VTD_OP_DEVTLB, vres);
        if :: vres == VTD_ERR_ITE -> iommu_quarantine() :: else -> skip fi
    :: else -> skip
    fi;
    inv_completed = (vres == VTD_OK);
    quarantine_pending(pend);
    released = !pend;
    if :: vres == VTD_ERR_ITE -> err = IOMMU_ERR_DEVICE_TIMEOUT :: else -> skip fi;
    if
    :: released && pinned ->
        if :: quarantined -> REACHED(2) skip :: else -> skip fi;
        /* P4: the invalidation completed, or the device is quarantined (fence done) */
        assert(inv_completed || (quarantined && quarantine_done));
        assert(!(dev_present && !ctx_blocked && atc_valid));
        pinned = false; stuck = false
    :: released && !pinned -> stuck = false
    :: else -> stuck = true
    fi;
    released = false
}

proctype iommu_server()
{
    mtype label, mode, err, status, vres, hres;
    mtype qres;
    byte g, p, i, j, k, round;
    bool ovf, released, pend;
end_idle:
    do
    :: hp_call?label, mode ->
        waits = 0;
        if
        :: label == DEVICE_FENCE -> fence(mode, hres)
        :: label == DEVICE_REMOVED -> removed(); hres = IOMMU_HP_OK
        :: label == DEVICE_ADDED ->
            if :: dev_state == IOMMU_DEV_FENCED -> removed() :: else -> skip fi;
            /* iommu_device_arrive: an incomplete quarantine is retried first */
            if :: quarantined && !quarantine_done -> iommu_quarantine() :: else -> skip fi;
            assert(!quarantined || quarantine_done);   /* one injected failure at most */
            /* + the driver's attach: a fresh occupant, unfenced */
            gen++;
            dev_state = IOMMU_DEV_PRESENT;
            quarantined = false; quarantine_done = false;
            unit_fenced = false; fence_seen = false;
            ctx_blocked = false; ctx_p = true; ctx_dte = true; ats_enabled = true;
            if :: dev_alive -> dev_ats = true :: else -> skip fi;   /* attach: ATS enabled */
            hres = IOMMU_HP_OK
        fi;
        assert(waits <= MAX_WAITS);                 /* P2: bounded */
        hp_reply!hres
    :: drv_call?label, g, p ->
        waits = 0;
        status = IOMMU_OK;
        if
        :: label == UNMAP ->                        /* a domain operation: no handle */
            if
            :: mapped || stuck -> perform_unmap(err)
            :: else -> err = IOMMU_OK
            fi;
            if :: dev_state != IOMMU_DEV_PRESENT -> status = IOMMU_STATUS_DEVICE_GONE :: else -> skip fi
        :: label != UNMAP && g != gen -> REACHED(10) err = IOMMU_ERR_STALE
        :: label == ATS_FLUSH && g == gen ->
            err = IOMMU_OK;
            if
            :: dev_state != IOMMU_DEV_PRESENT -> REACHED(12) status = IOMMU_STATUS_DEVICE_GONE
            :: else ->
                qi_devtlb(VTD_OP_DEVTLB, vres);
                if :: vres == VTD_ERR_ITE -> iommu_quarantine(); err = IOMMU_ERR_DEVICE_TIMEOUT
                   :: else -> skip fi;
                if :: quarantined -> status = IOMMU_STATUS_QUARANTINED :: else -> skip fi
            fi
        :: label == PASID_BIND && g == gen ->
            if
            :: dev_state != IOMMU_DEV_PRESENT -> err = IOMMU_ERR_FENCED
            :: else ->
                k = 0;
                do
                :: k < NPASID && pasid_state[k] != IOMMU_PASID_FREE -> k++
                :: else -> break
                od;
                if
                :: k == NPASID -> err = IOMMU_ERR_NO_PASID
                :: else ->
                    /* P3: no page request of the previous binding can still arrive */
                    assert(!needs_drain[k] && inflight[k] == 0 && queued[k] == 0);
                    if :: gen == NGEN && pasid_state[k] == IOMMU_PASID_FREE -> REACHED(9) skip
                       :: else -> skip fi;
                    pasid_state[k] = IOMMU_PASID_BOUND;
                    err = IOMMU_OK; p = k
                fi
            fi
        :: label == PASID_UNBIND && g == gen ->
            if
            :: pasid_state[p] != IOMMU_PASID_BOUND -> err = IOMMU_ERR_NOT_BOUND
            :: else ->
                pasid_teardown(p, vres);
                if
                :: vres == VTD_OK -> err = IOMMU_OK
                :: vres == VTD_ERR_ITE -> err = IOMMU_ERR_DEVICE_TIMEOUT
                :: else -> err = IOMMU_ERR_HW
                fi;
                if :: quarantined -> status = IOMMU_STATUS_QUARANTINED :: else -> skip fi
            fi
        fi;
        assert(waits <= MAX_WAITS);                 /* P2: bounded */
        drv_reply!err, status, p
    :: atomic { SERVICEABLE -> skip };                /* page request service */
        for (j : 0 .. NPASID - 1) {
            if :: queued[j] > 0 && pasid_state[j] == IOMMU_PASID_BOUND ->
                  queued[j]--; prq_count-- :: else -> skip fi
        }
    :: atomic { empty(hp_call) && empty(drv_call) && ANY_DRAINING ->   /* iommu_server_retry */
        k = 0;
        do
        :: pasid_state[k] != IOMMU_PASID_DRAINING -> k++
        :: else -> break
        od };
        waits = 0;
        pasid_teardown(k, vres);
        if :: pasid_state[k] == IOMMU_PASID_FREE -> REACHED(5) skip :: else -> skip fi
    od
}

proctype device()
{
end_dev:
    do
    :: atomic { dev_alive && nempty(qi_to_dev) ->         /* only a live device answers */
                qi_to_dev?_; atc_valid = false; dev_done!VTD_OK }
    :: atomic { dev_present && dev_alive && dev_ats && mapped && !ctx_blocked && !atc_valid ->
                atc_valid = true }                        /* translation request, ATC filled */
    :: atomic { dev_present && dev_alive -> dev_alive = false }  /* dies in the slot */
    :: atomic { dev_present -> dev_present = false; dev_alive = false; hp_ev!HP_EV_ABSENT }
    :: atomic { pr_budget > 0 && dev_present && dev_uses[0] == dev_gen && inflight[0] < PR_INFLIGHT ->
                pr_budget--; inflight[0]++ }                /* a page request issued */
#if NPASID > 1
    :: atomic { pr_budget > 0 && dev_present && dev_uses[1] == dev_gen && inflight[1] < PR_INFLIGHT ->
                pr_budget--; inflight[1]++ }
#endif
    /* P4: a write through the ATC reaches the page while the entry is not blocked: the page
     * must still be pinned (only enabled when it is not, so it never hides a deadlock) */
    :: atomic { dev_present && !ctx_blocked && atc_valid && !pinned -> assert(pinned) }
    :: atomic { inflight[0] > 0 -> pr_deliver(0) }
#if NPASID > 1
    :: atomic { inflight[1] > 0 -> pr_deliver(1) }
#endif
    od
}

/* The driver: requests on its device handle, answers going with detached, forgets on gone. */
proctype driver()
{
    byte g = 1, n = 0, pasid, x, v;
    bool bound, gone;
    mtype err, status, last;
end_drv:
    do
    :: n < NREQ && !gone ->
        n++;
        if
        :: last = UNMAP; drv_call!UNMAP, g, 0
        :: last = ATS_FLUSH; drv_call!ATS_FLUSH, g, 0
        :: !bound -> last = PASID_BIND; drv_call!PASID_BIND, g, 0
        :: bound -> last = PASID_UNBIND; dev_uses[pasid] = 0; drv_call!PASID_UNBIND, g, pasid
        fi;
        drv_reply?err, status, v;
        if
        :: last == PASID_BIND && err == IOMMU_OK -> bound = true; pasid = v; dev_uses[pasid] = g
        :: last == PASID_UNBIND -> bound = false
        :: else -> skip
        fi
    :: hp_to_drv?HP_GONE_DEVICE_GOING, x ->
        if
        :: x == g && !gone ->
            if
            :: bound ->
                dev_uses[pasid] = 0;
                drv_call!PASID_UNBIND, g, pasid;
                drv_reply?err, status, v;
                bound = false
            :: else -> skip
            fi;
            drv_to_hp!HP_GONE_DETACHED, g;
            gone = true
        :: else -> skip
        fi
    :: hp_to_drv?HP_GONE_DEVICE_GONE, x ->
        if :: x == g -> gone = true; bound = false :: else -> skip fi
    :: hp_to_drv?NEXT_EVENT, x -> g = x; gone = false; bound = false
    od
}

/* The surprise path of slot.c: fence(surprise) first, then the driver hears of it. */
inline hp_surprise()
{
    hp_call!DEVICE_FENCE, IOMMU_FENCE_SURPRISE; hp_reply?r;
    hp_to_drv!HP_GONE_DEVICE_GONE, g
}

/* power_off + power_off_done: the slot is off, then device_removed. */
inline hp_power_off()
{
    st = HP_ST_POWERING_OFF;
    atomic {
        dev_present = false; dev_alive = false; atc_valid = false;
        for (i : 0 .. NPASID - 1) { dev_uses[i] = 0 };   /* a powered-off device issues nothing */
        do
        :: hp_ev?_
        :: empty(hp_ev) -> break
        od
    };
    hp_call!DEVICE_REMOVED, IOMMU_FENCE_SURPRISE; hp_reply?r;
    st = HP_ST_OFF;
    asked = false
}

/* The slot state machine of libhotplug's slot.c, for one slot. */
proctype hotplug_server()
{
    mtype st = HP_ST_ON, r;
    byte g = 1, x, i;
    bool asked;               /* a control request was made for this occupant */
end_hp:
    do
    :: st == HP_ST_ON ->
        if
        :: hp_ev?HP_EV_ABSENT -> hp_surprise(); hp_power_off()
        :: !asked -> asked = true;                       /* HP_EV_REQ_POWER_OFF */
            hp_surprise(); hp_power_off()
        :: !asked -> asked = true;                       /* HP_EV_REQ_REMOVE: orderly */
            hp_call!DEVICE_FENCE, IOMMU_FENCE_ORDERLY; hp_reply?r;
            if
            :: r != IOMMU_HP_OK -> hp_call!DEVICE_FENCE, IOMMU_FENCE_SURPRISE; hp_reply?r
            :: else -> skip
            fi;
            hp_to_drv!HP_GONE_DEVICE_GOING, g;
            st = HP_ST_WAIT_DETACH;
            do
            :: drv_to_hp?HP_GONE_DETACHED, x ->          /* HP_EV_DETACHED */
                if :: x == g -> REACHED(8) break :: else -> skip fi
            :: hp_ev?HP_EV_ABSENT -> REACHED(7) hp_surprise(); break
            :: true -> REACHED(6) hp_to_drv!HP_GONE_DEVICE_GONE, g; break   /* HP_EV_DEADLINE */
            od;
            hp_power_off()
        :: drv_to_hp?HP_GONE_DETACHED, x -> skip          /* voluntary release, or stale */
        fi
    :: st == HP_ST_OFF && g < NGEN ->                     /* HP_EV_PRESENT: re-plug */
        st = HP_ST_POWERING_ON;
        st = HP_ST_WAIT_CONFIG;
        atomic { dev_present = true; dev_alive = true; dev_ats = false; atc_valid = false; dev_gen = g + 1 };
        hp_call!DEVICE_ADDED, IOMMU_FENCE_ORDERLY; hp_reply?r;
        g++;
        assert(g == gen);
        st = HP_ST_ON;
        hp_to_drv!NEXT_EVENT, g
    :: st == HP_ST_OFF && g >= NGEN -> break
    :: drv_to_hp?HP_GONE_DETACHED, x -> skip
    od
}

init
{
    byte i;
    atomic {
        for (i : 0 .. NPASID - 1) { pasid_state[i] = IOMMU_PASID_FREE };
        run iommu_server();
        run hotplug_server();
        run driver();
        run device()
    }
}
