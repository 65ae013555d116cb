/* core/sync/sync.h: the state that the modules of core/sync share (an internal header: no
 * .c of its own, included only by
 * core/sync/{loop,dial,own,session,repair,pex,presence,status,statusfile,control}.c). Owns: the
 * tuning of the loop and its sessions, struct loop (the thread's state) and struct session (one per
 * member); both belong to the loop thread, but for the published status text, which status_lock
 * guards (read by mesh_status on any thread), and listen, which is set before the thread starts and
 * never changes. Not here: the loop's interface to the rest of core (core/sync/loop.h). Layer: core
 * (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_SYNC_H
#define MESH_CORE_SYNC_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/apply/collect.h"
#include "core/base/node.h"
#include "core/bundle/export.h"
#include "core/data/vector.h"
#include "core/member/addrbook.h"
#include "core/sync/inbox.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "core/wire/msg.h"
#include "core/wire/set.h"
#include "meshsync.h"
#include "transport/transport.h"

#define LOOP_BATCH_BYTES      (1u << 20)  /* set bytes per batch, cut at a set boundary */
#define LOOP_CREDIT           48u         /* batches a peer may have in flight to us */
#define LOOP_GROUP_BATCHES    64u         /* received batches committed in one transaction, */
#define LOOP_GROUP_BYTES      (32u << 20) /* at most, or this many bytes, */
#define LOOP_IDLE_MS          50          /* ms: the longest the loop waits with nothing to do */
#define LOOP_PROCESS_MS       20          /* ms: one mesh_process's turns, at most (loop_process) */
#define LOOP_FRAMES_TURN      64          /* frames handed to sessions in one loop turn, at most */
#define LOOP_FRAMES_TURN_MS   10   /* ms: and no more once the turn's frames took this long */
#define LOOP_PROCESS_FDS      64   /* descriptors behind loop_fd, at most */
#define LOOP_GROUP_MS         1000 /* or whatever came before the sender paused this long */
#define LOOP_QUEUE_BATCHES    (2 * LOOP_CREDIT) /* received batches queued, checked ahead, */
#define LOOP_QUEUE_BYTES      (64u << 20) /* and their bytes at most (one batch alone may pass) */
#define LOOP_RELEASE_OPS      20000u      /* after applying this many ops, */
#define LOOP_RELEASE_MS       1000 /* and a second without any, the store gives memory back */
#define LOOP_RELEASE_SENT     (32u << 20) /* so does the heap after this many batch bytes sent */
#define LOOP_PING_MS          1000        /* ping a silent peer this often */
#define LOOP_DEAD_MS          4000        /* a peer silent this long is disconnected */
#define LOOP_HELLO_RETRY_MS   2000        /* a HELLO unanswered this long is said again */
#define LOOP_REDIAL_MIN_MS    3000        /* no session this long after dialling: dial again, */
#define LOOP_REDIAL_MAX_MS    30000       /* waiting twice as long each time, up to this */
#define LOOP_REFUSED_RETRY_MS 60000       /* a peer that refused our version: HELLO again after */
#define LOOP_STATUS_MS        250         /* status file refresh */
#define LOOP_FLOOD_LOG_MS     10000       /* connections shed pre-auth: one log line this often */
#define LOOP_GC_HOLD_MS       10000       /* collection waits for a backlog this long at most */

#define SYNC_NO_CONN UINT32_MAX /* a session's connection that is not there */

typedef struct loop loop_t; /* (also in core/sync/loop.h: the same type) */
typedef struct session session_t;
typedef struct sync_repair sync_repair_t; /* the slow path with one member (core/sync/repair.c) */

/* How folder work sends a message to a session (session.c's s_send_any). */
typedef mesh_err_t (*sync_send_fn)(loop_t *l, session_t *s, const wire_msg_t *msg);

/* The path of an origin's sets whose member has no session yet (core/sync/pex.c): a batch
 * that brought a new member's record brought its sets too. */
#define SYNC_PATHS_PENDING 16
typedef struct sync_path_pending {
    uint8_t origin[WIRE_ORIGIN_LEN];
    session_t *via; /* the session whose batch carried them */
    time_t when;
} sync_path_pending_t;

/* One member's sync session. */
#define SYNC_PEX_KEPT "pextold/" /* + a member ID: what it was last told (§17) */

