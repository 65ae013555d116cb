/* core/bundle/import.c: taking bundles in. A bundle is decoded once: by import_check (on
 * the checker thread, with each set's verification) or, without a check, by the import;
 * its sections are applied in order, in write transactions of bounded size, and what
 * became of each set is counted in the report (docs/PROTOCOL.md §3.5, §9, §11.2).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/bundle/import.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/testhook.h"
#include "core/member/member.h"
#include "crypto/devid.h"

#define S_LOG_REJECTED     8u          /* rejected sets of one section logged one by one */
#define S_IMPORT_TXN_BYTES (64u << 20) /* set bytes applied in one write transaction */
#define S_IMPORT_TXN_SETS  65536u      /* and sets: each costs its check state (~1 KiB) */
#define S_ENDS_TXN         ((size_t)1 << (sizeof(size_t) * 8 - 1)) /* flag on a piece's byte count */

/* Append one line about a set that was not applied to the report's text. */
static mesh_err_t
s_report_line(wire_buf_t *text, const char *coll, const apply_result_t *r)
{
    char line[1400], id[MESH_ID_TEXT_LEN + 1], name[4 * MESH_COLL_MAX + 1];
    devid_format(r->origin, id);
    node_escape(coll, strlen(coll), name, sizeof name); /* one line, whatever the name holds */
    int n = snprintf(line, sizeof line, "%s '%s' from %s seq %llu..%llu: %s\n",
                     r->outcome == APPLY_HELD      ? "held back"
                     : r->outcome == APPLY_WAITING ? "waiting"
                                                   : "rejected",
                     name, id, (unsigned long long)r->first_seq,
                     (unsigned long long)(r->first_seq + (r->count ? r->count - 1 : 0)),
                     r->outcome == APPLY_HELD ? "origin is not a member (yet)" : r->why);
    if (n <= 0) {
        return MESH_OK;
    }
    return wire_buf_append(text, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Count what became of the sets of one group (a bundle section) in the report. */
static mesh_err_t
s_report_group(mesh_t *m, const wire_section_t *sec, const apply_result_t *res,
               mesh_import_report_t *rep, wire_buf_t *text)
{
    char coll[MESH_COLL_MAX + 1];
    mesh_err_t err = MESH_OK;
    size_t rejected = 0, waiting = 0;
    memcpy(coll, sec->coll, sec->coll_len);
    coll[sec->coll_len] = '\0';
    for (size_t i = 0; err == MESH_OK && i < sec->set_count; i++) {
        switch (res[i].outcome) {
        case APPLY_NEW:
            rep->sets_new++;
            break;
        case APPLY_KNOWN:
            rep->sets_known++;
            break;
        case APPLY_HELD:
            rep->sets_held++;
            err = s_report_line(text, coll, &res[i]);
            break;
        case APPLY_WAITING:
            rep->sets_waiting++;
            err = s_report_line(text, coll, &res[i]);
            if (++waiting <= S_LOG_REJECTED) {
                node_log(m, MESH_LOG_INFO, "a set in '%s' %s", coll, res[i].why);
            }
            break;
        case APPLY_REJECTED:
            rep->sets_rejected++;
            err = s_report_line(text, coll, &res[i]);
            if (++rejected <= S_LOG_REJECTED) {
                node_log(m, MESH_LOG_INFO, "rejected a set in '%s': %s", coll, res[i].why);
            }
            break;
        }
        rep->ops_stored += res[i].ops_stored;
    }
    if (waiting > S_LOG_REJECTED) {
        node_log(m, MESH_LOG_INFO, "%zu more sets in '%s' wait (the first %u are above)",
                 waiting - S_LOG_REJECTED, coll, S_LOG_REJECTED);
    }
    if (rejected > S_LOG_REJECTED) {
        node_log(m, MESH_LOG_INFO, "rejected %zu more sets in '%s' (the first %u are above)",
                 rejected - S_LOG_REJECTED, coll, S_LOG_REJECTED);
    }
    return err;
}

/* Apply the groups in order, in write transactions of at most S_IMPORT_TXN_BYTES of sets
 * and S_IMPORT_TXN_SETS sets (at least one set each; a large bundle would otherwise outgrow
 * what one LMDB transaction may dirty, and its sets' check state the memory), and ending after
 * membership sets. A group cut in pieces keeps its watermarks for its last piece, so they are
 * applied only with, or after, all its sets. */
static mesh_err_t
s_apply_in_txns(mesh_t *m, const apply_group_t *groups, size_t ngroups, size_t nsets)
{
    /* test hook: smaller pieces */
    size_t limit = (size_t)testhook_number(TESTHOOK_IMPORT_TXN_BYTES, S_IMPORT_TXN_BYTES);
    apply_group_t *pieces = calloc(ngroups + nsets + 1, sizeof *pieces);
    size_t *bytes = calloc(ngroups + nsets + 1, sizeof *bytes);
    size_t np = 0;
    mesh_err_t err = pieces && bytes ? MESH_OK : MESH_ENOMEM;
    for (size_t g = 0; err == MESH_OK && g < ngroups; g++) {
        size_t i = 0;
        do { /* a group with no sets still carries its watermarks */
            apply_group_t *p = &pieces[np];
            *p = groups[g];
            p->sets = groups[g].n ? groups[g].sets + i : NULL;
            p->lens = groups[g].n ? groups[g].lens + i : NULL;
            p->results = groups[g].n ? groups[g].results + i : NULL;
            p->checked = groups[g].n && groups[g].checked ? groups[g].checked + i : NULL;
            p->n = 0;
            bytes[np] = 0;
            while (i < groups[g].n && (p->n == 0 || (bytes[np] + groups[g].lens[i] <= limit &&
                                                     p->n < S_IMPORT_TXN_SETS))) {
                bytes[np] += groups[g].lens[i++];
                p->n++;
            }
            p->marks = i == groups[g].n ? groups[g].marks : NULL;
            /* sets of "_mesh" end their transaction: the next ones may be of a device
             * they make a member, which only a committed membership lets in */
            bytes[np] |=
                groups[g].n && groups[g].marks &&
                        groups[g].marks->coll_len == strlen(MEMBER_COLL) &&
                        memcmp(groups[g].marks->coll, MEMBER_COLL, groups[g].marks->coll_len) == 0
                    ? S_ENDS_TXN
                    : 0;
            np++;
        } while (i < groups[g].n);
    }
    for (size_t first = 0; err == MESH_OK && first < np;) {
        size_t end = first + 1, total = bytes[first] & ~S_ENDS_TXN, sets = pieces[first].n;
        while (end < np && !(bytes[end - 1] & S_ENDS_TXN) &&
               total + (bytes[end] & ~S_ENDS_TXN) <= limit &&
               sets + pieces[end].n <= S_IMPORT_TXN_SETS) {
            sets += pieces[end].n;
            total += bytes[end++] & ~S_ENDS_TXN;
        }
        err = apply_groups(m, pieces + first, end - first);
        first = end;
    }
    free(pieces);
    free(bytes);
    return err;
}

/* A bundle decoded and its sets verified ahead, in the order the bundle carries them. */
struct import_checked {
    const uint8_t *bundle; /* the bytes checked (borrowed) */
    size_t len;
    wire_doc_t doc; /* borrows them */
    apply_checked_t **sets;
    size_t n;
};

mesh_err_t
import_check(const uint8_t *bundle, size_t len, import_checked_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!bundle || !out) {
        return MESH_EINVAL;
    }
    import_checked_t *c = calloc(1, sizeof *c);
    if (!c) {
        return MESH_ENOMEM;
    }
    c->bundle = bundle;
    c->len = len;
    mesh_err_t err = wire_doc_decode(bundle, len, false, &c->doc);
    size_t nsets = 0;
    for (size_t s = 0; err == MESH_OK && s < c->doc.count; s++) {
        nsets += c->doc.sections[s].set_count;
    }
    if (err == MESH_OK) {
        c->sets = calloc(nsets ? nsets : 1, sizeof *c->sets);
        err = c->sets ? MESH_OK : MESH_ENOMEM;
    }
    for (size_t s = 0; err == MESH_OK && s < c->doc.count; s++) {
        const wire_section_t *sec = &c->doc.sections[s];
        for (size_t i = 0; err == MESH_OK && i < sec->set_count; i++) {
            err = apply_check(sec->sets[i], sec->set_lens[i], &c->sets[c->n]);
            c->n += err == MESH_OK;
        }
    }
    if (err != MESH_OK) {
        import_checked_free(c);
        return err;
    }
    *out = c;
    return MESH_OK;
}

const wire_doc_t *
import_checked_doc(const import_checked_t *c)
{
    return c ? &c->doc : NULL;
}

void
import_checked_free(import_checked_t *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        apply_checked_free(c->sets[i]);
    }
    free(c->sets);
    wire_doc_release(&c->doc);
    free(c);
}

