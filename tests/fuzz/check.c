/* tests/fuzz/check.c: predicates the fuzz targets share (see check.h).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

bool
check_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return false;
        }
    }
    return true;
}

bool
check_is_within(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;

    return q != NULL && q >= buf && (size_t)(q - buf) <= len && n <= len - (size_t)(q - buf);
}

bool
check_is_decode_error(mesh_err_t err)
{
    return err == MESH_EPROTO || err == MESH_ETOOBIG;
}
