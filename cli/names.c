/* cli/names.c: device labels (a name, with as much of the ID as tells devices apart) and
 * terminal-safe text, for `status` and `log`.
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "names.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

struct names {
    mesh_peer_list_t *peers;
};

mesh_err_t
names_load(mesh_t *m, names_t **out)
{
    *out = NULL;
    names_t *n = calloc(1, sizeof *n);
    if (!n) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = mesh_peers(m, &n->peers);
    if (err != MESH_OK) {
        free(n);
        return err;
    }
    *out = n;
    return MESH_OK;
}

void
names_free(names_t *n)
{
    if (!n) {
        return;
    }
    mesh_peer_list_free(n->peers);
    free(n);
}

static const mesh_peer_t *
s_member(const names_t *n, const char *id)
{
    for (size_t i = 0; n && i < mesh_peer_list_count(n->peers); i++) {
        const mesh_peer_t *p = mesh_peer_list_get(n->peers, i);
        if (strcmp(p->id, id) == 0) {
            return p;
        }
    }
    return NULL;
}

const char *
names_name(const names_t *n, const char *id)
{
    const mesh_peer_t *p = s_member(n, id);
    return p && p->name ? p->name : "";
}

/* The length of the shortest start of id that no other member's ID shares (not ending on a
 * dash), NAMES_PREFIX_MIN at least. */
static size_t
s_prefix_len(const names_t *n, const char *id)
{
    size_t len = strlen(id), want = NAMES_PREFIX_MIN;
    for (size_t i = 0; i < mesh_peer_list_count(n->peers); i++) {
        const char *other = mesh_peer_list_get(n->peers, i)->id;
        if (strcmp(other, id) == 0) {
            continue;
        }
        size_t same = 0;
        while (id[same] && id[same] == other[same]) {
            same++;
        }
        want = same + 1 > want ? same + 1 : want;
    }
    if (want < len && id[want - 1] == '-') {
        want++;
    }
    return want < len ? want : len;
}

const char *
names_label(const names_t *n, const char *id, char *buf, size_t cap)
{
    const mesh_peer_t *p = s_member(n, id);
    if (!p) {
        snprintf(buf, cap, "%s", id);
        return buf;
    }
    int prefix = (int)s_prefix_len(n, id);
    if (!p->name || !p->name[0]) {
        snprintf(buf, cap, "%.*s", prefix, id);
        return buf;
    }
    bool shared = false;
    for (size_t i = 0; i < mesh_peer_list_count(n->peers) && !shared; i++) {
        const mesh_peer_t *q = mesh_peer_list_get(n->peers, i);
        shared = q != p && q->name && strcmp(q->name, p->name) == 0;
    }
    if (shared) {
        snprintf(buf, cap, "%s (%.*s)", p->name, prefix, id);
    } else {
        snprintf(buf, cap, "%s", p->name);
    }
    return buf;
}

void
names_print(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
        bool c1 = n == 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
        if (*p == '\\') {
            fputs("\\\\", f);
        } else if (*p == '\t') {
            fputs("\\t", f);
        } else if (*p == '\n') {
            fputs("\\n", f);
        } else if (n == 1 && *p >= 0x20 && *p != 0x7f) {
            putc(*p, f);
        } else if (n > 1 && !c1 && strnlen((const char *)p, n) == n && out_is_utf8(p, n)) {
            fwrite(p, 1, n, f);
            p += n;
            continue;
        } else {
            fprintf(f, "\\x%02x", *p);
        }
        p++;
    }
}