struct session {
    uint8_t device[WIRE_ORIGIN_LEN];
    uint8_t curve[TRANSPORT_KEY_LEN];
    char id[MESH_ID_TEXT_LEN + 1];
    char name[65];         /* its name in the membership records, "" if none */
    char *addrs;           /* every known address, space-separated (malloc'd; NULL: none) */
    size_t addrs_ignored;  /* its records' addresses not of our form, as last logged */
    char addr[256];        /* the one dialled, "" if none */
    size_t addr_i;         /* its place among addrs */
    int64_t redial_after;  /* no session this long after dialling: dial the next one */
    uint32_t conn_out;     /* our DEALER to it, or SYNC_NO_CONN */
    uint32_t conn_in;      /* the inbound connection it last spoke on, or SYNC_NO_CONN */
    bool hello_out;        /* our HELLO went out on conn_out since it last went silent */
    bool ok;               /* it said HELLO with a major version we speak */
    bool refused;          /* it speaks a major version we do not: do not push */
    bool removed;          /* removed from the mesh: its key refused, sent nothing (dial.c) */
    int64_t refused_ms;    /* when that was said (HELLO is tried again after a while) */
    bool connected;        /* heard from within LOOP_DEAD_MS */
    uint64_t peer_session; /* the session id of its last HELLO: new when it restarted */
    uint64_t credit;       /* batches it takes in flight (its HELLO) */
    uint64_t minor;        /* the minor protocol version of its HELLO */
    /* What it holds, as far as we know: its vector file (the "view"). */
    vector_t *vv;       /* NULL until known */
    bool view_exact;    /* vv is its vector as it sent it (HELLO, VECTOR), not a lower bound */
    vector_t *hello_vv; /* our vector as sent in our last HELLO on conn_out */
    uint8_t hello_summary[WIRE_SUMMARY_LEN]; /* and its summary */
    /* Sending: a pass walks what the view lacks in batches, credit of them in flight. */
    bool passing;          /* a pass is under way */
    bool pass_end;         /* it has sent its last batch */
    bool again;            /* something changed: another pass once this one is done */
    bool asked;            /* we asked for its vector: no pass until it comes */
    export_pos_t pos;      /* where the pass stopped */
    uint64_t pass_batches; /* batches sent in this pass */
    uint64_t sent_id;      /* the last batch id sent (ids rise by one) */
    uint32_t batch_conn;   /* the link the batches in flight went on (session_push) */
    uint32_t sent_conn;    /* the link of the last message sent (session.c) */
    uint64_t acked_id;     /* the highest id acknowledged (or given up on) */
    uint8_t ack_summary[WIRE_SUMMARY_LEN]; /* its summary in its last ACK */
    int64_t progress_ms;                   /* last batch sent, ack or question */
    /* Receiving. */
    bool recv_failed; /* a batch of it failed in the commit under way: none is acknowledged */
    int64_t heard_ms, sent_ms, seen_ms, summary_ms;
    int64_t hello_ms;     /* when our HELLO went out on conn_out */
    int64_t nosession_ms; /* when we last told it to say HELLO first */
    int64_t dial_ms;      /* when we dialled it or it went silent: its link comes up soon */
    uint64_t batches_out, batches_in, bytes_out, bytes_in, ops_in;
    uint64_t versions_out;                    /* versions sent in batches */
    uint64_t batch_bytes_out, batch_bytes_in; /* bundle bytes of the batches each way */
    uint64_t blocks_asked, blocks_asked_in;   /* file blocks we asked of it, it asked of us */
    time_t seen_unix; /* when it was last heard from (wall clock), 0: never */
    /* The slow path (§13). */
    uint8_t peer_summary[WIRE_SUMMARY_LEN]; /* its last summary (HELLO, SUMMARY, ACK) */
    bool peer_summary_known;
    sync_repair_t *repair;               /* a repair under way with it, or NULL */
    int64_t repair_ms;                   /* when the last one started */
    uint64_t answer_id;                  /* the last repair it started that we answered, */
    int64_t answer_ms;                   /* when that began, */
    char answer_coll[MESH_COLL_MAX + 1]; /* and its collection under way (name order) */
    uint64_t answers_refused;            /* its repair starts refused as too soon */
    uint64_t repairs; /* repairs with it that moved something, since the loop started */
    /* The last state both held at once (its summary equal to ours), kept in the store across
     * restarts (session_save): a dialler that still holds it says HELLO without its vector,
     * and an answerer that remembers it takes it as the view (§11.2). */
    bool agreed_loaded; /* looked up in the store since the loop started */
    bool agreed_known;
    bool agreed_dirty; /* changed since it was loaded or saved */
    uint8_t agreed[WIRE_SUMMARY_LEN];
    vector_t *agreed_vv; /* the vector of that state */
    /* Addresses and peer exchange (core/sync/pex.c, §17). */
    addrbook_t book;        /* its addresses, loaded with the session (dial.c) */
    uint32_t book_conn;     /* the conn_out last noted as working, */
    int64_t book_ok_ms;     /* and when */
    int64_t pex_sent_ms;    /* when we last looked at what to tell it (0: not since HELLO) */
    int64_t pex_told_ms;    /* when we last told it addresses */
    uint64_t pex_sent_hash; /* a hash of what we told it then */
    uint64_t pex_kept_hash; /* the hash of the last body it was told, kept in the store
                             * (meta record SYNC_PEX_KEPT<ID>) across restarts */
    bool pex_kept_dirty;    /* changed since loaded or saved */
    int64_t pex_up_ms;      /* when its session came up (0: not up) */
    int64_t pex_heard_ms;   /* when it last told us some */
    uint64_t pex_ignored;   /* its PEX messages ignored as too soon after the last */
    struct session *via;    /* the session whose batch last carried its sets, or NULL */
    time_t via_unix;        /* when that batch was committed */
};