/* The check of bundles[i] in checked, if any: one made over these very bytes (a check of
 * other bytes is never taken). */
static const import_checked_t *
s_check_of(const import_checked_t *const *checked, size_t i, const uint8_t *bundle, size_t len)
{
    const import_checked_t *c = checked ? checked[i] : NULL;
    return c && c->bundle == bundle && c->len == len ? c : NULL;
}

/* The decoded bundles: each checked one's own doc, else bundles[i] decoded into mine[i].
 * Errors: the decoder's (with the handle's detail): those decoded so far stay in mine. */
static mesh_err_t
s_docs(mesh_t *m, const uint8_t *const *bundles, const size_t *lens,
       const import_checked_t *const *checked, size_t n, const wire_doc_t **docs, wire_doc_t *mine)
{
    for (size_t i = 0; i < n; i++) {
        const import_checked_t *c = s_check_of(checked, i, bundles[i], lens[i]);
        if (c) {
            docs[i] = &c->doc;
            continue;
        }
        mesh_err_t err = wire_doc_decode(bundles[i], lens[i], false, &mine[i]);
        if (err != MESH_OK) {
            return node_fail(m, err, "not a bundle, or a damaged one (%s)", mesh_strerror(err));
        }
        docs[i] = &mine[i];
    }
    return MESH_OK;
}

