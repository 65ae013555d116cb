/* core/sync/status.c: what the node reports about its sync: HOME/status, rewritten by the
 * loop thread every LOOP_STATUS_MS for `meshctl status` and `meshctl wait`.
 * Owns: the status figures (per peer and per collection and peer: what is left each way, an
 * estimate of its bytes, in flight, in sync) and the file's format (PROTOCOL.md §11.4).
 * Not here: the sessions that the figures describe (core/sync/session.c).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/bundle/bundle.h"
#include "core/sync/own.h"

/* "N" bytes, estimated from the bytes per version seen so far that way, or "-". */
static const char *
s_estimate(char *buf, size_t len, uint64_t versions, uint64_t bytes, uint64_t seen_versions)
{
    if (versions == 0) {
        snprintf(buf, len, "0");
    } else if (seen_versions == 0) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%llu",
                 (unsigned long long)((double)versions * (double)bytes / (double)seen_versions));
    }
    return buf;
}

/* Write HOME/status (to a temporary file, then renamed) for meshctl status and wait: one
 * "key value" line for the node, one line of key=value fields per peer, and one per
 * collection and connected peer (PROTOCOL.md §11.4). */
void
status_write(loop_t *l, int64_t now)
{
    char path[4200], tmp[4300], b1[32], b2[32];
    snprintf(path, sizeof path, "%s/status", l->m->home);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return;
    }
    bool own = own_update(l) == MESH_OK;
    fprintf(f, "device %s\npid %ld\nlisten %s\nupdated_ms %lld\n", l->m->id_text, (long)getpid(),
            l->listen[0] ? l->listen : "-", (long long)now);
    for (size_t i = 0; i < l->nsess; i++) {
        session_t *s = &l->sess[i];
        bundle_count_t *counts = NULL;
        size_t n = 0;
        uint64_t to_send = 0, to_receive = 0;
        if (s->ok && s->vv && own &&
            bundle_count_diff(l->m, &l->own_doc, &s->vv_doc, &counts, &n) != MESH_OK) {
            n = 0;
        }
        for (size_t c = 0; c < n; c++) {
            to_send += counts[c].to_send;
            to_receive += counts[c].to_receive;
        }
        bool busy = s->passing || s->asked || s->sent_id != s->acked_id;
        bool in_sync = s->ok && !busy && to_send == 0 && to_receive == 0;
        fprintf(f,
                "peer %s addr=%s connected=%d session=%d refused=%d silent_ms=%lld seen=%lld "
                "to_send=%llu to_receive=%llu bytes_to_send=%s bytes_to_receive=%s "
                "in_flight=%llu batches_out=%llu batches_in=%llu bytes_out=%llu bytes_in=%llu "
                "in_sync=%d\n",
                s->id, s->addr[0] ? s->addr : "-", s->connected, s->ok, s->refused,
                (long long)(s->heard_ms ? now - s->heard_ms : -1), (long long)s->seen_unix,
                (unsigned long long)to_send, (unsigned long long)to_receive,
                s_estimate(b1, sizeof b1, to_send, s->batch_bytes_out, s->versions_out),
                s_estimate(b2, sizeof b2, to_receive, s->batch_bytes_in, s->ops_in),
                (unsigned long long)(s->sent_id - s->acked_id), (unsigned long long)s->batches_out,
                (unsigned long long)s->batches_in, (unsigned long long)s->bytes_out,
                (unsigned long long)s->bytes_in, in_sync);
        for (size_t c = 0; c < n; c++) {
            fprintf(
                f,
                "coll %s peer=%s to_send=%llu to_receive=%llu bytes_to_send=%s "
                "bytes_to_receive=%s in_sync=%d\n",
                counts[c].coll, s->id, (unsigned long long)counts[c].to_send,
                (unsigned long long)counts[c].to_receive,
                s_estimate(b1, sizeof b1, counts[c].to_send, s->batch_bytes_out, s->versions_out),
                s_estimate(b2, sizeof b2, counts[c].to_receive, s->batch_bytes_in, s->ops_in),
                !busy && counts[c].to_send == 0 && counts[c].to_receive == 0);
        }
        free(counts);
    }
    if (fclose(f) == 0) {
        (void)rename(tmp, path);
    }
}
