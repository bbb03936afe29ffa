/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The shared maps. Every hook's compilation unit includes this header; the
 * definitions are weak so the static linker folds them into one map each.
 * Userspace pins them under MDR_PIN_DIR, so every program instance and every
 * mdredir process sees the same state, and bpftool can dump it.
 */
#ifndef MDR_BPF_MAPS_H
#define MDR_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mdredir.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdr_config);
} mdr_config SEC(".maps") __weak;

/* (netns, ifindex) of an attached interface -> attachment id */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_ATTACH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mdr_iface_key);
	__type(value, __u32);
} mdr_iface SEC(".maps") __weak;

/* attachment id -> everything we know about the attachment */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_ATTACH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mdr_attachment);
} mdr_attach SEC(".maps") __weak;

/* attachment id -> the next hop whose ARP it answers; 0: none */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MDR_MAX_ATTACH + 1);
	__type(key, __u32);
	__type(value, struct mdr_next_hop);
} mdr_next_hop SEC(".maps") __weak;

/* netns cookie -> the link veth pair serving that namespace */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_LINKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct mdr_link);
} mdr_link SEC(".maps") __weak;

/* (attachment, guest IP) -> guest MAC, learnt from requests */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MDR_MAX_NEIGH);
	__type(key, struct mdr_neigh_key);
	__type(value, struct mdr_neigh);
} mdr_neigh SEC(".maps") __weak;

/*
 * attachment id -> packet counters; id 0 counts what has no attachment.
 * The suffix counts the layouts of struct mdr_pkt_stats (mdredir.h): 2
 * since guest_syn_rate; the unsuffixed one is an older build's.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MDR_MAX_ATTACH + 1);
	__type(key, __u32);
	__type(value, struct mdr_pkt_stats);
} mdr_pkt_stats2 SEC(".maps") __weak;

/* attachment id -> new-connection rate state */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MDR_MAX_ATTACH + 1);
	__type(key, __u32);
	__type(value, struct mdr_syn_rate);
} mdr_syn_rate SEC(".maps") __weak;

/* new connections per guest, entry 0 (see struct mdr_guest_limit) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdr_guest_limit);
} mdr_guest_limit SEC(".maps") __weak;

/*
 * (attachment, guest IP) -> that guest's new-connection rate state. As
 * many as mdr_neigh: every guest the return path can remember can be
 * limited too. LRU, so guests beyond that (or forged source addresses on
 * a tap without --ip) push out the longest quiet ones: an evicted guest
 * starts afresh, so eviction can let a SYN through but never drops one.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MDR_MAX_NEIGH);
	__type(key, struct mdr_neigh_key);
	__type(value, struct mdr_guest_syn);
} mdr_guest_syn SEC(".maps") __weak;

/* attachment id -> request counters, written by the daemon through mmap */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MDR_MAX_ATTACH + 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mdr_http_stats);
} mdr_http_stats SEC(".maps") __weak;

#endif
