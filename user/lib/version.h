/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MDR_VERSION_H
#define MDR_VERSION_H

/*
 * The build's version: `git describe --always --dirty` of the checkout it
 * was built from, or the VERSION= a package build passes to make.
 */
extern const char mdr_version[];

#endif
