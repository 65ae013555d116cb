/* tests/fuzz/fuzz_bundle.c: libFuzzer harness for the bundle and vector-file decoder of
 * core/wire/doc.c (docs/PROTOCOL.md §3.5, §3.6). Decodes the input as a bundle and as a vector
 * file; each set of a bundle is decoded in turn (its header, each op's metadata and context),
 * each extra of a vector entry read. Whatever decodes must re-encode, with the library's
 * encoders, to the very same bytes (one meaning, one encoding); any mismatch abort()s.
 * Built with tests/fuzz/check.c (CHECK and the predicates it shares with the other targets)
 * by `make fuzz` (clang, libFuzzer) and, with tests/fuzz/replay.c, by gcc for `make test`.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "core/wire/set.h"

#include "check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- whole documents ---- */

/* The section's collection name as a C string, for the encoders; false if it holds a NUL
 * (no encoder can write such a name: they take C strings). */
static bool
s_coll_cstr(const wire_section_t *sec, char *out)
{
    if (memchr(sec->coll, '\0', sec->coll_len) != NULL) {
        return false;
    }
    memcpy(out, sec->coll, sec->coll_len);
    out[sec->coll_len] = '\0';
    return true;
}

/* Re-encode a decoded bundle; false when a collection name cannot be written. */
static bool
s_encode_bundle(const wire_doc_t *doc, wire_buf_t *out)
{
    char coll[MESH_COLL_MAX + 1];
    mesh_err_t err = wire_bundle_begin(doc->count, out);

    for (size_t i = 0; err == MESH_OK && i < doc->count; i++) {
        const wire_section_t *sec = &doc->sections[i];

        if (!s_coll_cstr(sec, coll)) {
            return false;
        }
        err = wire_section_begin(coll, sec->set_count, out);
        for (size_t j = 0; err == MESH_OK && j < sec->set_count; j++) {
            err = wire_section_set(sec->sets[j], sec->set_lens[j], out);
        }
        if (err == MESH_OK) {
            err = wire_section_marks(sec->marks, sec->mark_count, out);
        }
    }
    CHECK(err == MESH_OK || err == MESH_ENOMEM);
    return err == MESH_OK;
}

/* Re-encode a decoded vector file; false when a collection name cannot be written. */
static bool
s_encode_vector(const wire_doc_t *doc, wire_buf_t *out)
{
    char coll[MESH_COLL_MAX + 1];
    mesh_err_t err = wire_vector_begin(doc->count, out);

    for (size_t i = 0; err == MESH_OK && i < doc->count; i++) {
        const wire_section_t *sec = &doc->sections[i];
        uint64_t **extras;

        if (!s_coll_cstr(sec, coll)) {
            return false;
        }
        extras = calloc(sec->vv_count ? sec->vv_count : 1, sizeof(*extras));
        CHECK(extras != NULL);
        for (size_t j = 0; j < sec->vv_count; j++) {
            const wire_vv_t *vv = &sec->vvs[j];

            extras[j] = malloc((vv->extra_count ? vv->extra_count : 1) * sizeof(**extras));
            CHECK(extras[j] != NULL);
            for (size_t k = 0; k < vv->extra_count; k++) {
                extras[j][k] = wire_vv_extra(vv, k);
            }
        }
        err = wire_vector_section(coll, sec->vvs, (const uint64_t *const *)extras, sec->vv_count,
                                  out);
        for (size_t j = 0; j < sec->vv_count; j++) {
            free(extras[j]);
        }
        free(extras);
    }
    CHECK(err == MESH_OK || err == MESH_ENOMEM);
    return err == MESH_OK;
}

static void
s_check_section(const wire_section_t *sec, bool is_vector, const uint8_t *buf, size_t len)
{
    CHECK(sec->coll_len >= 1 && sec->coll_len <= MESH_COLL_MAX);
    CHECK(check_is_within(sec->coll, sec->coll_len, buf, len));
    if (is_vector) {
        CHECK(sec->set_count == 0 && sec->sets == NULL && sec->set_lens == NULL);
        CHECK(sec->mark_count == 0 && sec->marks == NULL);
        CHECK(sec->vv_count == 0 || sec->vvs != NULL);
        for (size_t j = 0; j < sec->vv_count; j++) {
            const wire_vv_t *vv = &sec->vvs[j];
            uint64_t prev = vv->base;

            CHECK(vv->extra_count == 0 ||
                  check_is_within(vv->extra, 9 * vv->extra_count, buf, len));
            for (size_t k = 0; k < vv->extra_count; k++) {
                uint64_t x = wire_vv_extra(vv, k);

                CHECK(x > prev); /* ascending, above the base */
                prev = x;
            }
        }
        return;
    }
    CHECK(sec->vv_count == 0 && sec->vvs == NULL);
    CHECK(sec->set_count == 0 || (sec->sets != NULL && sec->set_lens != NULL));
    CHECK(sec->mark_count == 0 || sec->marks != NULL);
    for (size_t j = 0; j < sec->set_count; j++) {
        CHECK(sec->set_lens[j] <= WIRE_SET_MAX);
        CHECK(check_is_within(sec->sets[j], sec->set_lens[j], buf, len));
        check_set(sec->sets[j], sec->set_lens[j]);
    }
}

static void
s_check_doc(const uint8_t *buf, size_t len, bool is_vector)
{
    wire_doc_t doc;
    wire_buf_t out;
    mesh_err_t err;
    bool encoded;

    memset(&doc, 0xa5, sizeof(doc));
    err = wire_doc_decode(buf, len, is_vector, &doc);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err) || err == MESH_ENOMEM);
        CHECK(check_is_zero(&doc, sizeof(doc)));
        wire_doc_release(&doc);
        return;
    }
    CHECK(doc.count == 0 || doc.sections != NULL);
    for (size_t i = 0; i < doc.count; i++) {
        s_check_section(&doc.sections[i], is_vector, buf, len);
    }
    wire_buf_init(&out);
    encoded = is_vector ? s_encode_vector(&doc, &out) : s_encode_bundle(&doc, &out);
    if (encoded) {
        CHECK(out.len == len && memcmp(out.data, buf, len) == 0);
    }
    wire_buf_release(&out);
    wire_doc_release(&doc);
    CHECK(check_is_zero(&doc, sizeof(doc)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_check_doc(data, size, false);
    s_check_doc(data, size, true);
    return 0;
}
