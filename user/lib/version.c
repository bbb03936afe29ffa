// SPDX-License-Identifier: GPL-2.0-only
/*
 * The only object that reads the generated header: a new version rebuilds
 * this file and relinks, nothing else.
 */
#include "lib/version.h"
#include "mdredir_version.h" /* $(OUT)/, written by make */

const char mdr_version[] = MDR_VERSION;
