/* tests/tools/forge.c: write a bundle holding one change set signed with a home's own key,
 * whose every field the caller chooses: incarnation, first seq, the ops and each op's causal
 * context. The integration tests use it to play a lying member (a context that claims dots
 * never signed, more versions of one key than the cap, a seq far past the last) against real
 * daemons. Test builds only (build/testing/tests/forge); it links the library's internals.
 *
 *   forge HOME OUT COLL INCARNATION FIRST_SEQ OP... [-- OP...]...
 *   OP:  put:KEY:VALUE[:ORIGIN/INC/SEQ[,ORIGIN/INC/SEQ...]]  or  del:KEY[:CONTEXT]
 *   ORIGIN is a device ID; the ops take seqs FIRST_SEQ, FIRST_SEQ+1, ... in order; each
 *   "--" ends a set and starts the next (its seqs go on), all in one bundle section.
 *   With FORGE_SECTIONS=N in the environment: N sections, COLL0 .. COLL<N-1>, each with
 *   those sets (signed for its own collection). The one OP "none": no set at all. With
 *   FORGE_MARKS=ORIGIN/INC/SEQ[,...]: those watermarks in each section (claims of dots
 *   held: a lying member's). With FORGE_SAME_SEQ=1: every set starts at FIRST_SEQ (each a
 *   fork of the others: overlapping headers of one incarnation).
 *
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/wire/doc.h"
#include "core/wire/set.h"
#include "crypto/devid.h"
#include "crypto/hash.h"
#include "crypto/ident.h"

#define F_OPS_MAX 4096u
#define F_CTX_MAX 64u

typedef struct f_op {
    char *key, *value; /* value NULL: a delete */
    wire_dot_t ctx[F_CTX_MAX];
    size_t nctx;
} f_op_t;

static void
f_die(const char *what)
{
    fprintf(stderr, "forge: %s\n", what);
    exit(2);
}

static int
f_dot_cmp(const void *a, const void *b)
{
    const wire_dot_t *x = a, *y = b;
    int c = memcmp(x->origin, y->origin, WIRE_ORIGIN_LEN);
    return c ? c : x->incarnation < y->incarnation ? -1 : x->incarnation > y->incarnation;
}

