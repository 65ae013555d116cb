/* tests/tools/frames.c: play a member that sends a daemon the worst BATCH frames it can:
 * each a bundle of SETS copies of one small set signed with HOME's own key (a put of one
 * key whose value is VALUE_BYTES long), FRAMES of them in a row as fast as the link takes
 * them, ignoring the credit the daemon grants. The integration tests use it to measure what
 * such frames cost the victim (tests/integration/33-worst-frames.sh). Test builds only
 * (build/testing/tests/frames); it links the library's internals.
 *
 *   frames HOME ENDPOINT PEER_ID FRAMES SETS [VALUE_BYTES [SEQ]]
 *   With FRAMES_BUNDLE=FILE in the environment, each BATCH carries that file's bytes (a
 *   bundle made by tests/tools/forge: a lying member's sets or watermarks) instead.
 *   With FRAMES_RANGES=1, each frame is instead a RANGE that starts a new repair of
 *   collection "x" (a new repair id, a digest no store has, the range list of an empty
 *   side), SETS ignored; it then prints how many the daemon answered.
 *   With FRAMES_BLOCK_REQ=FOLDER_ID and FRAMES_BLOCK_FILE=PATH (a file under 32 KiB: one
 *   block), FRAMES and SETS ignored, it sends one BLOCK_REQ for that file's block in folder
 *   FOLDER_ID and prints the answer: "block here", "block not held" or "block no answer"
 *   (tests/integration/86: a member the folder is not shared with gets no block).
 *   FRAMES_BLOCK_FILE=PATH:PATH:... (2 to 32 such files): one BLOCK_REQ of layout 2 for
 *   their blocks; prints "blocks H of N here in F frame(s)" (the blocks that came back whole
 *   within 5 s, and in how many BLOCK frames). With FRAMES_BLOCK_BAD=1 as well, the request
 *   is malformed (33 hashes, one past the cap); prints "no answer" when nothing came back in
 *   3 s (the daemon drops the session and logs it), else "answered" (tests/integration/113).
 *   SETS 0: as many as fit in one frame (the transport's cap). The set is a put of key
 *   "k<SEQ>" in collection "x", seq SEQ (default 1) of incarnation 1. Prints one line: the frames
 *   sent, the sets in each, the bytes of a set and of a frame, the last batch acknowledged,
 *   and whether the daemon dropped the session (with its ERROR text).
 *
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/data/recon.h"
#include "core/wire/blockmsg.h"
#include "core/wire/doc.h"
#include "core/wire/msg.h"
#include "core/wire/set.h"
#include "crypto/devid.h"
#include "crypto/hash.h"
#include "crypto/ident.h"
#include "transport/transport.h"

#define F_DEADLINE_MS 120000 /* for the whole run: the daemon may commit slowly */

static void
f_die(const char *what)
{
    fprintf(stderr, "frames: %s\n", what);
    exit(2);
}

static int64_t
f_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
f_admit(void *ctx, const uint8_t *key)
{
    (void)ctx;
    (void)key;
    return true;
}

