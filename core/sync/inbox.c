/* core/sync/inbox.c: the received batches not yet committed, in a fixed array in arrival order;
 * each one's check is a job of the checker thread from the moment it is queued. The bytes
 * it holds are charged with the memory each batch's sets and ops cost beside its bytes.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/inbox.h"

#include <stdlib.h>
#include <string.h>

#include "core/sync/checker.h"
#include "core/wire/doc.h"

typedef struct s_entry {
    inbox_batch_t b;
    uint8_t *copy;
    checker_job_t *check;   /* NULL: none (no memory for a job) */
    import_checked_t *here; /* without a job: the check made by inbox_checked */
    bool tried;             /* inbox_checked made it (or failed to) */
    size_t charge;          /* inbox_charge */
} s_entry_t;

struct inbox {
    checker_t *checker;
    s_entry_t *q;
    size_t n, max;
    size_t bytes, max_bytes; /* charged (inbox_charge) */
    size_t frame_bytes;      /* the batches' own bytes, which make the groups */
    size_t group_batches, group_bytes;
    int64_t wait_ms;
    int64_t first_ms; /* when the queue's wait began: the first batch, or the last commit */
};

mesh_err_t
inbox_open(size_t max, size_t max_bytes, size_t group_batches, size_t group_bytes, int64_t wait_ms,
           inbox_t **out)
{
    *out = NULL;
    if (max == 0 || max_bytes == 0 || group_batches == 0 || group_batches > max) {
        return MESH_EINVAL;
    }
    inbox_t *in = calloc(1, sizeof *in);
    if (!in) {
        return MESH_ENOMEM;
    }
    in->q = calloc(max, sizeof *in->q);
    mesh_err_t err = in->q ? checker_open(&in->checker) : MESH_ENOMEM;
    if (err != MESH_OK) {
        free(in->q);
        free(in);
        return err;
    }
    in->max = max;
    in->max_bytes = max_bytes;
    in->group_batches = group_batches;
    in->group_bytes = group_bytes;
    in->wait_ms = wait_ms;
    *out = in;
    return MESH_OK;
}

static void
s_entry_free(s_entry_t *e)
{
    checker_job_free(e->check); /* (waits for it: the checker reads the copy) */
    import_checked_free(e->here);
    free(e->copy);
}

void
inbox_close(inbox_t *in)
{
    if (!in) {
        return;
    }
    for (size_t i = 0; i < in->n; i++) {
        s_entry_free(&in->q[i]);
    }
    checker_close(in->checker);
    free(in->q);
    free(in);
}

size_t
inbox_count(const inbox_t *in)
{
    return in->n;
}

bool
inbox_full(const inbox_t *in)
{
    return in->n == in->max || in->bytes >= in->max_bytes;
}

size_t
inbox_charge(const uint8_t *data, size_t len)
{
    size_t sets = 0, ops = 0;
    if (wire_bundle_count(data, len, &sets, &ops) != MESH_OK) {
        return len; /* it fails its decode: no set costs anything */
    }
    /* (no overflow: sets and ops are fewer than len bytes, len a frame's) */
    return len + sets * INBOX_SET_BYTES + ops * INBOX_OP_BYTES;
}

/* The queue's room, and the sender's share of it: one sender alone may fill at most
 * 1/INBOX_SHARE of it, so that another's batch never waits behind a whole queue of its
 * (a member's worst frames take ~2 s each to check and apply). */
static bool
s_fits(const inbox_t *in, const void *from, size_t charge)
{
    size_t mine = 0;
    for (size_t i = 0; i < in->n; i++) {
        mine += in->q[i].b.from == from ? in->q[i].charge : 0;
    }
    size_t share = in->max_bytes / INBOX_SHARE;
    return in->n == 0 ||
           (in->n < in->max && in->bytes <= in->max_bytes && charge <= in->max_bytes - in->bytes &&
            (mine == 0 || (mine <= share && charge <= share - mine)));
}

bool
inbox_fits(const inbox_t *in, const void *from, const uint8_t *data, size_t len)
{
    return s_fits(in, from, inbox_charge(data, len));
}

size_t
inbox_bytes(const inbox_t *in)
{
    return in->bytes;
}