mesh_err_t
import_many(mesh_t *m, const uint8_t *const *bundles, const size_t *lens,
            const import_checked_t *const *checked, size_t n, mesh_import_report_t *report)
{
    const wire_doc_t **docs = calloc(n ? n : 1, sizeof *docs);
    wire_doc_t *mine = calloc(n ? n : 1, sizeof *mine); /* zeroed: releasing one is a no-op */
    size_t ngroups = 0, nsets = 0;
    apply_group_t *groups = NULL;
    apply_result_t *res = NULL;
    apply_marks_t *marks = NULL;
    wire_buf_t text;
    mesh_err_t err = docs && mine ? MESH_OK : MESH_ENOMEM;
    wire_buf_init(&text);
    memset(report, 0, sizeof *report);
    if (err == MESH_OK) {
        err = s_docs(m, bundles, lens, checked, n, docs, mine);
    }
    for (size_t d = 0; err == MESH_OK && d < n; d++) {
        ngroups += docs[d]->count;
        for (size_t s = 0; s < docs[d]->count; s++) {
            nsets += docs[d]->sections[s].set_count;
        }
    }
    if (err == MESH_OK) {
        groups = calloc(ngroups ? ngroups : 1, sizeof *groups);
        marks = calloc(ngroups ? ngroups : 1, sizeof *marks);
        res = calloc(nsets ? nsets : 1, sizeof *res);
        err = groups && marks && res ? MESH_OK : MESH_ENOMEM;
    }
    size_t g = 0, r = 0;
    for (size_t d = 0; err == MESH_OK && d < n; d++) {
        /* a check's sets line up with its own doc */
        const import_checked_t *c = s_check_of(checked, d, bundles[d], lens[d]);
        size_t at = 0;
        for (size_t s = 0; s < docs[d]->count; s++, g++) {
            const wire_section_t *sec = &docs[d]->sections[s];
            marks[g] = (apply_marks_t){sec->coll, sec->coll_len, sec->marks, sec->mark_count};
            groups[g] =
                (apply_group_t){.sets = sec->sets,
                                .lens = sec->set_lens,
                                .n = sec->set_count,
                                .marks = &marks[g],
                                .results = &res[r],
                                .checked = c && at + sec->set_count <= c->n ? c->sets + at : NULL};
            r += sec->set_count;
            at += sec->set_count;
        }
    }
    if (err == MESH_OK) {
        err = s_apply_in_txns(m, groups, ngroups, nsets);
    }
    g = 0;
    for (size_t d = 0; err == MESH_OK && d < n; d++) {
        for (size_t s = 0; err == MESH_OK && s < docs[d]->count; s++, g++) {
            err = s_report_group(m, &docs[d]->sections[s], groups[g].results, report, &text);
        }
    }
    for (size_t d = 0; mine && d < n; d++) {
        wire_doc_release(&mine[d]);
    }
    free(mine);
    free(docs);
    free(groups);
    free(marks);
    free(res);
    if (err == MESH_OK && text.len) {
        err = wire_buf_append(&text, "", 1);
        report->text = (char *)text.data;
        text.data = NULL;
    }
    wire_buf_release(&text);
    return err;
}

/* Does field fit whole in the caller's report (of report->size bytes)? */
#define S_REPORT_FITS(r, field)                                                                    \
    ((r)->size >= offsetof(mesh_import_report_t, field) + sizeof(r)->field)

/* Copy each field of full that fits in the caller's report (which may be older and
 * smaller than ours); report->size stays. Returns whether text fits. */
static bool
s_report_out(mesh_import_report_t *report, const mesh_import_report_t *full)
{
    if (S_REPORT_FITS(report, sets_new)) {
        report->sets_new = full->sets_new;
    }
    if (S_REPORT_FITS(report, sets_known)) {
        report->sets_known = full->sets_known;
    }
    if (S_REPORT_FITS(report, sets_held)) {
        report->sets_held = full->sets_held;
    }
    if (S_REPORT_FITS(report, sets_rejected)) {
        report->sets_rejected = full->sets_rejected;
    }
    if (S_REPORT_FITS(report, ops_stored)) {
        report->ops_stored = full->ops_stored;
    }
    if (S_REPORT_FITS(report, sets_waiting)) {
        report->sets_waiting = full->sets_waiting;
    }
    if (S_REPORT_FITS(report, text)) {
        report->text = full->text;
        return true;
    }
    return false;
}

mesh_err_t
mesh_import(mesh_t *m, const void *bundle, size_t len, mesh_import_report_t *report)
{
    mesh_import_report_t full;
    memset(&full, 0, sizeof full);
    if (!report || report->size < sizeof report->size) {
        return MESH_EINVAL;
    }
    (void)s_report_out(report, &full);
    if (!m || !bundle) {
        return MESH_EINVAL;
    }
    const uint8_t *b = bundle;
    mesh_err_t err = import_many(m, &b, &len, NULL, 1, &full);
    if (!s_report_out(report, &full)) {
        mesh_free(full.text); /* the caller's report has no room for it */
    }
    return err;
}
