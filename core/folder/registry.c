/* core/folder/registry.c: the folder registry in the store's metadata (record "folders": per
 * folder, u8 ID length (bit 7: a retention follows the root), the ID, le16 root length, the
 * root, [le16 version retention in days]) and the public folder calls (docs/PROTOCOL.md
 * §18.5, §19.2); folder add writes the folder record (core/wire/frecord) when it creates one.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/registry.h"

#include "core/base/node.h"
#include "core/member/share.h"
#include "core/wire/frecord.h"
#include "crypto/ident.h"
#include "fs/versions.h"
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_RECORD    "folders"
#define S_ROOT_MAX  4095u
#define S_HAS_DAYS  0x80u /* on the ID length byte: le16 days follow the root */
#define S_ENTRY_MAX (1 + SCAN_ID_MAX + 2 + S_ROOT_MAX + 2)

bool
registry_id_ok(const char *id, size_t len)
{
    if (!id || len == 0 || len > SCAN_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = id[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

void
registry_coll(const char *id, char *out)
{
    snprintf(out, REGISTRY_COLL_LEN, "%s%s", REGISTRY_COLL_PREFIX, id);
}

const char *
registry_coll_id(const char *coll)
{
    size_t n = sizeof REGISTRY_COLL_PREFIX - 1;
    if (!coll || strncmp(coll, REGISTRY_COLL_PREFIX, n) != 0 ||
        !registry_id_ok(coll + n, strlen(coll + n))) {
        return NULL;
    }
    return coll + n;
}

void
registry_free(registry_folder_t *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i].root);
    }
    free(list);
}

/* Decode the record's bytes into a new list. MESH_OK, MESH_ECORRUPT, MESH_ENOMEM. An entry
 * without a retention (written before it existed) keeps VERSIONS_DAYS_DEFAULT. */
static mesh_err_t
s_decode(const uint8_t *p, size_t len, registry_folder_t **out, size_t *n)
{
    registry_folder_t *list = calloc(REGISTRY_MAX, sizeof *list);
    size_t count = 0, pos = 0;
    if (!list) {
        return MESH_ENOMEM;
    }
    while (pos < len) {
        bool has_days = p[pos] & S_HAS_DAYS;
        size_t idlen = p[pos] & ~S_HAS_DAYS & 0xffu;
        if (count == REGISTRY_MAX || len - pos - 1 < idlen + 2) {
            goto bad;
        }
        const char *id = (const char *)p + pos + 1;
        size_t rlen = p[pos + 1 + idlen] | (size_t)p[pos + 2 + idlen] << 8;
        pos += 3 + idlen;
        if (!registry_id_ok(id, idlen) || rlen == 0 || rlen > S_ROOT_MAX ||
            len - pos < rlen + (has_days ? 2 : 0) || memchr(p + pos, 0, rlen)) {
            goto bad;
        }
        unsigned days = VERSIONS_DAYS_DEFAULT;
        if (has_days) {
            days = p[pos + rlen] | (unsigned)p[pos + rlen + 1] << 8;
            if (days > VERSIONS_DAYS_MAX) {
                goto bad;
            }
        }
        memcpy(list[count].id, id, idlen);
        list[count].versions_days = days;
        list[count].root = strndup((const char *)p + pos, rlen);
        if (!list[count].root) {
            registry_free(list, count);
            return MESH_ENOMEM;
        }
        count++;
        pos += rlen + (has_days ? 2 : 0);
    }
    *out = list;
    *n = count;
    return MESH_OK;
bad:
    registry_free(list, count);
    return MESH_ECORRUPT;
}