/* "ORIGIN/INC/SEQ,..." into op->ctx, sorted by origin then incarnation. */
static void
f_parse_ctx(char *text, f_op_t *op)
{
    for (char *save = NULL, *e = strtok_r(text, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        char *inc = strchr(e, '/');
        char *seq = inc ? strchr(inc + 1, '/') : NULL;
        if (!seq || op->nctx == F_CTX_MAX) {
            f_die("a context entry is ORIGIN/INC/SEQ");
        }
        *inc++ = 0;
        *seq++ = 0;
        wire_dot_t *d = &op->ctx[op->nctx++];
        if (devid_parse(e, d->origin) != MESH_OK) {
            f_die("a context entry's origin is not a device ID");
        }
        d->incarnation = strtoull(inc, NULL, 10);
        d->seq = strtoull(seq, NULL, 10);
    }
    qsort(op->ctx, op->nctx, sizeof *op->ctx, f_dot_cmp);
}

static void
f_parse_op(char *text, f_op_t *op)
{
    char *save = NULL;
    char *kind = strtok_r(text, ":", &save);
    op->key = strtok_r(NULL, ":", &save);
    if (!kind || !op->key) {
        f_die("an op is put:KEY:VALUE[:CTX] or del:KEY[:CTX]");
    }
    if (strcmp(kind, "put") == 0) {
        op->value = strtok_r(NULL, ":", &save);
        if (!op->value) {
            f_die("put needs a value");
        }
    } else if (strcmp(kind, "del") != 0) {
        f_die("an op is put or del");
    }
    char *ctx = strtok_r(NULL, "", &save);
    if (ctx) {
        f_parse_ctx(ctx, op);
    }
}

/* Encode the set of ops[0..n) (seqs from first) and add it to the section in out. */
static void
f_set(const ident_t *id, const char *coll, uint64_t inc, uint64_t first, f_op_t *ops, size_t n,
      wire_buf_t *out)
{
    uint8_t(*leaves)[HASH_LEN] = calloc(n, HASH_LEN);
    wire_buf_t *metas = calloc(n, sizeof *metas);
    wire_op_t *wops = calloc(n, sizeof *wops);
    if (!leaves || !metas || !wops) {
        f_die("no memory");
    }
    for (size_t i = 0; i < n; i++) {
        wire_buf_init(&metas[i]);
        wire_opmeta_t meta = {.seq = first + i,
                              .key = (const uint8_t *)ops[i].key,
                              .key_len = strlen(ops[i].key),
                              .kind = ops[i].value ? WIRE_PUT : WIRE_DEL};
        if (ops[i].value) {
            meta.value_len = (uint32_t)strlen(ops[i].value);
            hash_tagged(HASH_TAG_VALUE, ops[i].value, meta.value_len, meta.vhash);
        }
        if (wire_opmeta_encode(&meta, ops[i].ctx, ops[i].nctx, &metas[i]) != MESH_OK) {
            f_die("an op's metadata does not encode");
        }
        hash_tagged(HASH_TAG_LEAF, metas[i].data, metas[i].len, leaves[i]);
        wops[i] = (wire_op_t){.meta = metas[i].data,
                              .meta_len = metas[i].len,
                              .value = (const uint8_t *)ops[i].value,
                              .value_len = ops[i].value ? strlen(ops[i].value) : 0};
    }
    wire_header_t h = {.coll = coll,
                       .coll_len = strlen(coll),
                       .incarnation = inc,
                       .first_seq = first,
                       .count = (uint32_t)n,
                       .hlc = ((uint64_t)time(NULL) * 1000) << 16};
    memcpy(h.origin, ident_public_key(id), WIRE_ORIGIN_LEN);
    hash_merkle_root((const uint8_t(*)[HASH_LEN])leaves, n, h.root);
    wire_buf_t header, set;
    wire_buf_init(&header);
    wire_buf_init(&set);
    uint8_t sig[IDENT_SIG_LEN];
    if (wire_header_encode(&h, &header) != MESH_OK) {
        f_die("the header does not encode");
    }
    ident_sign(id, header.data, header.len, sig);
    if (wire_set_encode(header.data, header.len, sig, wops, n, &set) != MESH_OK ||
        wire_section_set(set.data, set.len, out) != MESH_OK) {
        f_die("the set does not encode");
    }
    for (size_t i = 0; i < n; i++) {
        wire_buf_release(&metas[i]);
    }
    wire_buf_release(&header);
    wire_buf_release(&set);
    free(leaves);
    free(metas);
    free(wops);
}

int
main(int argc, char **argv)
{
    if (argc < 7) {
        f_die("usage: forge HOME OUT COLL INCARNATION FIRST_SEQ OP... [-- OP...]...");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/identity", argv[1]);
    ident_t *id = NULL;
    if (ident_lib_init() != MESH_OK || ident_load(path, 0, &id, NULL, 0) != MESH_OK) {
        f_die("cannot load HOME/identity");
    }
    bool none = argc == 7 && strcmp(argv[6], "none") == 0;
    size_t nargs = none ? 0 : (size_t)argc - 6, nsets = none ? 0 : 1;
    for (size_t i = 0; i < nargs; i++) {
        nsets += strcmp(argv[6 + i], "--") == 0;
    }
    f_op_t *ops = calloc(nargs + 1, sizeof *ops);
    char **owned = calloc(nargs + 1, sizeof *owned);
    f_op_t marks = {0}; /* FORGE_MARKS, parsed as a context: origin, incarnation, seq */
    wire_mark_t wmarks[F_CTX_MAX];
    char *marks_text = getenv("FORGE_MARKS") ? strdup(getenv("FORGE_MARKS")) : NULL;
    if (marks_text) {
        f_parse_ctx(marks_text, &marks);
        free(marks_text);
    }
    for (size_t i = 0; i < marks.nctx; i++) {
        memcpy(wmarks[i].origin, marks.ctx[i].origin, WIRE_ORIGIN_LEN);
        wmarks[i].incarnation = marks.ctx[i].incarnation;
        wmarks[i].seq = marks.ctx[i].seq;
        wmarks[i].from = 0;
    }
    if (!ops || !owned || (!none && nargs - (nsets - 1) > F_OPS_MAX * nsets)) {
        f_die("no memory, or too many ops");
    }
    const char *many = getenv("FORGE_SECTIONS");
    bool same_seq = getenv("FORGE_SAME_SEQ") && strcmp(getenv("FORGE_SAME_SEQ"), "1") == 0;
    size_t nsections = many ? strtoull(many, NULL, 10) : 0;
    wire_buf_t out;
    wire_buf_init(&out);
    if (wire_bundle_begin(nsections ? nsections : 1, &out) != MESH_OK) {
        f_die("the bundle does not encode");
    }
    for (size_t sec = 0; sec < (nsections ? nsections : 1); sec++) {
        char coll[256];
        snprintf(coll, sizeof coll, nsections ? "%s%zu" : "%s", argv[3], sec);
        if (wire_section_begin(coll, nsets, &out) != MESH_OK) {
            f_die("the bundle does not encode");
        }
        uint64_t inc = strtoull(argv[4], NULL, 10), seq = strtoull(argv[5], NULL, 10);
        size_t n = 0;
        for (size_t i = 0; !none && i <= nargs; i++) {
            if (i == nargs || strcmp(argv[6 + i], "--") == 0) {
                if (n == 0 || n > F_OPS_MAX) {
                    f_die("a set holds 1 to 4096 ops");
                }
                f_set(id, coll, inc, seq, ops, n, &out);
                for (size_t k = 0; k < n; k++) {
                    free(owned[k]);
                }
                seq += same_seq ? 0 : n;
                n = 0;
                memset(ops, 0, nargs * sizeof *ops);
                continue;
            }
            owned[n] = strdup(argv[6 + i]); /* (parsing cuts it) */
            if (!owned[n]) {
                f_die("no memory");
            }
            f_parse_op(owned[n], &ops[n]);
            n++;
        }
        if (wire_section_marks(marks.nctx ? wmarks : NULL, marks.nctx, &out) != MESH_OK) {
            f_die("the bundle does not encode");
        }
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
        f_die("cannot write OUT");
    }
    wire_buf_release(&out);
    free(ops);
    free(owned);
    ident_free(id);
    return 0;
}