/* One set: a put of "k<seq>" in "x", seq of incarnation 1, value_bytes of 'v'. */
static void
f_set(const ident_t *id, size_t value_bytes, uint64_t seq, wire_buf_t *out)
{
    char key[32];
    snprintf(key, sizeof key, "k%" PRIu64, seq);
    char *value = malloc(value_bytes + 1);
    if (!value) {
        f_die("no memory");
    }
    memset(value, 'v', value_bytes);
    wire_buf_t meta, header;
    wire_buf_init(&meta);
    wire_buf_init(&header);
    wire_opmeta_t m = {.seq = seq,
                       .key = (const uint8_t *)key,
                       .key_len = strlen(key),
                       .kind = WIRE_PUT,
                       .value_len = (uint32_t)value_bytes};
    hash_tagged(HASH_TAG_VALUE, value, value_bytes, m.vhash);
    uint8_t leaf[HASH_LEN];
    if (wire_opmeta_encode(&m, NULL, 0, &meta) != MESH_OK) {
        f_die("the op does not encode");
    }
    hash_tagged(HASH_TAG_LEAF, meta.data, meta.len, leaf);
    wire_header_t h = {.coll = "x",
                       .coll_len = 1,
                       .incarnation = 1,
                       .first_seq = seq,
                       .count = 1,
                       .hlc = ((uint64_t)time(NULL) * 1000) << 16};
    memcpy(h.origin, ident_public_key(id), WIRE_ORIGIN_LEN);
    hash_merkle_root((const uint8_t(*)[HASH_LEN])leaf, 1, h.root);
    uint8_t sig[IDENT_SIG_LEN];
    wire_op_t op = {.meta = meta.data,
                    .meta_len = meta.len,
                    .value = (const uint8_t *)value,
                    .value_len = value_bytes};
    if (wire_header_encode(&h, &header) != MESH_OK) {
        f_die("the header does not encode");
    }
    ident_sign(id, header.data, header.len, sig);
    if (wire_set_encode(header.data, header.len, sig, &op, 1, out) != MESH_OK) {
        f_die("the set does not encode");
    }
    wire_buf_release(&meta);
    wire_buf_release(&header);
    free(value);
}

/* A BATCH frame of n copies of set. */
static void
f_frame(const wire_buf_t *set, size_t n, uint64_t id, bool more, wire_buf_t *out)
{
    wire_buf_t bundle;
    wire_buf_init(&bundle);
    mesh_err_t err = wire_bundle_begin(1, &bundle);
    if (err == MESH_OK) {
        err = wire_section_begin("x", n, &bundle);
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = wire_section_set(set->data, set->len, &bundle);
    }
    if (err == MESH_OK) {
        err = wire_section_marks(NULL, 0, &bundle);
    }
    wire_msg_t msg = {.type = WIRE_MSG_BATCH,
                      .num = id,
                      .body = bundle.data,
                      .body_len = bundle.len,
                      .more = more};
    wire_buf_reset(out);
    if (err != MESH_OK || wire_msg_encode(&msg, out) != MESH_OK) {
        f_die("the frame does not encode");
    }
    wire_buf_release(&bundle);
}

typedef struct f_peer {
    transport_t *t;
    uint32_t conn;
    uint64_t acked;
    bool hello, dropped;
    size_t ranges; /* RANGE messages heard */
    size_t pongs_lost;
    char error[256];
} f_peer_t;

/* Take what the daemon says for up to wait_ms: its HELLO, ACKs, PINGs (answered), ERROR. */
static void
f_listen(f_peer_t *p, int wait_ms)
{
    transport_msg_t tm;
    wire_msg_t msg;
    int64_t end = f_now_ms() + wait_ms;
    do {
        int64_t left = end - f_now_ms();
        if (transport_recv(p->t, left > 0 ? (int)left : 0, &tm) != MESH_OK) {
            return;
        }
        if (wire_msg_decode(tm.data, tm.len, &msg) != MESH_OK) {
            continue;
        }
        if (msg.type == WIRE_MSG_HELLO) {
            p->hello = true;
        } else if (msg.type == WIRE_MSG_RANGE) {
            p->ranges++;
        } else if (msg.type == WIRE_MSG_ACK && msg.num > p->acked) {
            p->acked = msg.num;
        } else if (msg.type == WIRE_MSG_PING) {
            wire_buf_t b;
            wire_buf_init(&b);
            wire_msg_t pong = {.type = WIRE_MSG_PONG, .num = msg.num};
            if (wire_msg_encode(&pong, &b) == MESH_OK) {
                /* (a PONG lost: the next PING asks again) */
                p->pongs_lost += transport_send(p->t, tm.conn, b.data, b.len) != MESH_OK;
            }
            wire_buf_release(&b);
        } else if (msg.type == WIRE_MSG_ERROR) {
            p->dropped = true;
            snprintf(p->error, sizeof p->error, "%.*s", (int)msg.body_len, (const char *)msg.body);
        }
    } while (f_now_ms() < end);
}