mesh_err_t
registry_load(mesh_t *m, registry_folder_t **list, size_t *n)
{
    store_txn_t *txn = NULL;
    const uint8_t *val = NULL;
    size_t len = 0;
    *list = NULL;
    *n = 0;
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err != MESH_OK) {
        return node_fail_store(m, err, "folders");
    }
    err = store_meta_get(txn, S_RECORD, &val, &len);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK, val = NULL, len = 0;
    }
    if (err == MESH_OK) {
        err = s_decode(val ? val : (const uint8_t *)"", len, list, n);
    }
    store_read_end(txn);
    if (err == MESH_ECORRUPT) {
        return node_fail(m, err, "the folder registry record does not decode");
    }
    return err == MESH_OK ? MESH_OK : node_fail(m, err, "folders: %s", mesh_strerror(err));
}

unsigned
registry_versions_days(mesh_t *m, const char *id)
{
    registry_folder_t *list = NULL;
    size_t n = 0;
    unsigned days = VERSIONS_DAYS_DEFAULT;
    if (registry_load(m, &list, &n) == MESH_OK) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].id, id) == 0) {
                days = list[i].versions_days;
            }
        }
    }
    registry_free(list, n);
    return days;
}

bool
registry_may_hold(mesh_t *m, const char *id, const uint8_t *pk)
{
    char coll[REGISTRY_COLL_LEN];
    bool yes = false;
    registry_coll(id, coll);
    return share_may_hold(m, coll, pk, &yes) == MESH_OK && yes;
}

/* ---- writing the record ---- */

typedef enum s_op { S_ADD, S_RM, S_SET_DAYS } s_op_t;

typedef struct s_edit {
    s_op_t op;
    const char *id;   /* the folder added, removed or changed */
    const char *root; /* S_ADD: its root */
    unsigned days;    /* S_ADD, S_SET_DAYS: its version retention */
    mesh_err_t why;   /* what the body found (MESH_EEXIST, MESH_ENOTFOUND) */
} s_edit_t;

/* Append one entry of the record to out (S_ENTRY_MAX bytes free). */
static size_t
s_encode_one(uint8_t *out, const char *id, const char *root, unsigned days)
{
    size_t idlen = strlen(id), rlen = strlen(root), n = 0;
    out[n++] = (uint8_t)(idlen | S_HAS_DAYS);
    memcpy(out + n, id, idlen);
    n += idlen;
    out[n++] = (uint8_t)(rlen & 0xff);
    out[n++] = (uint8_t)(rlen >> 8);
    memcpy(out + n, root, rlen);
    n += rlen;
    out[n++] = (uint8_t)(days & 0xff);
    out[n++] = (uint8_t)(days >> 8);
    return n;
}

/* The write body: read the record, add, drop or change one folder, write it back. */
static mesh_err_t
s_edit_body(store_txn_t *txn, void *ctx)
{
    s_edit_t *e = ctx;
    const uint8_t *val = NULL;
    size_t len = 0, n = 0, out_len = 0;
    registry_folder_t *list = NULL;
    uint8_t *out = NULL;
    mesh_err_t err = store_meta_get(txn, S_RECORD, &val, &len);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK, val = (const uint8_t *)"", len = 0;
    }
    if (err == MESH_OK) {
        err = s_decode(val, len, &list, &n);
    }
    if (err != MESH_OK) {
        return err;
    }
    size_t found = n;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].id, e->id) == 0 ||
            (e->op == S_ADD && strcmp(list[i].root, e->root) == 0)) {
            found = i;
        }
    }
    e->why = MESH_OK;
    if (e->op == S_ADD && found < n) {
        e->why = MESH_EEXIST;
    } else if (e->op != S_ADD && found == n) {
        e->why = MESH_ENOTFOUND;
    } else if (e->op == S_ADD && n == REGISTRY_MAX) {
        e->why = MESH_ETOOBIG;
    }
    if (e->why != MESH_OK) {
        registry_free(list, n);
        return e->why;
    }
    out = malloc((n + 1) * S_ENTRY_MAX);
    if (!out) {
        registry_free(list, n);
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (i == found && e->op == S_SET_DAYS) {
            list[i].versions_days = e->days;
        }
        if (i != found || e->op == S_SET_DAYS) {
            out_len += s_encode_one(out + out_len, list[i].id, list[i].root, list[i].versions_days);
        }
    }
    if (e->op == S_ADD) {
        out_len += s_encode_one(out + out_len, e->id, e->root, e->days);
    }
    err = store_meta_put(txn, S_RECORD, out, out_len);
    if (err == MESH_OK && e->op == S_RM) {
        /* its scan records go too: joined again later, nothing is taken as deleted */
        char name[sizeof REGISTRY_SCAN_PREFIX + SCAN_ID_MAX];
        snprintf(name, sizeof name, "%s%s", REGISTRY_SCAN_PREFIX, e->id);
        err = store_meta_put(txn, name, "\0\0\0\0", 4);
    }
    free(out);
    registry_free(list, n);
    return err;
}

