/* core/wire/buf.c: the growable output buffer of the wire encoders.
 * Owns: wire_buf_t's memory: it doubles as it fills and, once an allocation fails, stays
 * failed so that the encoder can report MESH_ENOMEM after the fact.
 * Layer: core/wire. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/buf.h"

#include <stdlib.h>
#include <string.h>

void
wire_buf_init(wire_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void
wire_buf_release(wire_buf_t *b)
{
    if (!b) {
        return;
    }
    free(b->data);
    memset(b, 0, sizeof *b);
}

void
wire_buf_reset(wire_buf_t *b)
{
    b->len = 0;
    b->failed = false;
}

mesh_err_t
wire_buf_append(wire_buf_t *b, const void *p, size_t len)
{
    if (b->failed) {
        return MESH_ENOMEM;
    }
    if (len == 0) {
        return MESH_OK; /* no memcpy from NULL */
    }
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < len) {
            cap *= 2;
        }
        uint8_t *data = realloc(b->data, cap);
        if (!data) {
            b->failed = true;
            return MESH_ENOMEM;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return MESH_OK;
}
