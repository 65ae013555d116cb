/* core/apply/apply.c: a batch of other devices' change sets, verified then applied.
 * Verification runs before the write transaction, over the bytes as received (verify.c);
 * the write transaction then applies the sets in order, each by the receive rules
 * (rules.c) or, when it is a plain new set, in a key-ordered run (run.c), and each group's
 * watermarks right after its sets. When the batch stored a membership record, the sets held
 * back for their origin (held.c) whose origin became a member are applied as a batch of
 * their own. Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apply/causal.h"
#include "core/apply/held.h"
#include "core/apply/rules.h"
#include "core/apply/run.h"
#include "core/apply/verify.h"
#include "core/base/node.h"
#include "core/data/vv.h"
#include "core/member/access.h"
#include "core/member/member.h"
#include "crypto/devid.h"

/* State of one batch's write body; everything in it is reset on each run of the body. */
#define S_CULPRITS_MAX 16 /* sets one batch may leave out for hitting a cap, before it fails */
#define S_WAIT_ROUNDS  4  /* rounds over a batch's waiting sets at its end (each must apply one) */

typedef struct s_batch {
    rules_t w; /* what the rules share: the node, scratch, flags */
    verify_set_t *vs;
    size_t n;
    const apply_group_t *groups; /* NULL for held sets retried */
    size_t ngroups;
    run_t *run;            /* plain new sets waiting to be applied in key order */
    causal_batch_t proofs; /* the verified headers, for causal delivery (§5.3) */
} s_batch_t;

/* The first seq of the sets of mk's origin and incarnation in group g that were held,
 * rejected or wait (UINT64_MAX when none): its watermark stops below them, so that it never
 * covers a dot that is not here. A set of any origin in the group held or rejected stops
 * every watermark of the group (1: none applies): the sender left out the dots its sets
 * supersede, and a watermark over them would claim them held here while what superseded
 * them is not (a removed device's own sets past its cut, rejected: its bundle's watermark
 * covered a live write of a member that only its rejected write superseded, which this
 * device never took, and once a collection raised the floor above it, refused from every
 * repair: §8.4). */
