// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/values.h"

int mdr_parse_id(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= MDR_ID_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.:", s[i]))
			return -EINVAL;
	return 0;
}

int mdr_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) ||
		    !isxdigit((unsigned char)s[i * 3 + 1]))
			return -EINVAL;
		mac[i] = b[i];
	}
	/* A guest never sends from a multicast or all-zero address. */
	if ((mac[0] & 1) ||
	    !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

int mdr_parse_fixed_ip(const char *s, struct mdr_fixed_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->addr) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *mdr_next_hop4_unfit(uint32_t addr4)
{
	uint32_t a = ntohl(addr4);

	if (!a)
		return "0.0.0.0 is nobody's address";
	if (a == MDR_METADATA_IP4)
		return "169.254.169.254 is answered anyway: the next hop is "
		       "the address the guest's route to it goes via";
	if ((a >> 28) == 0xe)
		return "a multicast address is no next hop";
	if (a == 0xffffffffU)
		return "the broadcast address is no next hop";
	return NULL;
}

void mdr_format_mac(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

void mdr_format_fixed_ip(const struct mdr_fixed_ip *ip, char *buf, unsigned len)
{
	if (!inet_ntop(ip->family, ip->addr, buf, len))
		snprintf(buf, len, "?");
}
