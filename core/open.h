/* core/open.h: opening and closing a node (mesh_open, mesh_close in meshsync.h): the top of
 * core. Its whole interface is public.
 * Layer: core (top). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_OPEN_H
#define MESH_CORE_OPEN_H

#include "meshsync.h"

#endif /* MESH_CORE_OPEN_H */
