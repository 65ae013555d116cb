/* cli/cmd_status.c: `meshctl status`: this device, its peers, and how far along sync is.
 * Owns: showing mesh_status's snapshot: each collection (with its conflicts, and progress
 * while it syncs), each member by name, the devices refused lately and the daemon's last
 * warnings. Not here: what the daemon measures or how it reports it (the library:
 * mesh_status), device labels (cli/names.h).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "names.h"
#include "out.h"

#define S_ERRORS_SHOWN 3 /* the daemon's last warnings shown */

static const char s_usage[] =
    "usage: meshctl status\n"
    "\n"
    "Show this device, whether a daemon runs on its home, each collection (keys,\n"
    "versions, conflicts, digest; in sync with every connected member, or what is left to\n"
    "send and to receive), each member by name (with as much of its ID as tells it apart\n"
    "from the others): connected or when it was last seen, its address, how far\n"
    "behind it is each way, in versions (items and tombstones) and bytes, and the path\n"
    "its latest data took (direct, or via another member that relayed it). While a\n"
    "collection is received: the versions here and to go, about how many bytes to go, the\n"
    "rate and the time left, with a progress bar on a terminal. Bytes left are estimates\n"
    "from the bytes per version seen so far in that direction; '?' where unknown. Then the\n"
    "devices refused lately (not members: 'meshctl peer add ID' lets one in) and the\n"
    "daemon's last warnings. Each folder the daemon syncs: in sync, or the files and bytes\n"
    "it still needs (and how many wait for blocks from members), or \"stopped: REASON\"\n"
    "(its root or marker missing: nothing is sent as deleted).\n"
    "\n"
    "With a daemon running, its figures come over its control socket, at once.\n"
    "\n"
    "--json prints {\"id\", \"name\", \"daemon\", \"listen\", \"pid\", \"source\", \"conflicts\",\n"
    "\"collections\":\n"
    "[{\"name\", \"keys\", \"versions\", \"conflicts\", \"digest\", \"here\", \"in_sync\",\n"
    "\"to_send\", \"to_receive\", \"bytes_to_send\", \"bytes_to_receive\", \"rate\"}],\n"
    "\"peers\": [{\"id\", \"name\", \"label\", \"addr\", \"connected\", \"last_seen\",\n"
    "\"in_sync\", \"busy\", \"to_send\", \"to_receive\", \"bytes_to_send\",\n"
    "\"bytes_to_receive\", \"in_flight\", \"batches_out\", \"batches_in\", \"bytes_out\",\n"
    "\"bytes_in\", \"versions_in\", \"batch_bytes_in\", \"rate_in\", \"repairs\",\n"
    "\"blocks_asked\", \"blocks_asked_in\", \"path\",\n"
    "\"via\", \"via_seen\"}],\n"
    "\"folders\": [{\"id\", \"state\", \"in_sync\", \"need_files\", \"need_bytes\",\n"
    "\"waiting\", \"total_files\", \"total_bytes\", \"why\"}],\n"
    "\"refusals\": [{\"id\", \"alt_id\", \"count\", \"first_seen\", \"last_seen\"}],\n"
    "\"errors\": [{\"text\", \"level\", \"count\", \"last_seen\"}]} (byte estimates and\n"
    "rates are -1 when unknown; times are Unix seconds, 0 for never; \"here\" is false\n"
    "for a collection still on its way; \"repairs\" counts the slow path's repairs with\n"
    "the peer that moved versions since the daemon started; \"path\" says how the peer's\n"
    "latest data came: \"direct\", \"via\" the member \"via\" names (its ID), or \"none\"\n"
    "since the daemon started; \"source\" says where the daemon's figures came from:\n"
    "\"socket\" (its control socket), \"file\" (HOME/status), \"\" (no daemon); \"pid\" is\n"
    "the daemon's, 0 for none).\n";

/* What the command gathered: the snapshot, its device part, the local collections, the
 * member names. */
typedef struct s_view {
    mesh_t *m;
    mesh_status_t *st;
    mesh_status_device_t dev;
    mesh_coll_list_t *colls;
    names_t *names;
    mesh_status_peer_t *peers; /* the snapshot's peers */
    mesh_status_coll_t *rows;  /* its (collection, peer) rows, by name: looked up, not
                                * walked, as there may be many */
    size_t nrows;
} s_view_t;

