/* tests/fuzz/fuzz_pairmsg.c: libFuzzer harness for the pairing messages (docs/PROTOCOL.md
 * §15.4), which a stranger sends while a pairing is open: every byte goes to pairmsg_decode.
 * What decodes must be of a known type with every field within its cap (borrowed text inside
 * the input), and must encode again to exactly the input (one meaning, one encoding); what
 * does not must fail with a decoder's error and a zeroed message. Any breach abort()s.
 * Built with tests/fuzz/check.c by `make fuzz` (clang, libFuzzer) and, with
 * tests/fuzz/replay.c, by gcc for `make test`. Seeds: corpus/pairmsg/ (gen_corpus_pairmsg.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "core/wire/pairmsg.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pairmsg_t msg;
    mesh_err_t err = pairmsg_decode(data, size, &msg);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&msg, sizeof msg));
        return 0;
    }
    CHECK(size <= PAIRMSG_FRAME_MAX);
    CHECK(msg.type >= PAIRMSG_FIRST && msg.type <= PAIRMSG_LAST);
    switch (msg.type) {
    case PAIRMSG_START:
        CHECK(msg.version >= 1 && msg.nameplate >= 1 && msg.nameplate <= 999);
        break;
    case PAIRMSG_RESULT:
        CHECK(msg.name_len <= PAIRMSG_NAME_MAX && msg.naddrs <= PAIRMSG_ADDRS_MAX);
        CHECK(check_is_within(msg.name, msg.name_len, data, size));
        for (size_t i = 0; i < msg.naddrs; i++) {
            CHECK(msg.addr_lens[i] >= 1 && msg.addr_lens[i] <= PAIRMSG_ADDR_MAX);
            CHECK(check_is_within(msg.addrs[i], msg.addr_lens[i], data, size));
        }
        break;
    case PAIRMSG_ERROR:
        CHECK(msg.reason >= 1 && msg.reason <= PAIR_REASON_LAST);
        CHECK(msg.text_len <= PAIRMSG_TEXT_MAX);
        CHECK(check_is_within(msg.text, msg.text_len, data, size));
        break;
    default:
        break;
    }
    /* strict: what decodes is the one encoding of what it means */
    wire_buf_t out;
    wire_buf_init(&out);
    CHECK(pairmsg_encode(&msg, &out) == MESH_OK);
    CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    wire_buf_release(&out);
    return 0;
}