/* Send one frame, waiting while the link's queue is full. */
static void
f_send(f_peer_t *p, const wire_buf_t *frame, int64_t deadline)
{
    for (;;) {
        mesh_err_t err = transport_send(p->t, p->conn, frame->data, frame->len);
        if (err == MESH_OK) {
            return;
        }
        if ((err != MESH_EBUSY && err != MESH_ENOTFOUND) || f_now_ms() > deadline) {
            fprintf(stderr, "frames: send: %s (%s)\n", mesh_strerror(err), transport_errmsg(p->t));
            exit(1);
        }
        f_listen(p, 20);
    }
}

/* FRAMES_RANGES: n RANGE messages, each starting a new repair of "x"; then a few seconds
 * of listening. Prints the RANGEs sent and answered. */
static int
f_ranges(f_peer_t *p, size_t n, int64_t deadline)
{
    recon_set_t *set = NULL;
    recon_t *r = NULL;
    wire_buf_t list, frame;
    wire_buf_init(&list);
    wire_buf_init(&frame);
    if (recon_set_new(&set) != MESH_OK || recon_new(set, &r) != MESH_OK ||
        recon_start(r, &list) != MESH_OK) {
        f_die("the range list does not encode");
    }
    for (size_t i = 1; i <= n && !p->dropped; i++) {
        uint8_t digest[WIRE_DIGEST_LEN], key[RECON_KEY_LEN];
        uint64_t id = 0;
        ident_random(&id, sizeof id);
        ident_random(digest, sizeof digest);
        ident_random(key, sizeof key);
        wire_msg_t msg = {.type = WIRE_MSG_RANGE,
                          .num = id,
                          .coll = "x",
                          .coll_len = 1,
                          .digest = digest,
                          .hash_key = key,
                          .body = list.data,
                          .body_len = list.len};
        wire_buf_reset(&frame);
        if (wire_msg_encode(&msg, &frame) != MESH_OK) {
            f_die("the RANGE does not encode");
        }
        f_send(p, &frame, deadline);
        f_listen(p, 0);
    }
    f_listen(p, 3000);
    printf("ranges %zu answered %zu%s%s\n", n, p->ranges, p->dropped ? " error: " : "", p->error);
    recon_free(r);
    recon_set_free(set);
    wire_buf_release(&list);
    wire_buf_release(&frame);
    transport_close(p->t);
    return p->dropped ? 1 : 0;
}

/* FRAMES_BLOCK_REQ: one BLOCK_REQ for the block of the file FRAMES_BLOCK_FILE (one block);
 * prints what came back within 5 s. */
static int
f_block_req(f_peer_t *p, const char *folder, const char *file)
{
    uint8_t data[32768], hash[HASH_LEN];
    FILE *f = fopen(file, "rb");
    size_t n = f ? fread(data, 1, sizeof data, f) : 0;
    if (!f || n == 0 || n == sizeof data) {
        f_die("FRAMES_BLOCK_FILE: no file of 1 byte to 32 KiB");
    }
    fclose(f);
    hash_tagged(HASH_TAG_BLOCK, data, n, hash);
    wire_block_req_t req = {.folder = folder, .folder_len = strlen(folder), .hash = hash};
    wire_buf_t body, frame;
    wire_buf_init(&body);
    wire_buf_init(&frame);
    uint64_t id = 0;
    ident_random(&id, sizeof id);
    wire_msg_t msg = {.type = WIRE_MSG_BLOCK_REQ, .num = id};
    if (wire_block_req_encode(&req, &body) != MESH_OK) {
        f_die("the BLOCK_REQ does not encode");
    }
    msg.body = body.data;
    msg.body_len = body.len;
    if (wire_msg_encode(&msg, &frame) != MESH_OK) {
        f_die("the BLOCK_REQ does not encode");
    }
    f_send(p, &frame, f_now_ms() + 10000);
    const char *said = "no answer";
    for (int64_t end = f_now_ms() + 5000; f_now_ms() < end;) {
        transport_msg_t tm;
        wire_msg_t got;
        wire_block_t blk;
        if (transport_recv(p->t, 100, &tm) != MESH_OK ||
            wire_msg_decode(tm.data, tm.len, &got) != MESH_OK) {
            continue;
        }
        if (got.type == WIRE_MSG_BLOCK && got.num == id &&
            wire_block_decode(got.body, got.body_len, &blk) == MESH_OK) {
            said =
                blk.status == WIRE_BLOCK_HERE && blk.data_len == n && memcmp(blk.data, data, n) == 0
                    ? "here"
                : blk.status == WIRE_BLOCK_HERE ? "here but wrong"
                                                : "not held";
            break;
        }
    }
    printf("block %s\n", said);
    wire_buf_release(&body);
    wire_buf_release(&frame);
    transport_close(p->t);
    return 0;
}

