/* core/bundle.h: sync by file: mesh_export, mesh_import and mesh_vector (meshsync.h).
 * Owns: choosing what a bundle carries (live versions and tombstones the receiver's
 * vector does not cover, grouped under their signed set headers, with watermarks), and
 * reporting what an import did. Its whole interface is public.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_BUNDLE_H
#define MESH_CORE_BUNDLE_H

#include "meshsync.h"

#endif /* MESH_CORE_BUNDLE_H */
