/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The memory cap of the cgroup we run in (cgroup v2's memory.max, or v1's
 * memory.limit_in_bytes), so that the proxy can bound itself below it
 * rather than be OOM-killed by the kernel when a flood reaches it.
 */
#ifndef MDR_CGROUP_MEM_H
#define MDR_CGROUP_MEM_H

#include <stdint.h>

/*
 * The lowest memory cap on the way from our cgroup up to the root, in
 * *limit (0: none), and what our cgroup is charged now, in *usage (0 when
 * it cannot say). 0, or -ENOENT when no memory controller can be read.
 */
int mdr_cgroup_memory(uint64_t *limit, uint64_t *usage);

#endif