static uint64_t
s_mark_limit(const s_batch_t *b, size_t g, const wire_mark_t *mk)
{
    uint64_t limit = UINT64_MAX;
    for (size_t i = 0; i < b->n; i++) {
        const verify_set_t *v = &b->vs[i];
        const apply_result_t *r = v->res;
        /* a removed device's header alone past its cut (no op: nothing the sender left
         * out supersedes on its account) stops nothing (§8.2, model seed 127) */
        bool header_alone = r->first_seq && v->set.partial && v->set.op_count == 0 &&
                            member_removed(b->w.m, v->h.origin);
        if (v->group == g && !header_alone &&
            (r->outcome == APPLY_HELD || r->outcome == APPLY_REJECTED)) {
            return 1;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        const verify_set_t *v = &b->vs[i];
        const apply_result_t *r = v->res;
        if (v->group != g || r->outcome != APPLY_WAITING) {
            continue;
        }
        if (memcmp(r->origin, mk->origin, WIRE_ORIGIN_LEN) == 0 &&
            (v->h.incarnation == mk->incarnation || r->first_seq == 0)) {
            /* (a set that did not decode has no incarnation: it stops the origin's marks) */
            uint64_t first = r->first_seq ? r->first_seq : 1;
            limit = first < limit ? first : limit;
        }
    }
    return limit;
}

/* Apply group g's watermarks: each raises its origin's vector to its seq when the origin is
 * a member but not this device (only its own commits move its own dots, §5.6: a raise would
 * make its next commit skip or overflow a seq) and its range starts within what is held;
 * but only up to the end of the latest signed header of that origin and incarnation held
 * here, and below the first set of it in the group that was held, rejected or waits. */
static mesh_err_t
s_apply_marks(s_batch_t *b, store_txn_t *st, size_t g)
{
    const apply_marks_t *am = b->groups[g].marks;
    char coll[MESH_COLL_MAX + 1];
    uint32_t cid = 0, oid = 0;
    if (!am || am->count == 0 || am->coll_len == 0 || am->coll_len > MESH_COLL_MAX ||
        node_coll_name_check(am->coll, am->coll_len,
                             am->coll_len == strlen(MEMBER_COLL) &&
                                 memcmp(am->coll, MEMBER_COLL, am->coll_len) == 0,
                             NULL, 0) != MESH_OK) {
        return MESH_OK; /* a name no set could carry creates no collection (PROTOCOL.md §1) */
    }
    memcpy(coll, am->coll, am->coll_len);
    coll[am->coll_len] = '\0';
    mesh_err_t err = MESH_OK;
    bool have_cid = false;
    for (size_t i = 0; err == MESH_OK && i < am->count; i++) {
        const wire_mark_t *mk = &am->marks[i];
        uint64_t limit = s_mark_limit(b, g, mk);
        uint64_t seq = mk->seq < limit ? mk->seq : limit - 1;
        bool member = member_is(b->w.m, mk->origin);
        if (!member && seq && member_removed(b->w.m, mk->origin)) {
            uint64_t cut = 0; /* a removed device's dots: up to its cut (§8.2) */
            err = held_mark_cut(st, mk->origin, mk->incarnation, coll, &cut);
            seq = seq < cut ? seq : cut;
            member = true;
        }
        if (err != MESH_OK || !member || seq == 0 ||
            memcmp(mk->origin, ident_public_key(b->w.m->ident), WIRE_ORIGIN_LEN) == 0) {
            continue; /* nothing is created for a mark that does not apply */
        }
        if (!have_cid) {
            /* A watermark never creates a collection: only a set does (before, 150,000
             * sections of marks alone made as many collections) */
            err = store_coll_id(st, coll, false, &cid);
            if (err == MESH_ENOTFOUND) {
                return MESH_OK;
            }
            have_cid = err == MESH_OK;
        }
        if (err == MESH_OK) {
            /* no origin record: no header of it is held, so the mark can claim nothing (and
             * never makes a record: marks of made-up incarnations once could, unbounded) */
            err = store_origin_id(st, mk->origin, mk->incarnation, false, &oid);
            if (err == MESH_ENOTFOUND) {
                err = MESH_OK;
                continue;
            }
        }
        if (err == MESH_OK) {
            err = vv_load(&b->w.vv, st, cid, oid);
        }
        /* A watermark may claim only dots this device can show were signed: up to the
         * last seq of the latest header of that origin and incarnation that it holds (a
         * stored set, or the run's about to be written), never beyond (a member's claim
         * of seq 1000000, or 2^64 - 1 of our own origin, moves nothing past it). */
        uint64_t end = 0;
        if (err == MESH_OK) {
            err = causal_signed_end(st, b->run, cid, oid, &end);
        }
        seq = seq < end ? seq : end;
        /* A range (from, seq] holds only above all that is held up to from: the base, or
         * the run's sets of the origin waiting to be written, which lie right above it (the
         * run raises the base to their end when it writes them: a raise past it now is
         * the same in the end). */
        uint64_t held = b->w.vv.base;
        if (err == MESH_OK && mk->from > held) {
            uint64_t run = run_end(b->run, cid, oid);
            held = run > held ? run : held;
        }
        if (err == MESH_OK && seq > b->w.vv.base && mk->from <= held) {
            vv_raise(&b->w.vv, seq);
            err = vv_save(&b->w.vv, st, cid, oid);
        }
    }
    return err;
}

/* Reject v, whose data hit a cap of the store (its apply returned MESH_ETOOBIG), and say so
 * in the log; a held set that does is dropped with it. */
static void
s_reject_culprit(mesh_t *m, verify_set_t *v, const char *cap)
{
    char id[MESH_ID_TEXT_LEN + 1];
    devid_format(v->h.origin, id);
    verify_reject(v->res, MESH_ETOOBIG,
                  "a set of %s (seqs %llu..%llu) passes a cap of the store (%s): left out", id,
                  (unsigned long long)v->h.first_seq,
                  (unsigned long long)(v->h.first_seq + v->h.count - 1), cap ? cap : "?");
    node_log(m, MESH_LOG_WARN, "%s", v->res->why);
}

/* Would a set of coll make one collection too many? (Collections are never removed: the
 * next number to give says how many there are.) */
static bool
s_colls_full(store_txn_t *st, const char *coll)
{
    uint32_t cid = 0;
    uint64_t next = 0;
    return store_coll_id(st, coll, false, &cid) == MESH_ENOTFOUND &&
           store_meta_get_u64(st, "next_cid", &next) == MESH_OK && next > MESH_COLLS_MAX;
}

/* Does v wait (its context names a dot not held: causal delivery, §5.3)? Then it is marked
 * APPLY_WAITING with the dot it waits for. A set of a non-member is held back before its
 * context matters. */
static mesh_err_t
s_check_waits(s_batch_t *b, store_txn_t *st, verify_set_t *v, const run_t *r, bool *waits)
{
    wire_dot_t d;
    bool ready = true;
    *waits = false;
    if (!member_is(b->w.m, v->h.origin)) {
        return MESH_OK;
    }
    mesh_err_t err = causal_ready(&b->w, st, v, r, &b->proofs, &ready, &d);
    if (err != MESH_OK || ready) {
        return err;
    }
    /* Its collection is made, as a set of a member makes it: the batch's watermarks may
     * cover the dot it waits for, and a watermark never makes a collection. */
    uint32_t cid = 0;
    err = rules_coll_id(&b->w, st, v->coll, &cid);
    if (err == MESH_OK) {
        err = causal_note_waiting(st, cid, v);
    }
    if (err != MESH_OK) {
        return err;
    }
    char id[MESH_ID_TEXT_LEN + 1];
    devid_format(d.origin, id);
    v->res->outcome = APPLY_WAITING;
    snprintf(v->res->why, sizeof v->res->why,
             "waits for seq %llu of %s (incarnation %016llx), which its context names",
             (unsigned long long)d.seq, id, (unsigned long long)d.incarnation);
    *waits = true;
    return MESH_OK;
}

/* err from handling v: a cap its data hit (MESH_ETOOBIG: the set would pass a cap of the
 * store, or its collection would be one too many) makes v the batch's culprit, which
 * s_batch leaves out, unless one was found already. Returns err. */
static mesh_err_t
s_blame(s_batch_t *b, verify_set_t *v, mesh_err_t err)
{
    if (err == MESH_ETOOBIG && !b->w.culprit) {
        b->w.culprit = v;
    }
    return err;
}

/* Is v a member's set of a collection whose access list does not hold its signer (§8.3)?
 * It is then rejected (never applied, never counted; a held one leaves the list). */
static mesh_err_t
s_check_access(s_batch_t *b, store_txn_t *st, verify_set_t *v, bool *refused)
{
    access_list_t list = {0};
    *refused = false;
    if (strcmp(v->coll, MEMBER_COLL) == 0 || !member_is(b->w.m, v->h.origin)) {
        return MESH_OK;
    }
    mesh_err_t err = access_list_load(st, v->coll, &list);
    *refused = err == MESH_OK && !access_list_has(&list, v->h.origin);
    access_list_release(&list);
    uint32_t cid = 0, oid = 0;
    store_set_t held;
    if (*refused && store_coll_id(st, v->coll, false, &cid) == MESH_OK &&
        store_origin_id(st, v->h.origin, v->h.incarnation, false, &oid) == MESH_OK &&
        store_set_get(st, cid, oid, v->h.first_seq, &held) == MESH_OK) {
        *refused = false; /* held from before: known, not refused */
    }
    if (*refused) {
        char id[MESH_ID_TEXT_LEN + 1];
        devid_format(v->h.origin, id);
        verify_reject(v->res, MESH_EUNPAIRED,
                      "signed by %s, which the access list of \"%s\" does not hold", id, v->coll);
        err = v->held_id ? store_held_del(st, v->held_id) : MESH_OK;
    }
    return err;
}

/* Apply v by the rules (not in a run); a held set that is applied leaves the list. */
static mesh_err_t
s_apply_one(s_batch_t *b, store_txn_t *st, verify_set_t *v)
{
    mesh_err_t err = s_blame(b, v, rules_apply_set(&b->w, st, v));
    if (err == MESH_OK && v->held_id && v->res->outcome != APPLY_HELD) {
        err = store_held_del(st, v->held_id);
    }
    return err;
}

/* The waiting sets again, now that the batch's other sets and watermarks are in: a set
 * may name a dot that came after it (another origin's, later in the batch) or that only a
 * watermark covers. Each round must apply one; then the watermarks that waited for them. */
static mesh_err_t
s_retry_waiting(s_batch_t *b, store_txn_t *st)
{
    mesh_err_t err = MESH_OK;
    for (int round = 0; err == MESH_OK && round < S_WAIT_ROUNDS; round++) {
        bool progress = false;
        for (size_t i = 0; err == MESH_OK && i < b->n; i++) {
            verify_set_t *v = &b->vs[i];
            bool waits = false;
            if (v->res->outcome != APPLY_WAITING) {
                continue;
            }
            v->res->outcome = APPLY_NEW;
            v->res->why[0] = '\0';
            err = s_blame(b, v, s_check_waits(b, st, v, NULL, &waits));
            if (err == MESH_OK && !waits) {
                err = s_apply_one(b, st, v);
                progress = true;
            }
        }
        if (!progress) {
            break;
        }
        for (size_t g = 0; err == MESH_OK && g < b->ngroups; g++) {
            err = s_apply_marks(b, st, g);
        }
    }
    return err;
}

/* The write transaction's body: the sets in order, each group's watermarks after its sets.
 * It may run again from the start (after the map grew): it resets what it sets. */
static mesh_err_t
s_batch_body(store_txn_t *st, void *arg)
{
    s_batch_t *b = arg;
    size_t g = 0; /* groups before g have their watermarks applied */
    b->w.members_changed = false;
    run_reset(b->run);
    for (size_t i = 0; i < b->n; i++) {
        verify_set_t *v = &b->vs[i];
        /* A group's watermarks go right after its sets, before the next group's, as when
         * each group is applied alone: a watermark may cover a dot its sets lack (a
         * superseded op, left out of a partial set), and the sets of the next groups would
         * otherwise pile up in the vector's capped extras above that gap. */
        for (; g < b->ngroups && g < v->group; g++) {
            mesh_err_t err = s_apply_marks(b, st, g);
            if (err != MESH_OK) {
                return err;
            }
        }
        if (v->res->outcome == APPLY_REJECTED && v->res->err != MESH_EFORK) {
            continue; /* failed verification */
        }
        /* Reset what a previous run of this body (after the map grew) left. */
        v->res->outcome = APPLY_NEW;
        v->res->err = MESH_OK;
        v->res->ops_stored = v->res->ops_old = v->res->ops_superseded = 0;
        bool taken = false;
        if (b->w.colls_full && s_colls_full(st, v->coll)) {
            /* (a round for each would pass S_CULPRITS_MAX) */
            s_reject_culprit(b->w.m, v, RULES_CAP_COLLS);
            continue;
        }
        bool waits = false, refused = false;
        mesh_err_t err = s_check_access(b, st, v, &refused);
        if (err != MESH_OK) {
            return err;
        }
        if (refused) {
            continue;
        }
        err = s_blame(b, v, s_check_waits(b, st, v, b->run, &waits));
        if (err != MESH_OK) {
            return err;
        }
        if (waits) {
            continue; /* retried at the end of the batch */
        }
        if (!b->w.repair) { /* (a repair's sets are covered by the vector: never plain) */
            err = s_blame(b, v, run_add(b->run, &b->w, st, v, &taken));
        }
        if (err != MESH_OK) {
            return err;
        }
        if (taken) {
            continue;
        }
        err = s_apply_one(b, st, v);
        if (err != MESH_OK) {
            return err;
        }
    }
    mesh_err_t ferr = run_flush(b->run, &b->w, st);
    if (ferr != MESH_OK) {
        return ferr;
    }
    for (; g < b->ngroups; g++) {
        mesh_err_t err = s_apply_marks(b, st, g);
        if (err != MESH_OK) {
            return err;
        }
    }
    return s_retry_waiting(b, st);
}

static mesh_err_t s_retry_held(mesh_t *m, int depth);

/* Verify and apply the groups, or (groups NULL) the held sets h. */
static mesh_err_t
s_batch(mesh_t *m, const apply_group_t *groups, size_t ngroups, const held_t *h,
        apply_result_t *held_results, int depth, bool repair)
{
    s_batch_t b = {.w.m = m, .w.repair = repair, .groups = groups, .ngroups = groups ? ngroups : 0};
    mesh_err_t err = MESH_OK;
    size_t n = h ? h->n : 0;
    for (size_t g = 0; g < b.ngroups; g++) {
        n += groups[g].n;
    }
    b.n = n;
    vv_init(&b.w.vv);
    b.vs = calloc(n ? n : 1, sizeof *b.vs);
    b.w.item = malloc(sizeof *b.w.item);
    if (!b.vs || !b.w.item || run_new(n, &b.run) != MESH_OK) {
        err = MESH_ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t g = 0; g < b.ngroups; g++) {
        for (size_t i = 0; i < groups[g].n; i++, k++) {
            if (groups[g].checked &&
                verify_borrow(&b.vs[k], groups[g].checked[i], groups[g].sets[i], groups[g].lens[i],
                              &groups[g].results[i])) {
                b.vs[k].group = g;
                continue;
            }
            b.vs[k] = (verify_set_t){.bytes = groups[g].sets[i],
                                     .len = groups[g].lens[i],
                                     .res = &groups[g].results[i],
                                     .group = g};
        }
    }
    for (size_t i = 0; h && i < h->n; i++, k++) {
        b.vs[k] = (verify_set_t){
            .bytes = h->sets[i], .len = h->lens[i], .res = &held_results[i], .held_id = h->ids[i]};
    }
    verify_all(b.vs, n);
    err = causal_batch_init(&b.proofs, b.vs, n);
    if (err != MESH_OK) {
        goto out;
    }
    /* A set whose data hits a cap (more versions of one key, or dots above a gap, than the
     * store keeps) is rejected alone, and the batch runs again without it: one peer's set
     * never fails the honest sets beside it. Each round leaves one set out; past
     * S_CULPRITS_MAX rounds the batch fails (the work stays a small multiple of the
     * batch's). */
    for (int round = 0;; round++) {
        b.w.culprit = NULL;
        b.w.cap = NULL;
        err = store_write(m->store, s_batch_body, &b);
        if (err != MESH_ETOOBIG || !b.w.culprit || round == S_CULPRITS_MAX) {
            break;
        }
        s_reject_culprit(m, b.w.culprit, b.w.cap);
    }
    if (err != MESH_OK) {
        node_fail_store(m, err, "apply");
        goto out;
    }
    if (b.w.members_changed) {
        err = member_reload(m);
        if (err == MESH_OK) {
            err = s_retry_held(m, depth + 1);
        }
        if (err == MESH_OK) {
            err = held_update(m, b.vs, b.n);
        }
    }
out:
    for (size_t i = 0; b.vs && i < n; i++) {
        verify_set_release(&b.vs[i]);
    }
    free(b.vs);
    free(b.w.item);
    run_free(b.run);
    causal_batch_release(&b.proofs);
    vv_release(&b.w.vv);
    return err;
}

/* Apply the held sets whose origin is now a member. */
static mesh_err_t
s_retry_held(mesh_t *m, int depth)
{
    held_t h = {0};
    if (depth > 64) {
        return MESH_OK; /* each level needs a membership change: it cannot go on for long */
    }
    mesh_err_t err = held_load(m, &h);
    apply_result_t *res = h.n ? calloc(h.n, sizeof *res) : NULL;
    if (err == MESH_OK && h.n && !res) {
        err = MESH_ENOMEM;
    }
    if (err == MESH_OK && h.n) {
        err = s_batch(m, NULL, 0, &h, res, depth, false);
        for (size_t i = 0; err == MESH_OK && i < h.n; i++) {
            node_log(m, res[i].outcome == APPLY_REJECTED ? MESH_LOG_WARN : MESH_LOG_INFO,
                     "held-back set seq %llu: %s", (unsigned long long)res[i].first_seq,
                     res[i].outcome == APPLY_REJECTED ? res[i].why : "applied");
        }
    }
    free(res);
    held_release(&h);
    return err;
}

mesh_err_t
apply_groups(mesh_t *m, const apply_group_t *groups, size_t ngroups)
{
    if (!m || (ngroups && !groups)) {
        return MESH_EINVAL;
    }
    for (size_t g = 0; g < ngroups; g++) {
        if (groups[g].n && (!groups[g].sets || !groups[g].lens || !groups[g].results)) {
            return MESH_EINVAL;
        }
    }
    return s_batch(m, groups, ngroups, NULL, NULL, 0, false);
}

mesh_err_t
apply_repair(mesh_t *m, const uint8_t *const *sets, const size_t *lens, size_t n,
             apply_result_t *results)
{
    apply_group_t g = {.sets = sets, .lens = lens, .n = n, .results = results};
    if (!m || (n && (!sets || !lens || !results))) {
        return MESH_EINVAL;
    }
    return s_batch(m, &g, 1, NULL, NULL, 0, true);
}

mesh_err_t
apply_batch(mesh_t *m, const uint8_t *const *sets, const size_t *lens, size_t n,
            const apply_marks_t *marks, apply_result_t *results)
{
    apply_group_t g = {.sets = sets, .lens = lens, .n = n, .marks = marks, .results = results};
    return apply_groups(m, &g, 1);
}

mesh_err_t
apply_held_retry(mesh_t *m)
{
    return m ? s_retry_held(m, 0) : MESH_EINVAL;
}