/* A new folder ID: 16 characters of base32 from random bytes. */
static void
s_new_id(char *out)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t r[16];
    ident_random(r, sizeof r);
    for (size_t i = 0; i < 16; i++) {
        out[i] = alpha[r[i] & 31];
    }
    out[16] = '\0';
}

/* The ID in root's marker, if it has one, into id. */
static bool
s_marker_id(const char *root, char *id)
{
    char path[S_ROOT_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", root, SCAN_MARKER);
    FILE *f = fopen(path, "re");
    if (!f) {
        return false;
    }
    char line[SCAN_ID_MAX + 3] = "";
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t len = strcspn(line, "\n");
    line[len] = '\0';
    if (!ok || !registry_id_ok(line, len)) {
        return false;
    }
    memcpy(id, line, len + 1);
    return true;
}

/* Has coll never been written here (no change set of any member)? Then this device creates
 * the folder. An error reads as written: no record is written then. */
static bool
s_never_written(mesh_t *m, const char *coll)
{
    mesh_set_list_t *sets = NULL;
    bool never = mesh_log(m, coll, 1, &sets) == MESH_OK && mesh_set_list_count(sets) == 0;
    mesh_set_list_free(sets);
    return never;
}

/* Write the folder record (§18.5) under its reserved key of coll, as this device's signed
 * change: it makes the folder offered to members while it holds no entry. */
static mesh_err_t
s_record_put(mesh_t *m, const char *coll)
{
    wire_frecord_t r = {.created = (uint64_t)time(NULL)};
    wire_buf_t buf;
    mesh_txn_t *txn = NULL;
    wire_buf_init(&buf);
    mesh_err_t err = wire_frecord_encode(&r, &buf);
    if (err == MESH_OK) {
        err = mesh_txn_begin(m, coll, &txn);
    }
    if (err == MESH_OK) {
        err = mesh_put(txn, WIRE_FRECORD_KEY, sizeof WIRE_FRECORD_KEY - 1, buf.data, buf.len);
    }
    if (err == MESH_OK) {
        err = mesh_txn_commit(&txn, NULL);
    }
    mesh_txn_abort(txn);
    wire_buf_release(&buf);
    return err;
}

/* The retention asked in opts (0: the default), as registry days, or UINT_MAX when bad. */
static unsigned
s_days_of(uint32_t asked)
{
    if (asked == MESH_FOLDER_VERSIONS_OFF) {
        return 0;
    }
    if (asked == 0) {
        return VERSIONS_DAYS_DEFAULT;
    }
    return asked <= VERSIONS_DAYS_MAX ? asked : UINT_MAX;
}

mesh_err_t
mesh_folder_add_ex(mesh_t *m, const char *path, const mesh_folder_add_options_t *opts, char *id_out,
                   size_t id_out_len)
{
    char root[PATH_MAX], fid[SCAN_ID_MAX + 1], why[256] = "";
    char coll[REGISTRY_COLL_LEN];
    struct stat st;
    if (id_out && id_out_len) {
        id_out[0] = '\0';
    }
    if (!m || !path || (opts && opts->size < sizeof(size_t))) {
        return m ? node_fail(m, MESH_EINVAL, "folder add: bad arguments") : MESH_EINVAL;
    }
    mesh_folder_add_options_t o = {.size = sizeof o};
    if (opts) { /* (a caller built against an older, shorter struct: the rest stays 0) */
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    }
    if (o.id && !registry_id_ok(o.id, strlen(o.id))) {
        return node_fail(m, MESH_EINVAL,
                         "a folder ID is 1 to 64 characters of A-Z a-z 0-9 . _ - (docs/PROTOCOL.md "
                         "§18.4)");
    }
    unsigned days = s_days_of(o.versions_days);
    if (days == UINT_MAX) {
        return node_fail(m, MESH_EINVAL, "versions are kept 1 to %u days (or none)",
                         VERSIONS_DAYS_MAX);
    }
    if (o.with_count && !o.with) {
        return node_fail(m, MESH_EINVAL, "folder add: with_count without with");
    }
    if (!realpath(path, root) || stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return node_fail(m, MESH_ENOTFOUND, "'%s' is not a directory", path);
    }
    if (strlen(root) > S_ROOT_MAX) {
        return node_fail(m, MESH_ETOOBIG, "a folder path of over %u bytes", S_ROOT_MAX);
    }
    if (o.id) {
        snprintf(fid, sizeof fid, "%s", o.id);
    } else if (!s_marker_id(root, fid)) {
        s_new_id(fid);
    }
    registry_coll(fid, coll);
    bool creates = s_never_written(m, coll);
    mesh_err_t err = MESH_OK;
    if (o.with_count) {
        /* the access list first: when a daemon starts the folder, a member outside it is
         * never sent an entry (§8.3); a refused ID leaves nothing written */
        err = mesh_share(m, coll, o.with, o.with_count);
        if (err != MESH_OK) {
            return err; /* (detail on m: mesh_share's) */
        }
    }
    err = scan_marker_write(root, fid, why, sizeof why);
    if (err != MESH_OK) {
        return node_fail(m, err, "folder '%s': %s", root, why);
    }
    s_edit_t e = {.op = S_ADD, .id = fid, .root = root, .days = days};
    err = store_write(m->store, s_edit_body, &e);
    if (err == MESH_EEXIST) {
        return node_fail(m, err, "folder %s or the directory '%s' is already synced here", fid,
                         root);
    }
    if (err == MESH_ETOOBIG) {
        return node_fail(m, err, "this node syncs %u folders already", REGISTRY_MAX);
    }
    if (err != MESH_OK) {
        return node_fail_store(m, err, "folder add");
    }
    err = creates ? s_record_put(m, coll) : MESH_OK;
    if (err != MESH_OK) { /* (nothing left behind: not offered, so not added either) */
        s_edit_t undo = {.op = S_RM, .id = fid};
        mesh_err_t undone = store_write(m->store, s_edit_body, &undo);
        return node_fail(m, err, "folder %s: its folder record: %s%s", fid, mesh_strerror(err),
                         undone == MESH_OK ? "" : " (and it stays in the registry)");
    }
    if (id_out && id_out_len) {
        snprintf(id_out, id_out_len, "%s", fid);
    }
    node_log(m, MESH_LOG_INFO, "folder %s added at %s", fid, root);
    return MESH_OK;
}

mesh_err_t
mesh_folder_add(mesh_t *m, const char *path, const char *id, char *id_out, size_t id_out_len)
{
    mesh_folder_add_options_t o = {.size = sizeof o, .id = id};
    return mesh_folder_add_ex(m, path, &o, id_out, id_out_len);
}

mesh_err_t
mesh_folder_rm(mesh_t *m, const char *id)
{
    if (!m || !id || !registry_id_ok(id, strlen(id))) {
        return m ? node_fail(m, MESH_EINVAL, "not a folder ID") : MESH_EINVAL;
    }
    s_edit_t e = {.op = S_RM, .id = id};
    mesh_err_t err = store_write(m->store, s_edit_body, &e);
    if (err == MESH_ENOTFOUND) {
        return node_fail(m, err, "no folder %s on this device", id);
    }
    return err == MESH_OK ? MESH_OK : node_fail_store(m, err, "folder rm");
}

mesh_err_t
mesh_folder_set_versions(mesh_t *m, const char *id, uint32_t days)
{
    if (!m || !id || !registry_id_ok(id, strlen(id))) {
        return m ? node_fail(m, MESH_EINVAL, "not a folder ID") : MESH_EINVAL;
    }
    unsigned d = s_days_of(days);
    if (d == UINT_MAX) {
        return node_fail(m, MESH_EINVAL, "versions are kept 1 to %u days (or none)",
                         VERSIONS_DAYS_MAX);
    }
    s_edit_t e = {.op = S_SET_DAYS, .id = id, .days = d};
    mesh_err_t err = store_write(m->store, s_edit_body, &e);
    if (err == MESH_ENOTFOUND) {
        return node_fail(m, err, "no folder %s on this device", id);
    }
    return err == MESH_OK ? MESH_OK : node_fail_store(m, err, "folder versions");
}

/* ---- listing ---- */

struct mesh_folder_list {
    mesh_folder_t *items;
    size_t n;
    registry_folder_t *reg; /* owns the joined folders' IDs and roots */
    size_t nreg;
    char (*offered)[SCAN_ID_MAX + 1]; /* owns the offered folders' IDs */
};

mesh_err_t
mesh_folder_ls(mesh_t *m, mesh_folder_list_t **out)
{
    mesh_coll_list_t *colls = NULL;
    if (out) {
        *out = NULL;
    }
    if (!m || !out) {
        return MESH_EINVAL;
    }
    mesh_folder_list_t *l = calloc(1, sizeof *l);
    if (!l) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = registry_load(m, &l->reg, &l->nreg);
    if (err == MESH_OK) {
        err = mesh_collections(m, &colls);
    }
    size_t ncolls = colls ? mesh_coll_list_count(colls) : 0;
    if (err == MESH_OK) {
        l->items = calloc(l->nreg + ncolls + 1, sizeof *l->items);
        l->offered = calloc(ncolls + 1, sizeof *l->offered);
        err = l->items && l->offered ? MESH_OK : MESH_ENOMEM;
    }
    for (size_t i = 0; err == MESH_OK && i < l->nreg; i++) {
        l->items[l->n++] = (mesh_folder_t){.size = sizeof(mesh_folder_t),
                                           .id = l->reg[i].id,
                                           .path = l->reg[i].root,
                                           .joined = true};
    }
    size_t noff = 0;
    for (size_t i = 0; err == MESH_OK && i < ncolls; i++) {
        const char *fid = registry_coll_id(mesh_coll_list_get(colls, i)->name);
        bool joined = false;
        for (size_t j = 0; fid && j < l->nreg; j++) {
            joined |= strcmp(l->reg[j].id, fid) == 0;
        }
        if (fid && !joined) {
            snprintf(l->offered[noff], sizeof l->offered[noff], "%s", fid);
            l->items[l->n++] = (mesh_folder_t){
                .size = sizeof(mesh_folder_t), .id = l->offered[noff++], .path = NULL};
        }
    }
    mesh_coll_list_free(colls);
    if (err != MESH_OK) {
        mesh_folder_list_free(l);
        return err;
    }
    *out = l;
    return MESH_OK;
}

size_t
mesh_folder_list_count(const mesh_folder_list_t *list)
{
    return list ? list->n : 0;
}

const mesh_folder_t *
mesh_folder_list_get(const mesh_folder_list_t *list, size_t i)
{
    return list && i < list->n ? &list->items[i] : NULL;
}

void
mesh_folder_list_free(mesh_folder_list_t *list)
{
    if (!list) {
        return;
    }
    registry_free(list->reg, list->nreg);
    free(list->offered);
    free(list->items);
    free(list);
}
