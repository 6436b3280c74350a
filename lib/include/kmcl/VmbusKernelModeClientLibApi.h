/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_KMCL_ALIAS_H
#define VMB_KMCL_ALIAS_H

/**
 * @file
 * Alias under the Windows header's name, so a VSP's `#include <VmbusKernelModeClientLibApi.h>`
 * works unchanged (with lib/include/kmcl on the include path). Everything is in vmb_kmcl.h.
 */

#include "vmb_kmcl.h"

#endif /* VMB_KMCL_ALIAS_H */
