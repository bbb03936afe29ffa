/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF programs as the tests run them, shared by the fixtures
 * (harness.c) and the fuzzer (tests/fuzz/fuzz_bpf.c): the skeleton loaded
 * privately (no pin paths, so nothing here touches /sys/fs/bpf/mdredir or
 * a running daemon), the maps' known state, and one pass of a frame
 * through bpf_prog_test_run_opts on this namespace's loopback device.
 *
 * What test_run cannot show: where bpf_redirect() would send the packet.
 * It returns TC_ACT_REDIRECT (XDP_REDIRECT) and leaves the target in
 * per-CPU state.
 */
#ifndef MDR_TEST_PROGS_H
#define MDR_TEST_PROGS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "mdredir.h"
#include "mdredir.skel.h"

/* The link id recorded in the attachment (names its proxy end only). */
#define TEST_LINK_ID	3
/* The attachment; its service address is pool + 1. */
#define TEST_ATTACH_ID	1
/* A second one (pool + 2), where a test adds it. */
#define TEST_ATTACH2_ID 2
/* Counters are compared, array entries reset, for ids 0 (unowned) to 2. */
#define N_CHECKED_IDS	3

#define NSEC_PER_SEC 1000000000ULL

enum prog_id { TAP, LINK, PROXY, TAP_XDP };

extern struct mdredir_bpf *skel;
extern __u32 lo_ifindex;
/* test_run's devices are this namespace's: attachments are keyed by it. */
extern __u64 test_netns;

/* Loads the skeleton; a negative errno and what failed in @what. */
int progs_load(const char **what);
void progs_unload(void);

/* Attachment 1 as reset_state() stores it: no --mac, no --ip. */
struct mdr_attachment test_attachment(void);
/* Attachment 2, on the same devices: pool + 2, tap-test2. */
struct mdr_attachment test_attachment2(void);
/*
 * @att with --mac @vm_mac (NULL: none) and --ip for each of the
 * NULL-terminated @ips (NULL: none), as `mdredir attach` stores them.
 */
void guard_attachment(struct mdr_attachment *att, const uint8_t *vm_mac,
		      const char *const *ips);
int put_attachment(__u32 id, const struct mdr_attachment *att);

/*
 * Every map back to one attachment (1, on the loopback device), no
 * guests, no next hop, no SYN rates, replies keeping their TTL.
 */
int reset_state(void);

/* The mdr_neigh key of guest @vm_ip of attachment @id. */
struct mdr_neigh_key neigh_key(__u32 id, int family, const char *vm_ip);
/* mdr_neigh: guest @vm_ip of attachment @id is at @mac. */
int set_neigh(__u32 id, int family, const char *vm_ip, const uint8_t *mac);
/* mdr_next_hop: attachment @id answers ARP for @ip too (NULL: none). */
int set_next_hop(__u32 id, const char *ip);
int set_config(__u64 syn_interval_ns, __u64 syn_burst_ns, __u32 reply_ttl);
/* CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() reads. */
__u64 monotonic_ns(void);

/* The program behind @id (bpf_program__name() says which). */
struct bpf_program *prog_of(enum prog_id id);

/*
 * One pass of the @len bytes at @in through @prog, as test_run's skb or
 * xdp_buff on the loopback device sees them: the output frame in @out
 * (room for *@out_len bytes; its length on return), the verdict in
 * @retval. A negative errno, with @why, if the run itself failed.
 */
int test_run(enum prog_id prog, const uint8_t *in, size_t len, uint8_t *out,
	     __u32 *out_len, int *retval, char *why, size_t n);

/*
 * How the fuzzer runs a frame: the first byte of each of its inputs, and
 * of each seed `test_bpf --corpus DIR` writes, before the frame.
 */
struct fuzz_choice {
	enum prog_id prog;
	__u32 attach_id; /* what the loopback device is attached as; 0: none */
	__u32 reply_ttl; /* mdr_config's */
};

struct fuzz_choice fuzz_choice_of(uint8_t byte);
/* The byte for @c; its reply_ttl must be one fuzz_choice_of() gives. */
uint8_t fuzz_choice_byte(const struct fuzz_choice *c);

#endif