/* The blocks of FRAMES_BLOCK_FILE's files (':' between them, each one block) asked in one
 * BLOCK_REQ of layout 2 (bad: 33 hashes); what came back printed. */
#define F_MANY (WIRE_BLOCKMSG_MULTI_MAX + 1)
static uint8_t f_data[F_MANY][32768], f_hash[F_MANY][HASH_LEN];
static size_t f_len[F_MANY];

static size_t
f_read_files(const char *files)
{
    char list[8192];
    size_t n = 0;
    snprintf(list, sizeof list, "%s", files);
    for (char *save = NULL, *path = strtok_r(list, ":", &save); path && n < F_MANY;
         path = strtok_r(NULL, ":", &save), n++) {
        FILE *f = fopen(path, "rb");
        f_len[n] = f ? fread(f_data[n], 1, sizeof f_data[n], f) : 0;
        if (!f || f_len[n] == 0 || f_len[n] == sizeof f_data[n]) {
            f_die("FRAMES_BLOCK_FILE: no file of 1 byte to 32 KiB");
        }
        fclose(f);
        hash_tagged(HASH_TAG_BLOCK, f_data[n], f_len[n], f_hash[n]);
    }
    return n;
}

/* The request's body: layout 2 of files[0..n), or (bad) of 33 hashes. */
static void
f_many_body(size_t n, bool bad, wire_buf_t *body)
{
    wire_blocks_req_t req = {.folder = "", .n = bad ? WIRE_BLOCKMSG_MULTI_MAX : n};
    req.folder = getenv("FRAMES_BLOCK_REQ");
    req.folder_len = strlen(req.folder);
    for (size_t i = 0; i < req.n; i++) {
        req.hash[i] = f_hash[i < n ? i : 0];
    }
    if (wire_blocks_req_encode(&req, body) != MESH_OK) {
        f_die("the BLOCK_REQ does not encode");
    }
    if (bad) { /* array16 of 32 after [2, folder]: made 33 long, and one more hash */
        size_t at = 2 + 1 + req.folder_len;
        uint8_t more[2 + HASH_LEN] = {0xc4, HASH_LEN};
        if (req.folder_len > 31 || body->data[at] != 0xdc || body->data[at + 2] != 0x20 ||
            wire_buf_append(body, more, sizeof more) != MESH_OK) {
            f_die("the bad BLOCK_REQ cannot be made");
        }
        body->data[at + 2] = 0x21;
    }
}

