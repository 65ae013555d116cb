/* core/data/hlc.c: the hybrid logical clock.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/data/hlc.h"

#include <time.h>

static uint64_t
s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
hlc_ms(uint64_t hlc)
{
    return hlc >> 16;
}

mesh_err_t
hlc_next(store_txn_t *txn, uint64_t *hlc)
{
    uint64_t last = 0;
    mesh_err_t err = store_meta_get_u64(txn, "hlc", &last);
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    uint64_t now = s_wall_ms() << 16;
    *hlc = now > last ? now : last + 1;
    return store_meta_put_u64(txn, "hlc", *hlc);
}

mesh_err_t
hlc_observe(store_txn_t *txn, uint64_t remote)
{
    uint64_t last = 0;
    if (hlc_ms(remote) > s_wall_ms() + HLC_SKEW_MAX_MS) {
        return MESH_OK; /* a clock far ahead never drags ours along */
    }
    mesh_err_t err = store_meta_get_u64(txn, "hlc", &last);
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    return remote > last ? store_meta_put_u64(txn, "hlc", remote) : MESH_OK;
}