/* The loop thread's state. */
struct loop {
    mesh_t *m;
    pthread_t thread; /* (none when external: the caller's loop runs loop_process) */
    int stop;
    bool external;     /* driven by loop_fd/loop_process (mesh_fd/mesh_process), not a thread */
    bool busy, quick;  /* the last turn had more to push; a link comes up any moment */
    int epfd, timerfd; /* external: the descriptor the caller polls, and its timer in it */
    int wake_fd;       /* an eventfd a local commit writes to (m->wake): the loop's poll wakes */
    int fds[LOOP_PROCESS_FDS]; /* external: the transport's descriptors in epfd */
    size_t nfds;
    transport_t *t;
    inbox_t *inbox;      /* received batches not yet committed (checked meanwhile) */
    struct spool *spool; /* acknowledged batches not yet applied (core/sync/spool.h) */
    char listen[256];
    session_t **sess; /* one per member (dial_members), each its own allocation: inbox
                       * batches point at theirs; the array grows with membership */
    size_t nsess, sess_cap;
    session_t **by_curve; /* the same sessions, sorted by CURVE key (dial_by_curve) */
    size_t nby_curve;
    uint64_t members_gen;
    uint64_t last_txnid;
    uint64_t refused;   /* transport refusals already logged */
    uint64_t shed;      /* pre-auth connections shed (transport_shed) already logged, */
    int64_t shed_ms;    /* when that was last logged */
    uint64_t major;     /* the protocol major version we announce (§11.1) */
    uint64_t session;   /* random, per start: peers tell a restart from a second HELLO */
    int64_t slow;       /* test hook: the liveness timeouts stretched this many times (1) */
    int64_t drained_ms; /* when the transport last had nothing waiting (silence ends there) */
    wire_buf_t buf, body;
    /* our own vector and summary, as of own_txnid, and its vector file once one is sent */
    vector_t *own_vv;
    collect_state_t gc; /* acknowledgements and tombstone collection (core/apply/collect) */
    int64_t gc_held_ms; /* since when a backlog streaming in holds gc back (0: it does not) */
    uint8_t *own;       /* NULL until own_file encodes it */
    size_t own_len;
    uint8_t own_summary[WIRE_SUMMARY_LEN];
    uint64_t own_txnid;
    bool own_valid;
    int64_t flush_ms;            /* when the last commit of received batches ended */
    uint64_t ops_unreleased;     /* ops applied since the store last gave memory back */
    uint64_t sent_unreleased;    /* batch bytes sent since the heap was last given back */
    int64_t sent_ms;             /* when the last batch went out */
    struct status *status;       /* the status writer's state (core/sync/status.c) */
    pthread_mutex_t status_lock; /* guards the two below */
    char *status_text;           /* the status last published (status_publish), or NULL */
    size_t status_len;           /* its length */
    uint64_t status_gen;         /* publications so far (loop thread: control.c) */
    uint64_t status_txnid;       /* the txnid the last one's figures were counted at */
    struct control *control;     /* the control socket's server (core/sync/control.c) */

    /* LAN discovery (core/sync/discover.h), NULL when off */
    struct discover *discover;
    int64_t pex_save_ms; /* when the address books were last saved (core/sync/pex.c) */
    size_t pex_start;    /* the member a PEX names first (they take turns past the cap) */
    sync_path_pending_t paths_pending[SYNC_PATHS_PENDING]; /* paths of origins without a */
    size_t npaths_pending;                                 /* session yet (pex.c) */
    struct folders *folders;   /* the folder work (core/sync/folders.c), NULL until it starts */
    struct presence *presence; /* presence and messages (core/sync/presence.h, §22) */
};

/* The monotonic clock in ms (node_now_ms, under the name core/sync has long used). */
static inline int64_t
sync_now_ms(void)
{
    return node_now_ms();
}

#endif /* MESH_CORE_SYNC_SYNC_H */
