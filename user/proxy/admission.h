/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Admission control in the proxy: a per-guest request rate limiter
 * (Neutron's [metadata_rate_limiting], enforced the way its haproxy
 * template does it) and connection counts, global and per attachment.
 *
 * Pure bookkeeping, no I/O and no clock of its own (callers pass the time),
 * so the unit tests drive it with a fake clock. Every operation is O(1), and
 * memory is fixed when the limiter is made.
 */
#ifndef MDR_ADMIT_H
#define MDR_ADMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/* Bits of mdr_rate_config.ip_versions: which guests are limited. */
#define MDR_RATE_IPV4 (1u << 0)
#define MDR_RATE_IPV6 (1u << 1)

/* As haproxy's stick tables in Neutron's template: "size 10k". */
#define MDR_RATE_DEFAULT_GUESTS 10000

struct mdr_rate_config {
	bool enabled;
	unsigned int ip_versions; /* MDR_RATE_IPV4 | MDR_RATE_IPV6 */
	unsigned int base_window_ms, base_limit;
	unsigned int burst_window_ms, burst_limit;
	unsigned int max_guests; /* guests tracked at once; 0: default */
};

/*
 * One fixed window of a guest's requests and the one before it: the rate
 * over a sliding window is estimated as haproxy's freq_ctr does, the
 * current count plus the previous one weighted by how much of it the
 * sliding window still covers.
 */
struct mdr_rate_window {
	uint64_t start_ms;
	uint32_t curr, prev;
};

struct mdr_rate_entry {
	uint32_t attach_id;
	struct in6_addr addr;	     /* IPv4 guests v4-mapped */
	uint32_t hnext;		     /* hash chain */
	uint32_t lru_prev, lru_next; /* most recently seen first */
	uint64_t last_ms;
	struct mdr_rate_window base, burst;
};

struct mdr_rate_limiter {
	struct mdr_rate_config cfg;
	struct mdr_rate_entry *e; /* cfg.max_guests of them */
	uint32_t *bucket;
	uint32_t nbuckets;  /* a power of two */
	uint32_t used;	    /* entries ever handed out, from the front */
	uint32_t free_head; /* entries given back */
	uint32_t lru_head, lru_tail;
	uint32_t live;
	uint64_t idle_ms; /* unseen that long, a guest has nothing counted */
	uint64_t seed;	  /* guests must not be able to aim at one chain */
};

/* 0, -EINVAL for a bad config (enabled with a zero window or limit), or
 * -ENOMEM. A disabled limiter allocates nothing and allows everything. */
int mdr_rate_init(struct mdr_rate_limiter *rl,
		  const struct mdr_rate_config *cfg);
void mdr_rate_free(struct mdr_rate_limiter *rl);

/*
 * Counts one request from guest addr behind attachment attach_id at time
 * now_ms (monotonic, never going back). Returns 0 when it may be served, or
 * when the guest is over either limit the seconds (at least 1) after which
 * it would be under both again if it sent nothing more. Refused requests
 * count too, as with haproxy's track-sc: a guest that keeps hammering stays
 * refused.
 */
unsigned int mdr_rate_check(struct mdr_rate_limiter *rl, uint32_t attach_id,
			    const struct in6_addr *addr, uint64_t now_ms);

/* Guests currently tracked (for tests). */
static inline uint32_t mdr_rate_tracked(const struct mdr_rate_limiter *rl)
{
	return rl->live;
}

/*
 * Open guest connections, all together and per attachment. Connections
 * without an attachment (nothing owns their address) share slot 0, so they
 * are capped like any attachment.
 */
struct mdr_conn_caps {
	unsigned int total, max_total;
	unsigned int max_per_attach;
	uint32_t *per_attach; /* indexed by attachment id */
	uint32_t slots;
};

enum mdr_admit {
	MDR_ADMIT_OK,
	MDR_ADMIT_FULL,	       /* max_total reached */
	MDR_ADMIT_ATTACH_FULL, /* this attachment's cap reached */
};

/* 0 or -ENOMEM; both caps at least 1. */
int mdr_caps_init(struct mdr_conn_caps *caps, unsigned int max_total,
		  unsigned int max_per_attach);
/* New caps (a reload): the counts stay, and connections over a lowered
 * cap stay open; new ones are refused until the count is under it. */
void mdr_caps_set_limits(struct mdr_conn_caps *caps, unsigned int max_total,
			 unsigned int max_per_attach);
void mdr_caps_free(struct mdr_conn_caps *caps);
/* MDR_ADMIT_OK counts the connection in; the others leave counts alone. */
enum mdr_admit mdr_caps_admit(struct mdr_conn_caps *caps, bool have_id,
			      uint32_t attach_id);
/* For every connection mdr_caps_admit() let in, once, when it closes. */
void mdr_caps_release(struct mdr_conn_caps *caps, bool have_id,
		      uint32_t attach_id);

#endif