/* Queue buf (malloc'd, len bytes, now the inbox's) charged charge, and start its check. */
static void
s_queue(inbox_t *in, void *from, uint64_t id, uint8_t *buf, size_t len, bool more, int64_t now_ms,
        size_t charge)
{
    checker_job_t *check = NULL;
    if (checker_submit(in->checker, buf, len, &check) != MESH_OK) {
        check = NULL; /* inbox_checked checks it then */
    }
    if (in->n == 0) {
        in->first_ms = now_ms;
    }
    in->q[in->n++] = (s_entry_t){{from, id, buf, len, more}, buf, check, NULL, false, charge};
    in->bytes += charge;
    in->frame_bytes += len;
}

mesh_err_t
inbox_add(inbox_t *in, void *from, uint64_t id, const uint8_t *data, size_t len, bool more,
          int64_t now_ms)
{
    size_t charge = inbox_charge(data, len);
    if (!s_fits(in, from, charge)) {
        return MESH_EBUSY;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return MESH_ENOMEM;
    }
    memcpy(copy, data, len);
    s_queue(in, from, id, copy, len, more, now_ms, charge);
    return MESH_OK;
}

mesh_err_t
inbox_adopt(inbox_t *in, void *from, uint64_t id, uint8_t *buf, size_t len, bool more,
            int64_t now_ms)
{
    size_t charge = inbox_charge(buf, len);
    if (!s_fits(in, from, charge)) {
        return MESH_EBUSY;
    }
    s_queue(in, from, id, buf, len, more, now_ms, charge);
    return MESH_OK;
}

bool
inbox_due(const inbox_t *in, int64_t now_ms)
{
    return in->n && (in->frame_bytes >= in->group_bytes || in->n >= in->group_batches ||
                     !in->q[in->n - 1].b.more || now_ms - in->first_ms >= in->wait_ms);
}

int64_t
inbox_wait_ms(const inbox_t *in, int64_t now_ms)
{
    if (!in->n || inbox_due(in, now_ms)) {
        return 0;
    }
    return in->first_ms + in->wait_ms - now_ms;
}

size_t
inbox_group(const inbox_t *in)
{
    size_t n = 0, bytes = 0;
    while (n < in->n && n < in->group_batches && (n == 0 || bytes < in->group_bytes)) {
        bytes += in->q[n++].b.len;
    }
    return n;
}

const inbox_batch_t *
inbox_at(const inbox_t *in, size_t i)
{
    return i < in->n ? &in->q[i].b : NULL;
}

const import_checked_t *
inbox_checked(inbox_t *in, size_t i)
{
    if (i >= in->n) {
        return NULL;
    }
    s_entry_t *e = &in->q[i];
    if (e->check) {
        return checker_wait(e->check);
    }
    if (!e->tried && import_check(e->copy, e->b.len, &e->here) != MESH_OK) {
        e->here = NULL; /* its import decodes and verifies it then */
    }
    e->tried = true;
    return e->here;
}

size_t
inbox_take(inbox_t *in, size_t i, uint8_t **data, struct checker_job **job, import_checked_t **own)
{
    s_entry_t *e = &in->q[i];
    *data = e->copy;
    *job = e->check;
    *own = e->here;
    e->copy = NULL;
    e->check = NULL;
    e->here = NULL;
    e->b.data = NULL;
    return e->charge;
}

void
inbox_shift(inbox_t *in, size_t n, int64_t now_ms)
{
    n = n < in->n ? n : in->n;
    for (size_t i = 0; i < n; i++) {
        in->bytes -= in->q[i].charge;
        in->frame_bytes -= in->q[i].b.len;
        s_entry_free(&in->q[i]);
    }
    memmove(in->q, in->q + n, (in->n - n) * sizeof *in->q);
    in->n -= n;
    in->first_ms = now_ms;
}

void
inbox_forget(inbox_t *in, const void *from)
{
    size_t kept = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (in->q[i].b.from == from) {
            in->bytes -= in->q[i].charge;
            in->frame_bytes -= in->q[i].b.len;
            s_entry_free(&in->q[i]);
        } else {
            in->q[kept++] = in->q[i];
        }
    }
    in->n = kept;
}