static int
s_row_by_name(const void *a, const void *b)
{
    return strcmp(((const mesh_status_coll_t *)a)->name, ((const mesh_status_coll_t *)b)->name);
}

/* Copy the snapshot's peers and rows into v, the rows sorted by name. */
static mesh_err_t
s_view_rows(s_view_t *v)
{
    v->peers = calloc(v->dev.peers ? v->dev.peers : 1, sizeof *v->peers);
    v->rows = calloc(v->dev.colls ? v->dev.colls : 1, sizeof *v->rows);
    if (!v->peers || !v->rows)
        return MESH_ENOMEM;
    for (size_t i = 0; i < v->dev.peers; i++) {
        v->peers[i].size = sizeof v->peers[i];
        if (mesh_status_peer(v->st, i, &v->peers[i]) != MESH_OK)
            return MESH_ECORRUPT;
    }
    for (size_t k = 0; k < v->dev.colls; k++) {
        v->rows[k].size = sizeof v->rows[k];
        if (mesh_status_coll(v->st, k, &v->rows[k]) != MESH_OK)
            return MESH_ECORRUPT;
    }
    v->nrows = v->dev.colls;
    qsort(v->rows, v->nrows, sizeof *v->rows, s_row_by_name);
    return MESH_OK;
}

/* The first row of the collection name (v->nrows: none). */
static size_t
s_rows_first(const s_view_t *v, const char *name)
{
    size_t lo = 0, hi = v->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v->rows[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->nrows && strcmp(v->rows[lo].name, name) == 0 ? lo : v->nrows;
}

/* A collection's state over the peers with a session up. The daemon lists a row only
 * while something is left with a peer: a collection without one is in sync with that peer
 * when nothing is under way with it and its figures are counted. */
typedef struct s_coll_sum {
    bool in_sync;
    size_t peers; /* connected peers with a session up */
    unsigned long long to_send, to_receive;
    long long bytes_to_send, bytes_to_receive; /* -1: unknown */
    long long rate;                            /* versions/s from the peers it comes from */
} s_coll_sum_t;

static void
s_add_bytes(long long *sum, long long v)
{
    *sum = *sum < 0 || v < 0 ? -1 : *sum + v; /* unknown when any part is */
}

/* Is peer p one whose collections without a row are in sync with it? */
static bool
s_peer_idle(const mesh_status_peer_t *p)
{
    return p->session && !p->busy && p->in_flight == 0 &&
           (p->in_sync || p->to_send + p->to_receive > 0);
}

static s_coll_sum_t
s_coll_sum(const s_view_t *v, const char *name)
{
    s_coll_sum_t sum = {v->dev.daemon, 0, 0, 0, 0, 0, -1};
    size_t first = s_rows_first(v, name);
    for (size_t i = 0; v->dev.daemon && i < v->dev.peers; i++) {
        const mesh_status_peer_t *p = &v->peers[i];
        if (!p->connected || !p->session)
            continue;
        sum.peers++;
        bool row = false;
        for (size_t k = first; k < v->nrows && !row && strcmp(v->rows[k].name, name) == 0; k++) {
            const mesh_status_coll_t *c = &v->rows[k];
            if (strcmp(c->peer, p->id) != 0)
                continue;
            row = true;
            sum.to_send += c->to_send;
            sum.to_receive += c->to_receive;
            s_add_bytes(&sum.bytes_to_send, c->to_send ? c->bytes_to_send : 0);
            s_add_bytes(&sum.bytes_to_receive, c->to_receive ? c->bytes_to_receive : 0);
            if (c->to_receive && p->rate_in >= 0)
                sum.rate = (sum.rate < 0 ? 0 : sum.rate) + p->rate_in;
        }
        sum.in_sync = sum.in_sync && !row && s_peer_idle(p);
    }
    sum.in_sync = sum.in_sync && sum.peers > 0; /* with nobody to compare, nothing is known */
    return sum;
}

/* The conflicts of a local collection: keys with siblings (none to look for when it holds
 * one version per key). */
static unsigned long long
s_conflicts(mesh_t *m, const mesh_coll_info_t *c)
{
    unsigned long long n = 0;
    mesh_iter_t *it = NULL;
    if (c->versions <= c->keys ||
        mesh_iter_open_ex(m, c->name, NULL, 0, MESH_ITER_TOMBSTONES, &it) != MESH_OK)
        return 0;
    const uint8_t *key, *value;
    size_t key_len, value_len;
    bool conflict;
    while (mesh_iter_next(it, &key, &key_len, &value, &value_len, &conflict) == MESH_OK)
        n += conflict;
    mesh_iter_close(it);
    return n;
}

/* Is the collection name here? (mesh_collections lists by name, in byte order.) */
static bool
s_is_local(const s_view_t *v, const char *name)
{
    size_t lo = 0, hi = mesh_coll_list_count(v->colls);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp((const char *)mesh_coll_list_get(v->colls, mid)->name, name);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Is row k the first row of a collection that is not here yet? (Each such collection is
 * shown once; names starting with '_' are the system's, not listed.) */
static bool
s_first_remote(const s_view_t *v, size_t k)
{
    const char *name = v->rows[k].name;
    return name[0] != '_' && (k == 0 || strcmp(v->rows[k - 1].name, name) != 0) &&
           !s_is_local(v, name);
}

/* ---- JSON ---- */

static void
s_json_coll(out_json_t *j, const s_view_t *v, const char *name, const mesh_coll_info_t *c)
{
    s_coll_sum_t sum = s_coll_sum(v, name);
    out_json_object_begin(j, NULL);
    out_json_string(j, "name", name);
    out_json_u64(j, "keys", c ? c->keys : 0);
    out_json_u64(j, "versions", c ? c->versions : 0);
    out_json_u64(j, "conflicts", c ? s_conflicts(v->m, c) : 0);
    out_json_string(j, "digest", c ? c->digest : "");
    out_json_bool(j, "here", c != NULL);
    out_json_bool(j, "in_sync", sum.in_sync);
    out_json_u64(j, "to_send", sum.to_send);
    out_json_u64(j, "to_receive", sum.to_receive);
    out_json_i64(j, "bytes_to_send", sum.bytes_to_send);
    out_json_i64(j, "bytes_to_receive", sum.bytes_to_receive);
    out_json_i64(j, "rate", sum.rate);
    out_json_object_end(j);
}

static void
s_json_peer(out_json_t *j, const s_view_t *v, const mesh_status_peer_t *p)
{
    char label[NAMES_LABEL_LEN];
    out_json_object_begin(j, NULL);
    out_json_string(j, "id", p->id);
    out_json_string(j, "name", p->name);
    out_json_string(j, "label", names_label(v->names, p->id, label, sizeof label));
    out_json_string(j, "addr", p->addr[0] ? p->addr : "-");
    out_json_bool(j, "connected", p->connected);
    out_json_i64(j, "last_seen", p->last_seen > 0 ? p->last_seen : 0);
    out_json_bool(j, "in_sync", p->in_sync);
    out_json_bool(j, "busy", p->busy);
    out_json_u64(j, "to_send", p->to_send);
    out_json_u64(j, "to_receive", p->to_receive);
    out_json_i64(j, "bytes_to_send", p->bytes_to_send);
    out_json_i64(j, "bytes_to_receive", p->bytes_to_receive);
    out_json_u64(j, "in_flight", p->in_flight);
    out_json_u64(j, "batches_out", p->batches_out);
    out_json_u64(j, "batches_in", p->batches_in);
    out_json_u64(j, "bytes_out", p->bytes_out);
    out_json_u64(j, "bytes_in", p->bytes_in);
    out_json_u64(j, "versions_in", p->versions_in);
    out_json_u64(j, "batch_bytes_in", p->batch_bytes_in);
    out_json_i64(j, "rate_in", p->rate_in);
    out_json_u64(j, "repairs", p->repairs);
    out_json_u64(j, "blocks_asked", p->blocks_asked);
    out_json_u64(j, "blocks_asked_in", p->blocks_asked_in);
    out_json_string(j, "path", !p->via[0] ? "none" : strcmp(p->via, p->id) == 0 ? "direct" : "via");
    out_json_string(j, "via", p->via);
    out_json_i64(j, "via_seen", p->via_seen);
    out_json_object_end(j);
}

static void
s_json_folders(out_json_t *j, const s_view_t *v)
{
    out_json_array_begin(j, "folders");
    for (size_t i = 0; v->dev.daemon && i < mesh_status_folder_count(v->st); i++) {
        mesh_status_folder_t f = {.size = sizeof f};
        if (mesh_status_folder(v->st, i, &f) != MESH_OK)
            continue;
        out_json_object_begin(j, NULL);
        out_json_string(j, "id", f.id);
        out_json_string(j, "state", f.state);
        out_json_bool(j, "in_sync", f.in_sync);
        out_json_u64(j, "need_files", f.need_files);
        out_json_u64(j, "need_bytes", f.need_bytes);
        out_json_u64(j, "waiting", f.waiting);
        out_json_u64(j, "total_files", f.total_files);
        out_json_u64(j, "total_bytes", f.total_bytes);
        out_json_string(j, "why", f.why);
        out_json_object_end(j);
    }
    out_json_array_end(j);
}

static void
s_json_events(out_json_t *j, const s_view_t *v)
{
    out_json_array_begin(j, "refusals");
    for (size_t i = 0; i < v->dev.refusals; i++) {
        mesh_status_refusal_t r = {.size = sizeof r};
        if (mesh_status_refusal(v->st, i, &r) != MESH_OK)
            continue;
        out_json_object_begin(j, NULL);
        out_json_string(j, "id", r.id);
        out_json_string(j, "alt_id", r.alt_id);
        out_json_u64(j, "count", r.count);
        out_json_i64(j, "first_seen", r.first_seen);
        out_json_i64(j, "last_seen", r.last_seen);
        out_json_object_end(j);
    }
    out_json_array_end(j);
    out_json_array_begin(j, "errors");
    for (size_t i = 0; i < v->dev.errors; i++) {
        mesh_status_error_t e = {.size = sizeof e};
        if (mesh_status_error(v->st, i, &e) != MESH_OK)
            continue;
        out_json_object_begin(j, NULL);
        out_json_string(j, "text", e.text);
        out_json_i64(j, "level", e.level);
        out_json_u64(j, "count", e.count);
        out_json_i64(j, "last_seen", e.last_seen);
        out_json_object_end(j);
    }
    out_json_array_end(j);
}

static void
s_print_json(const s_view_t *v, const char *id)
{
    out_json_t j;
    unsigned long long conflicts = 0;
    for (size_t i = 0; i < mesh_coll_list_count(v->colls); i++)
        conflicts += s_conflicts(v->m, mesh_coll_list_get(v->colls, i));
    out_json_init(&j, stdout);
    out_json_object_begin(&j, NULL);
    out_json_string(&j, "id", id);
    out_json_string(&j, "name", mesh_device_name(v->m));
    out_json_bool(&j, "daemon", v->dev.daemon);
    out_json_string(&j, "listen", v->dev.daemon ? v->dev.listen : "");
    out_json_i64(&j, "pid", v->dev.daemon ? v->dev.pid : 0);
    out_json_string(&j, "source", v->dev.source ? v->dev.source : "");
    out_json_u64(&j, "conflicts", conflicts);
    out_json_array_begin(&j, "collections");
    for (size_t i = 0; i < mesh_coll_list_count(v->colls); i++) {
        const mesh_coll_info_t *c = mesh_coll_list_get(v->colls, i);
        s_json_coll(&j, v, c->name, c);
    }
    for (size_t k = 0; v->dev.daemon && k < v->nrows; k++) {
        if (s_first_remote(v, k))
            s_json_coll(&j, v, v->rows[k].name, NULL);
    }
    out_json_array_end(&j);
    out_json_array_begin(&j, "peers");
    for (size_t i = 0; v->dev.daemon && i < v->dev.peers; i++) {
        mesh_status_peer_t p = {.size = sizeof p};
        if (mesh_status_peer(v->st, i, &p) == MESH_OK)
            s_json_peer(&j, v, &p);
    }
    out_json_array_end(&j);
    s_json_folders(&j, v);
    s_json_events(&j, v);
    out_json_object_end(&j);
}

/* ---- text ---- */

/* "12.3 MiB" style, or "?" when unknown. */
static const char *
s_bytes(char *buf, size_t len, long long v)
{
    if (v < 0)
        snprintf(buf, len, "?");
    else if (v < 10 * 1024)
        snprintf(buf, len, "%lld B", v);
    else if (v < 10 * 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", (double)v / 1024);
    else
        snprintf(buf, len, "%.1f MiB", (double)v / (1024 * 1024));
    return buf;
}

/* "2 min 5 s" style for versions to go at rate per second, or "?" when the rate is not
 * known (or nil). */
static const char *
s_time_left(char *buf, size_t len, unsigned long long to_go, long long rate)
{
    if (rate <= 0) {
        snprintf(buf, len, "?");
        return buf;
    }
    unsigned long long s = (to_go + (unsigned long long)rate - 1) / (unsigned long long)rate;
    if (s < 60)
        snprintf(buf, len, "%llu s", s);
    else if (s < 3600)
        snprintf(buf, len, "%llu min %llu s", s / 60, s % 60);
    else
        snprintf(buf, len, "%llu h %llu min", s / 3600, s % 3600 / 60);
    return buf;
}

static const char *
s_rate(char *buf, size_t len, long long rate)
{
    if (rate < 0)
        snprintf(buf, len, "?/s");
    else
        snprintf(buf, len, "%lld/s", rate);
    return buf;
}

/* A progress bar: done of total. */
static void
s_bar(unsigned long long done, unsigned long long total)
{
    enum { WIDTH = 40 };
    int filled = (int)(done * WIDTH / total);
    printf("        [");
    for (int i = 0; i < WIDTH; i++)
        putchar(i < filled ? '#' : '.');
    printf("] %3d%%\n", (int)(done * 100 / total));
}

/* The rest of a collection's line (and its bar, on a terminal): its state against the
 * peers. here: the versions held here. */
static void
s_print_progress(const s_view_t *v, const char *name, unsigned long long here, bool tty)
{
    char b1[32], b2[32], b3[32], b4[32];
    s_coll_sum_t sum = s_coll_sum(v, name);
    if (sum.peers == 0) {
        printf("  no member connected\n");
        return;
    }
    if (sum.in_sync) {
        printf("  in sync\n");
        return;
    }
    if (sum.to_receive) {
        unsigned long long total = here + sum.to_receive;
        printf("  receiving: %llu of %llu versions here (%d%%), %llu to go (~%s), %s, %s left",
               here, total, (int)(here * 100 / total), sum.to_receive,
               s_bytes(b1, sizeof b1, sum.bytes_to_receive), s_rate(b2, sizeof b2, sum.rate),
               s_time_left(b3, sizeof b3, sum.to_receive, sum.rate));
        if (sum.to_send)
            printf("; %llu to send (~%s)", sum.to_send, s_bytes(b4, sizeof b4, sum.bytes_to_send));
        printf("\n");
        if (tty)
            s_bar(here, total);
        return;
    }
    if (sum.to_send) {
        printf("  sending: %llu to send (~%s)\n", sum.to_send,
               s_bytes(b1, sizeof b1, sum.bytes_to_send));
        if (tty && here)
            s_bar(here > sum.to_send ? here - sum.to_send : 0, here);
        return;
    }
    printf("  syncing: nothing left to count, exchange under way\n");
}

static void
s_print_coll(const s_view_t *v, const mesh_coll_info_t *c, bool tty)
{
    unsigned long long conflicts = s_conflicts(v->m, c);
    printf("coll    ");
    names_print(stdout, c->name);
    printf("  %llu %s, %llu %s, ", (unsigned long long)c->keys, cli_plural(c->keys, "key", "keys"),
           (unsigned long long)c->versions, cli_plural(c->versions, "version", "versions"));
    if (conflicts)
        printf("%llu conflict%s, ", conflicts, conflicts == 1 ? "" : "s");
    printf("digest %.16s", c->digest);
    if (!v->dev.daemon) {
        printf("\n");
        return;
    }
    s_print_progress(v, c->name, c->versions, tty);
}

/* One peer's line. Without a daemon: the member and its known addresses (whether it is up
 * is the daemon's to know). */
static void
s_print_peer(const s_view_t *v, const mesh_status_peer_t *p)
{
    char b1[32], b2[32], b3[32], b4[32], label[NAMES_LABEL_LEN];
    printf("peer    ");
    names_print(stdout, names_label(v->names, p->id, label, sizeof label));
    printf("  ");
    names_print(stdout, p->addr[0] ? p->addr : "(no address: it dials in)");
    if (!v->dev.daemon) {
        printf("  (no daemon here: not connected)\n");
        return;
    }
    printf("  ");
    if (!p->connected) {
        if (p->last_seen > 0) {
            time_t t = (time_t)p->last_seen;
            struct tm tm;
            char when[64];
            localtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
            printf("not connected, last seen %s\n", when);
        } else {
            printf("not connected, never seen\n");
        }
        return;
    }
    if (p->refused)
        printf("refused (protocol version)");
    else if (p->in_sync)
        printf("in sync");
    else if (p->to_receive)
        printf("receiving: %llu versions in (%s), %llu to go (~%s), %s, %s left",
               (unsigned long long)p->versions_in,
               s_bytes(b1, sizeof b1, (long long)p->batch_bytes_in),
               (unsigned long long)p->to_receive, s_bytes(b2, sizeof b2, p->bytes_to_receive),
               s_rate(b3, sizeof b3, p->rate_in),
               s_time_left(b4, sizeof b4, p->to_receive, p->rate_in));
    else if (p->to_send)
        printf("behind: it lacks %llu (%s)", (unsigned long long)p->to_send,
               s_bytes(b1, sizeof b1, p->bytes_to_send));
    else
        printf("syncing");
    if (p->to_receive && p->to_send)
        printf("; it lacks %llu (%s)", (unsigned long long)p->to_send,
               s_bytes(b1, sizeof b1, p->bytes_to_send));
    printf("  sent %llu batches/%llu bytes, received %llu/%llu", (unsigned long long)p->batches_out,
           (unsigned long long)p->bytes_out, (unsigned long long)p->batches_in,
           (unsigned long long)p->bytes_in);
    if (p->repairs) {
        printf(", %llu repair%s", (unsigned long long)p->repairs, p->repairs == 1 ? "" : "s");
    }
    printf("\n");
}

/* Where a peer's latest data came from (its path): directly, or through which member. */
static void
s_print_path(const s_view_t *v, const mesh_status_peer_t *p)
{
    char label[NAMES_LABEL_LEN];
    if (!v->dev.daemon || !p->via[0]) {
        return;
    }
    if (strcmp(p->via, p->id) == 0) {
        printf("        its data: direct\n");
        return;
    }
    printf("        its data: via ");
    names_print(stdout, names_label(v->names, p->via, label, sizeof label));
    printf("\n");
}

static void
s_print_when(time_t t)
{
    struct tm tm;
    char when[64];
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    fputs(when, stdout);
}

static void
s_print_events(const s_view_t *v)
{
    for (size_t i = 0; i < v->dev.refusals; i++) {
        mesh_status_refusal_t r = {.size = sizeof r};
        if (mesh_status_refusal(v->st, i, &r) != MESH_OK)
            continue;
        printf("refused ");
        names_print(stdout, r.id);
        if (r.alt_id[0]) {
            printf(" or ");
            names_print(stdout, r.alt_id);
        }
        printf("  %llu attempt%s, last ", (unsigned long long)r.count, r.count == 1 ? "" : "s");
        s_print_when((time_t)r.last_seen);
        printf(": not a member ('meshctl peer add ID' lets it in; 'meshctl id' on it shows "
               "which ID is its own)\n");
    }
    for (size_t i = 0; i < v->dev.errors && i < S_ERRORS_SHOWN; i++) {
        mesh_status_error_t e = {.size = sizeof e};
        if (mesh_status_error(v->st, i, &e) != MESH_OK)
            continue;
        printf("%s ", e.level == MESH_LOG_ERROR ? "error  " : "warning");
        s_print_when((time_t)e.last_seen);
        printf("  ");
        names_print(stdout, e.text);
        if (e.count > 1)
            printf(" (%llu times)", (unsigned long long)e.count);
        printf("\n");
    }
}

/* One line per folder the daemon syncs: in sync, what it still needs, or why it stopped. */
static void
s_print_folders(const s_view_t *v, bool tty)
{
    for (size_t i = 0; v->dev.daemon && i < mesh_status_folder_count(v->st); i++) {
        mesh_status_folder_t f = {.size = sizeof f};
        if (mesh_status_folder(v->st, i, &f) != MESH_OK)
            continue;
        printf("folder  ");
        names_print(stdout, f.id);
        if (strcmp(f.state, "stopped") == 0) {
            printf("  stopped: ");
            names_print(stdout, f.why);
        } else if (f.in_sync) {
            printf("  in sync");
        } else if (strcmp(f.state, "starting") == 0) {
            printf("  starting (not scanned yet)");
        } else if (f.need_files == 0) {
            printf("  syncing (scanning or realizing)");
        } else {
            char b[32];
            printf("  %llu file%s, %s still needed", (unsigned long long)f.need_files,
                   f.need_files == 1 ? "" : "s", s_bytes(b, sizeof b, (long long)f.need_bytes));
            if (f.waiting)
                printf(" (%llu waiting for blocks)", (unsigned long long)f.waiting);
            /* the bar: of the most needed since it was last in sync, what came (by bytes,
             * or by files when what it needs holds no byte: deletes, directories) */
            unsigned long long total = f.total_bytes ? f.total_bytes : f.total_files;
            unsigned long long left = f.total_bytes ? f.need_bytes : f.need_files;
            if (tty && total) {
                printf("\n");
                s_bar(left < total ? total - left : 0, total);
                continue;
            }
        }
        printf("\n");
    }
}

static void
s_print_text(const s_view_t *v, const char *id)
{
    bool tty = isatty(STDOUT_FILENO);
    unsigned long long conflicts = 0;
    size_t conflicted = 0;
    printf("device  ");
    names_print(stdout, mesh_device_name(v->m));
    printf(" (%s)\n", id);
    if (!v->dev.daemon) {
        printf("daemon  not running (start it with 'meshctl daemon')\n");
    } else {
        printf("daemon  pid %lld, listening on ", (long long)v->dev.pid);
        names_print(stdout, v->dev.listen[0] ? v->dev.listen : "-");
        if (v->dev.source && strcmp(v->dev.source, "file") == 0)
            printf(" (figures from its status file: its control socket does not answer)");
        printf("\n");
    }
    for (size_t i = 0; i < mesh_coll_list_count(v->colls); i++) {
        const mesh_coll_info_t *c = mesh_coll_list_get(v->colls, i);
        unsigned long long n = s_conflicts(v->m, c);
        conflicts += n;
        conflicted += n > 0;
        s_print_coll(v, c, tty);
    }
    for (size_t k = 0; v->dev.daemon && k < v->nrows; k++) {
        if (!s_first_remote(v, k))
            continue;
        printf("coll    ");
        names_print(stdout, v->rows[k].name);
        printf("  (on its way: not here yet)");
        s_print_progress(v, v->rows[k].name, 0, tty);
    }
    s_print_folders(v, tty);
    for (size_t i = 0; i < v->dev.peers; i++) {
        mesh_status_peer_t p = {.size = sizeof p};
        if (mesh_status_peer(v->st, i, &p) == MESH_OK) {
            s_print_peer(v, &p);
            s_print_path(v, &p);
        }
    }
    if (conflicts)
        printf("conflicts %llu in %zu collection%s ('meshctl conflicts COLL' lists them)\n",
               conflicts, conflicted, conflicted == 1 ? "" : "s");
    s_print_events(v);
}

int
cmd_status(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    s_view_t v = {.dev = {.size = sizeof v.dev}};
    if (cli_open(ctx, &v.m) != CLI_OK)
        return CLI_FAIL;
    char id[MESH_ID_TEXT_LEN + 1] = "";
    if (mesh_device_id(v.m, id, sizeof id) != MESH_OK)
        id[0] = '\0';
    /* the snapshot first: what the store holds after it is at least as new */
    mesh_err_t err = mesh_status(v.m, &v.st);
    if (err == MESH_OK)
        err = mesh_status_device(v.st, &v.dev);
    if (err == MESH_OK)
        err = mesh_collections(v.m, &v.colls);
    if (err == MESH_OK)
        err = names_load(v.m, &v.names);
    if (err == MESH_OK)
        err = s_view_rows(&v);
    rc = CLI_OK;
    if (err != MESH_OK) {
        rc = cli_fail(v.m, err, "status");
    } else if (ctx->json) {
        s_print_json(&v, id);
    } else {
        s_print_text(&v, id);
    }
    free(v.rows);
    free(v.peers);
    names_free(v.names);
    mesh_coll_list_free(v.colls);
    mesh_status_free(v.st);
    mesh_close(v.m);
    return rc;
}
