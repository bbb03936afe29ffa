/* SPDX-License-Identifier: GPL-2.0-only */
/* What every libFuzzer target here shares: the entry point, and ASSERT
 * for the invariants it checks (a broken one aborts, so libFuzzer keeps
 * the input). */
#ifndef MDR_FUZZ_H
#define MDR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ASSERT(cond)                                                     \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", \
				__FILE__, __LINE__, #cond);              \
			abort();                                         \
		}                                                        \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
