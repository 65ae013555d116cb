/* tests/fuzz/fuzz_addrs.c: libFuzzer harness for the address lists of core/wire/addrs.c
 * (docs/PROTOCOL.md §17): the input as the body of a PEX (what any member may send us), as a
 * stored address book (read back from the store), and as a whole session message. What
 * must hold: whatever decodes re-encodes to the very same bytes (one meaning, one encoding),
 * within the caps, with every address it points at inside the input; what fails leaves its
 * output zeroed. Any mismatch abort()s.
 * Built by `make fuzz` (clang, libFuzzer) and, with tests/fuzz/replay.c, by gcc for `make
 * test`, with tests/fuzz/check.c and tests/fuzz/rig.c.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire/addrs.h"
#include "core/wire/buf.h"
#include "core/wire/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is [p, p + len) inside [data, data + size)? */
static bool
s_inside(const uint8_t *data, size_t size, const char *p, size_t len)
{
    const uint8_t *q = (const uint8_t *)p;
    return q >= data && len <= size && (size_t)(q - data) <= size - len;
}

static void
s_pex(const uint8_t *data, size_t size)
{
    static wire_pex_t pex; /* (large: not on the stack) */
    wire_buf_t out;
    if (wire_pex_decode(data, size, &pex) != MESH_OK) {
        CHECK(pex.count == 0);
        return;
    }
    CHECK(pex.count >= 1 && pex.count <= WIRE_PEX_ENTRIES_MAX && size <= WIRE_PEX_MAX);
    for (size_t i = 0; i < pex.count; i++) {
        const wire_pex_entry_t *e = &pex.entries[i];
        CHECK(e->count >= 1 && e->count <= WIRE_PEX_ADDRS_MAX);
        CHECK(i == 0 || memcmp(pex.entries[i - 1].device, e->device, WIRE_ORIGIN_LEN) < 0);
        for (size_t j = 0; j < e->count; j++) {
            CHECK(e->addr_lens[j] >= 1 && e->addr_lens[j] <= WIRE_ADDR_LEN_MAX);
            CHECK(s_inside(data, size, e->addrs[j], e->addr_lens[j]));
        }
    }
    wire_buf_init(&out);
    CHECK(wire_pex_encode(&pex, &out) == MESH_OK);
    CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    wire_buf_release(&out);
}

static void
s_book(const uint8_t *data, size_t size)
{
    wire_book_entry_t entries[WIRE_BOOK_MAX];
    size_t n = 1;
    wire_buf_t out;
    if (wire_book_decode(data, size, entries, &n) != MESH_OK) {
        CHECK(n == 0);
        return;
    }
    CHECK(n <= WIRE_BOOK_MAX);
    for (size_t i = 0; i < n; i++) {
        CHECK(entries[i].source >= 1 && entries[i].source <= WIRE_BOOK_SOURCE_MAX);
        CHECK(s_inside(data, size, entries[i].addr, entries[i].addr_len));
    }
    wire_buf_init(&out);
    CHECK(wire_book_encode(entries, n, &out) == MESH_OK);
    CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    wire_buf_release(&out);
}

/* A session message whose body is the input, decoded as a PEX when it is one. */
static void
s_msg(const uint8_t *data, size_t size)
{
    wire_msg_t msg;
    if (wire_msg_decode(data, size, &msg) == MESH_OK && msg.type == WIRE_MSG_PEX) {
        CHECK(msg.body_len <= WIRE_PEX_MAX);
        s_pex(msg.body, msg.body_len);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_pex(data, size);
    s_book(data, size);
    s_msg(data, size);
    return 0;
}
