/* tests/fuzz/fuzz_wire.c: libFuzzer harness for the strict decoders of core/wire/set.c and
 * core/wire/msg.c. Decodes the input as a set (then its header and each op's metadata and
 * context), directly as a header and as op metadata, and as a session message (what a peer
 * sends first). Whatever decodes must re-encode to the very same bytes and decode again to the
 * same values (one meaning, one encoding); any mismatch abort()s.
 * The checks themselves live in tests/fuzz/check.c, shared with fuzz_bundle.
 * Built with tests/fuzz/check.c (CHECK and the predicates it shares with the other targets)
 * by `make fuzz` (clang, libFuzzer) and, with tests/fuzz/replay.c, by gcc for `make test`.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_set(data, size);
    check_header(data, size);
    check_opmeta(data, size);
    check_msg(data, size);
    return 0;
}
