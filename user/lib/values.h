/* SPDX-License-Identifier: GPL-2.0-only */
/* Validation of what operators type: ids, MACs, addresses. */
#ifndef MDR_ARGS_H
#define MDR_ARGS_H

#include <stdint.h>
#include "mdredir.h"

/* OpenStack ids: UUIDs and keystone's hex ids; nothing that could break a header. */
int mdr_parse_id(const char *s);
int mdr_parse_mac(const char *s, uint8_t mac[6]);
int mdr_parse_fixed_ip(const char *s, struct mdr_fixed_ip *ip);
/*
 * Why IPv4 @addr4 (network order) cannot be a guest's next hop to
 * metadata (--metadata-via), or NULL if it can.
 */
const char *mdr_next_hop4_unfit(uint32_t addr4);
void mdr_format_mac(const uint8_t mac[6], char buf[18]);
void mdr_format_fixed_ip(const struct mdr_fixed_ip *ip, char *buf,
			 unsigned len);

#endif