/* How many blocks of the answer (layout 1 or 2) to request id are files' blocks, whole. */
static size_t
f_many_here(const wire_msg_t *got, size_t n)
{
    wire_blocks_t many;
    wire_block_t one;
    if (wire_block_decode(got->body, got->body_len, &one) == MESH_OK) {
        many.n = 1;
        many.blk[0] = one;
    } else if (wire_blocks_decode(got->body, got->body_len, &many) != MESH_OK) {
        return 0;
    }
    size_t here = 0;
    for (size_t k = 0; k < many.n; k++) {
        for (size_t i = 0; i < n; i++) {
            const wire_block_t *b = &many.blk[k];
            here += b->status == WIRE_BLOCK_HERE && b->data_len == f_len[i] &&
                    memcmp(b->hash, f_hash[i], HASH_LEN) == 0 &&
                    memcmp(b->data, f_data[i], f_len[i]) == 0;
        }
    }
    return here;
}

static int
f_block_many(f_peer_t *p, const char *files)
{
    size_t n = f_read_files(files), here = 0, frames = 0;
    bool bad = getenv("FRAMES_BLOCK_BAD") != NULL;
    wire_buf_t body, frame;
    wire_buf_init(&body);
    wire_buf_init(&frame);
    uint64_t id = 0;
    ident_random(&id, sizeof id);
    f_many_body(n, bad, &body);
    wire_msg_t msg = {
        .type = WIRE_MSG_BLOCK_REQ, .num = id, .body = body.data, .body_len = body.len};
    if (wire_msg_encode(&msg, &frame) != MESH_OK) {
        f_die("the BLOCK_REQ does not encode");
    }
    f_send(p, &frame, f_now_ms() + 10000);
    for (int64_t end = f_now_ms() + (bad ? 3000 : 5000); f_now_ms() < end && here < n;) {
        transport_msg_t tm;
        wire_msg_t got;
        if (transport_recv(p->t, 100, &tm) == MESH_OK &&
            wire_msg_decode(tm.data, tm.len, &got) == MESH_OK && got.type == WIRE_MSG_BLOCK &&
            got.num == id) {
            frames++;
            here += f_many_here(&got, n);
        }
    }
    if (bad) {
        printf("%s\n", frames ? "answered" : "no answer");
    } else {
        printf("blocks %zu of %zu here in %zu frame(s)\n", here, n, frames);
    }
    wire_buf_release(&body);
    wire_buf_release(&frame);
    transport_close(p->t);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 6) {
        f_die("usage: frames HOME ENDPOINT PEER_ID FRAMES SETS [VALUE_BYTES [SEQ]]");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/identity", argv[1]);
    ident_t *id = NULL;
    uint8_t pk[32], curve_pk[32], curve_sk[32], server[32];
    if (ident_lib_init() != MESH_OK || ident_load(path, 0, &id, NULL, 0) != MESH_OK) {
        f_die("cannot load HOME/identity");
    }
    if (devid_parse(argv[3], pk) != MESH_OK || ident_curve_public(pk, server) != MESH_OK ||
        ident_curve_public(ident_public_key(id), curve_pk) != MESH_OK ||
        ident_curve_secret(id, curve_sk) != MESH_OK) {
        f_die("PEER_ID is not a device ID, or the keys do not convert");
    }
    size_t frames = strtoull(argv[4], NULL, 10), sets = strtoull(argv[5], NULL, 10);
    size_t value_bytes = argc > 6 ? strtoull(argv[6], NULL, 10) : 0;
    uint64_t seq = argc > 7 ? strtoull(argv[7], NULL, 10) : 1;
    wire_buf_t set, frame, vec;
    wire_buf_init(&set);
    wire_buf_init(&frame);
    wire_buf_init(&vec);
    f_set(id, value_bytes, seq ? seq : 1, &set);
    if (sets == 0) {
        sets = (TRANSPORT_FRAME_MAX - 256) / (set.len + 5);
    }
    f_peer_t p = {0};
    if (transport_open(curve_pk, curve_sk, f_admit, NULL, &p.t) != MESH_OK ||
        transport_connect(p.t, server, argv[2], &p.conn) != MESH_OK) {
        f_die("cannot connect");
    }
    ident_wipe(curve_sk, sizeof curve_sk);
    /* HELLO with an empty vector: a session like any member's */
    uint8_t summary[WIRE_SUMMARY_LEN] = {0};
    if (wire_vector_begin(0, &vec) != MESH_OK) {
        f_die("no memory");
    }
    wire_msg_t hello = {.type = WIRE_MSG_HELLO,
                        .major = WIRE_PROTO_MAJOR,
                        .minor = WIRE_PROTO_MINOR,
                        .name = "frames",
                        .name_len = 6,
                        .num = (uint64_t)time(NULL),
                        .credit = 1,
                        .summary = summary,
                        .body = vec.data,
                        .body_len = vec.len};
    if (wire_msg_encode(&hello, &frame) != MESH_OK) {
        f_die("the HELLO does not encode");
    }
    int64_t t0 = f_now_ms(), deadline = t0 + F_DEADLINE_MS;
    f_send(&p, &frame, t0 + 10000);
    while (!p.hello && f_now_ms() < t0 + 10000) {
        f_listen(&p, 100);
    }
    if (!p.hello) {
        f_die("no HELLO from the daemon in 10 s");
    }
    if (getenv("FRAMES_BLOCK_REQ")) {
        const char *file = getenv("FRAMES_BLOCK_FILE");
        int rc = file && strchr(file, ':')
                     ? f_block_many(&p, file)
                     : f_block_req(&p, getenv("FRAMES_BLOCK_REQ"), file ? file : "");
        wire_buf_release(&set);
        wire_buf_release(&frame);
        wire_buf_release(&vec);
        ident_free(id);
        return rc;
    }
    if (getenv("FRAMES_RANGES")) {
        int rc = f_ranges(&p, frames, deadline); /* (it closes the transport) */
        wire_buf_release(&set);
        wire_buf_release(&frame);
        wire_buf_release(&vec);
        ident_free(id);
        return rc;
    }
    size_t frame_bytes = 0;
    const char *file = getenv("FRAMES_BUNDLE");
    wire_buf_t given;
    wire_buf_init(&given);
    if (file) {
        FILE *f = fopen(file, "rb");
        uint8_t chunk[4096];
        size_t n = 0;
        while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (wire_buf_append(&given, chunk, n) != MESH_OK) {
                f_die("no memory");
            }
        }
        if (!f || ferror(f) || given.len == 0) {
            f_die("cannot read FRAMES_BUNDLE");
        }
        fclose(f);
    }
    for (size_t i = 1; i <= frames && !p.dropped; i++) {
        if (file) {
            wire_msg_t batch = {.type = WIRE_MSG_BATCH,
                                .num = i,
                                .body = given.data,
                                .body_len = given.len,
                                .more = i < frames};
            wire_buf_reset(&frame);
            if (wire_msg_encode(&batch, &frame) != MESH_OK) {
                f_die("the BATCH does not encode");
            }
        } else {
            f_frame(&set, sets, i, i < frames, &frame);
        }
        frame_bytes = frame.len;
        f_send(&p, &frame, deadline);
        f_listen(&p, 0);
    }
    /* A PING a second: a daemon that dropped the session answers it with an ERROR */
    for (uint64_t nonce = 1; !p.dropped && p.acked < frames && f_now_ms() < deadline; nonce++) {
        wire_msg_t ping = {.type = WIRE_MSG_PING, .num = nonce};
        wire_buf_reset(&frame);
        if (wire_msg_encode(&ping, &frame) == MESH_OK) {
            f_send(&p, &frame, deadline);
        }
        f_listen(&p, 1000);
    }
    printf("frames %zu sets %zu set_bytes %zu frame_bytes %zu acked %" PRIu64 " ms %lld%s%s\n",
           frames, sets, set.len, frame_bytes, p.acked, (long long)(f_now_ms() - t0),
           p.dropped ? " error: " : "", p.error);
    transport_close(p.t);
    wire_buf_release(&set);
    wire_buf_release(&frame);
    wire_buf_release(&vec);
    wire_buf_release(&given);
    ident_free(id);
    return p.acked == frames ? 0 : 1;
}
