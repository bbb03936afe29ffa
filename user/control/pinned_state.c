// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "control/lock.h"
#include "lib/log.h"
#include "mdredir.skel.h"
#include "control/pinned_state.h"

#define BPF_FS_MAGIC 0xcafe4a11
#define BPF_FS_ROOT  "/sys/fs/bpf"

static const char *const map_names[] = {
	"mdr_config",	"mdr_iface",	   "mdr_attach",     "mdr_link",
	"mdr_neigh",	"mdr_pkt_stats2",  "mdr_http_stats", "mdr_syn_rate",
	"mdr_next_hop", "mdr_guest_limit", "mdr_guest_syn",
};

/*
 * Maps this build added: pins an older build left lack them until a load
 * creates them (MDR_STATE_LOAD), and reading such state must still work,
 * so MDR_STATE_READ leaves their fd at -1 and the calls below read them
 * as empty.
 */
static bool map_added_later(size_t i)
{
	return !strcmp(map_names[i], "mdr_next_hop") ||
	       !strcmp(map_names[i], "mdr_pkt_stats2") ||
	       !strcmp(map_names[i], "mdr_guest_limit") ||
	       !strcmp(map_names[i], "mdr_guest_syn");
}

/*
 * Pins of older builds that this one replaced with a map of another name
 * (a new layout): a load removes them once its own are pinned. Programs
 * of the older build still running keep their map until they are moved.
 */
static const char *const retired_map_names[] = {
	"mdr_pkt_stats", /* counters before guest_syn_rate */
};

/* One instance of each serves every namespace. */
static const char *const prog_names[] = {
	"mdr_tap_ingress",
	"mdr_tap_xdp",
	"mdr_link_ingress",
	"mdr_proxy_egress",
};

/* The fds in struct mdr_state, in the order of the name tables above. */
static int *map_slot(struct mdr_state *st, size_t i)
{
	int *slots[] = {
		&st->config_fd,	     &st->iface_fd,	&st->attach_fd,
		&st->link_fd,	     &st->neigh_fd,	&st->pkt_stats_fd,
		&st->http_stats_fd,  &st->syn_rate_fd,	&st->next_hop_fd,
		&st->guest_limit_fd, &st->guest_syn_fd,
	};
	return slots[i];
}

static int *prog_slot(struct mdr_state *st, size_t i)
{
	int *slots[] = { &st->tap_prog_fd, &st->xdp_prog_fd, &st->link_prog_fd,
			 &st->egress_prog_fd };
	return slots[i];
}

#define N_MAPS	  (sizeof(map_names) / sizeof(map_names[0]))
#define N_PROGS	  (sizeof(prog_names) / sizeof(prog_names[0]))
#define N_RETIRED (sizeof(retired_map_names) / sizeof(retired_map_names[0]))

static void pin_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", MDR_PIN_DIR, name);
}

/* A fresh machine may not have bpffs mounted: mount it. */
static int ensure_bpffs(void)
{
	struct statfs sfs;

	if (statfs(BPF_FS_ROOT, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", BPF_FS_ROOT, "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_err("cannot mount bpffs on %s: %s", BPF_FS_ROOT,
		       strerror(-err));
		return err;
	}
	return 0;
}

void mdr_state_init(struct mdr_state *st)
{
	for (size_t i = 0; i < N_MAPS; i++)
		*map_slot(st, i) = -1;
	for (size_t i = 0; i < N_PROGS; i++)
		*prog_slot(st, i) = -1;
	st->loaded = false;
}

bool mdr_state_exists(void)
{
	char path[256];

	pin_path(path, sizeof(path), "mdr_attach");
	return access(path, F_OK) == 0;
}

/* With @with_progs (to load), every map must be there; see above. */
static int open_pinned(struct mdr_state *st, bool with_progs)
{
	char path[256];

	for (size_t i = 0; i < N_MAPS; i++) {
		pin_path(path, sizeof(path), map_names[i]);
		*map_slot(st, i) = bpf_obj_get(path);
		if (*map_slot(st, i) >= 0)
			continue;
		if (errno != ENOENT || with_progs || !map_added_later(i))
			return -errno;
	}
	for (size_t i = 0; with_progs && i < N_PROGS; i++) {
		pin_path(path, sizeof(path), prog_names[i]);
		*prog_slot(st, i) = bpf_obj_get(path);
		if (*prog_slot(st, i) < 0)
			return -errno;
	}
	return 0;
}

/* The BPF object with every map pointed at its pin (reused if present). */
static struct mdredir_bpf *open_skeleton(void)
{
	struct mdredir_bpf *skel;
	struct bpf_map *map;
	char path[256];

	skel = mdredir_bpf__open();
	if (!skel) {
		pr_err("cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	bpf_object__for_each_map(map, skel->obj)
	{
		if (bpf_map__is_internal(map))
			continue; /* .rodata belongs to one load */
		pin_path(path, sizeof(path), bpf_map__name(map));
		bpf_map__set_pin_path(map, path);
	}
	return skel;
}

/*
 * Pins skel's programs under their names: in place of any pinned there
 * with @replace, else only where none is. How many it pinned, or -errno.
 */
static int pin_programs(struct mdredir_bpf *skel, bool replace)
{
	struct bpf_program *prog;
	char path[256];
	int err, pinned = 0;

	bpf_object__for_each_program(prog, skel->obj)
	{
		pin_path(path, sizeof(path), bpf_program__name(prog));
		if (replace)
			unlink(path);
		else if (access(path, F_OK) == 0)
			continue;
		err = bpf_program__pin(prog, path);
		if (err) {
			pr_err("cannot pin %s: %s", path, strerror(-err));
			return err;
		}
		pinned++;
	}
	return pinned;
}

/*
 * Loads the programs, reusing any maps already pinned (libbpf checks they
 * are compatible) and pinning the rest, then pins the programs so later
 * commands attach the same instances without loading again. Programs
 * already pinned stay: pins an older build left, missing a map this one
 * added, still run on the hooks, and replacing them is
 * mdr_state_renew_programs()'s, which moves the hooks over too. 1 when
 * it pinned every program itself, 0 when some were there, or -errno.
 */
static int load_and_pin(void)
{
	struct mdredir_bpf *skel;
	char path[256];
	int err;

	skel = open_skeleton();
	if (!skel)
		return -errno;
	err = mdredir_bpf__load(skel);
	if (err) {
		pr_err("cannot load the BPF programs: %s (does this kernel "
		       "support BPF? if maps from an older mdredir are "
		       "pinned, run `mdredir unload`)",
		       strerror(-err));
		goto out;
	}
	err = pin_programs(skel, false);
	if (err >= 0)
		err = err == (int)N_PROGS;
	for (size_t i = 0; err >= 0 && i < N_RETIRED; i++) {
		pin_path(path, sizeof(path), retired_map_names[i]);
		if (unlink(path) && errno != ENOENT)
			pr_warn("cannot remove %s, a map no longer used: %s",
				path, strerror(errno));
	}
out:
	mdredir_bpf__destroy(skel);
	return err;
}

/* Every map, then every program, by one index. */
static const char *object_name(size_t i)
{
	return i < N_MAPS ? map_names[i] : prog_names[i - N_MAPS];
}

/*
 * Whether every map and program has its pin; with @older_ok, pins an
 * older build left (maps added later missing) count as whole.
 */
static bool all_pinned(bool older_ok)
{
	char path[256];

	for (size_t i = 0; i < N_MAPS + N_PROGS; i++) {
		if (older_ok && i < N_MAPS && map_added_later(i))
			continue;
		pin_path(path, sizeof(path), object_name(i));
		if (access(path, F_OK))
			return false;
	}
	return true;
}

static bool pinned_enough(const void *arg)
{
	(void)arg;
	return all_pinned(true);
}

int mdr_state_open(struct mdr_state *st, enum mdr_state_mode mode)
{
	int err, loaded;

	mdr_state_init(st);
	/* Pins missing while a daemon runs are its to put back (it holds
	 * every object, see mdr_state_repin()): wait for them, rather than
	 * read nothing attached, or load a second, empty set of maps and
	 * programs and hook them in place of the ones every attachment is
	 * in; and if they never come, do neither. */
	err = mdr_await_daemon(pinned_enough, NULL,
			       "pin its objects under " MDR_PIN_DIR " again");
	if (err)
		return err;
	if (mode == MDR_STATE_READ) {
		err = open_pinned(st, false);
		if (err)
			mdr_state_close(st);
		return err;
	}
	err = ensure_bpffs();
	if (err)
		return err;
	if (mkdir(MDR_PIN_DIR, 0700) && errno != EEXIST) {
		err = -errno;
		pr_err("cannot create %s: %s", MDR_PIN_DIR, strerror(-err));
		return err;
	}
	err = open_pinned(st, true);
	if (err == 0)
		return 0;
	mdr_state_close(st);
	loaded = load_and_pin();
	if (loaded < 0)
		return loaded;
	err = open_pinned(st, true);
	if (err) {
		pr_err("cannot open pinned objects in %s: %s", MDR_PIN_DIR,
		       strerror(-err));
		mdr_state_close(st);
	}
	st->loaded = !err && loaded;
	return err;
}

#define MAX_PROG_MAPS 32

/* The ids of the maps program @fd uses, at most MAX_PROG_MAPS; how many. */
static int prog_map_ids(int fd, __u32 *ids)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	info.nr_map_ids = MAX_PROG_MAPS;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	return info.nr_map_ids < MAX_PROG_MAPS ? (int)info.nr_map_ids
					       : MAX_PROG_MAPS;
}

static bool has_id(const __u32 *ids, int n, __u32 id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/*
 * Whether the pinned program @pinned uses every pinned map that @ours
 * uses. The tag hashes instructions, not the maps they point at: an older
 * build's program can match ours by tag and still count into a map this
 * build replaced under a new name (mdr_pkt_stats), and it must go too.
 */
static int same_pinned_maps(struct mdr_state *st, int ours, int pinned)
{
	__u32 our_ids[MAX_PROG_MAPS], their_ids[MAX_PROG_MAPS];
	int n_ours, n_theirs;

	n_ours = prog_map_ids(ours, our_ids);
	n_theirs = prog_map_ids(pinned, their_ids);
	if (n_ours < 0 || n_theirs < 0)
		return -ENOENT;
	for (size_t i = 0; i < N_MAPS; i++) {
		struct bpf_map_info map = {};
		__u32 len = sizeof(map);
		int fd = *map_slot(st, i);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &map, &len))
			continue;
		if (has_id(our_ids, n_ours, map.id) &&
		    !has_id(their_ids, n_theirs, map.id))
			return 0;
	}
	return 1;
}

/* Whether skel's programs and the pinned ones in st are the same, by tag
 * and maps: 1 yes, 0 no, -ENOENT if one is missing. */
static int same_programs(struct mdr_state *st, struct mdredir_bpf *skel)
{
	for (size_t i = 0; i < N_PROGS; i++) {
		const struct bpf_program *prog =
			bpf_object__find_program_by_name(skel->obj,
							 prog_names[i]);
		struct bpf_prog_info ours = {}, pinned = {};
		__u32 len = sizeof(ours), plen = sizeof(pinned);
		int same;

		if (!prog || *prog_slot(st, i) < 0 ||
		    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &ours,
					   &len) ||
		    bpf_obj_get_info_by_fd(*prog_slot(st, i), &pinned, &plen))
			return -ENOENT;
		if (memcmp(ours.tag, pinned.tag, sizeof(ours.tag)))
			return 0;
		same = same_pinned_maps(st, bpf_program__fd(prog),
					*prog_slot(st, i));
		if (same <= 0)
			return same;
	}
	return 1;
}

int mdr_state_renew_programs(struct mdr_state *st)
{
	struct mdredir_bpf *skel;
	struct bpf_program *prog;
	int same, err;

	if (st->loaded)
		return 0; /* just loaded from this build: nothing older pinned */
	skel = open_skeleton();
	if (!skel)
		return -errno;
	err = mdredir_bpf__load(skel);
	if (err)
		goto out;
	same = same_programs(st, skel);
	if (same != 0) {
		err = same < 0 ? same : 0;
		goto out;
	}
	/* Ours replace the pins, then st's descriptors; the maps are the
	 * same ones (the load reused them), so old and new programs can run
	 * side by side while the hooks are moved over. */
	err = pin_programs(skel, true);
	if (err < 0)
		goto out;
	for (size_t i = 0; i < N_PROGS; i++) {
		int fd;

		prog = bpf_object__find_program_by_name(skel->obj,
							prog_names[i]);
		fd = prog ? fcntl(bpf_program__fd(prog), F_DUPFD_CLOEXEC, 0)
			  : -1;
		if (fd < 0) {
			err = prog ? -errno : -ENOENT;
			goto out;
		}
		if (*prog_slot(st, i) >= 0)
			close(*prog_slot(st, i));
		*prog_slot(st, i) = fd;
	}
	err = 1;
out:
	mdredir_bpf__destroy(skel);
	return err;
}

void mdr_state_close(struct mdr_state *st)
{
	for (size_t i = 0; i < N_MAPS; i++)
		if (*map_slot(st, i) >= 0)
			close(*map_slot(st, i));
	for (size_t i = 0; i < N_PROGS; i++)
		if (*prog_slot(st, i) >= 0)
			close(*prog_slot(st, i));
	mdr_state_init(st);
}

int mdr_state_unpin(void)
{
	struct dirent *de;
	char path[512];
	int err = 0;
	DIR *dir;

	dir = opendir(MDR_PIN_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", MDR_PIN_DIR, de->d_name);
		if (unlink(path) && !err)
			err = -errno;
	}
	closedir(dir);
	if (rmdir(MDR_PIN_DIR) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

/* Pins @fd as @name where nothing is pinned: 1 if it did, else 0 or -errno. */
static int pin_if_missing(const char *name, int fd)
{
	char path[256];

	pin_path(path, sizeof(path), name);
	if (fd < 0 || access(path, F_OK) == 0)
		return 0;
	return bpf_obj_pin(fd, path) ? -errno : 1;
}

int mdr_state_repin(const struct mdr_state *st, unsigned int *maps,
		    unsigned int *progs)
{
	/* The slot tables only read through it here. */
	struct mdr_state *fds = (struct mdr_state *)st;
	int n, err;

	*maps = *progs = 0;
	if (all_pinned(false))
		return 0; /* the usual case, a few stat()s */
	err = ensure_bpffs();
	if (err)
		return err;
	if (mkdir(MDR_PIN_DIR, 0700) && errno != EEXIST)
		return -errno;
	for (size_t i = 0; i < N_MAPS + N_PROGS; i++) {
		bool map = i < N_MAPS;

		n = pin_if_missing(object_name(i),
				   map ? *map_slot(fds, i)
				       : *prog_slot(fds, i - N_MAPS));
		if (n < 0)
			return n;
		*(map ? maps : progs) += n;
	}
	return 0;
}

int mdr_state_get_config(const struct mdr_state *st, struct mdr_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(st->config_fd, &zero, cfg) ? -errno : 0;
}

int mdr_state_set_config(const struct mdr_state *st,
			 const struct mdr_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_update_elem(st->config_fd, &zero, cfg, BPF_ANY) ? -errno
								       : 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Up to @max keys of the map @fd into @keys (@key_size bytes each); how
 * many. Read whole before anything is done with them: deleting the key a
 * walk stands on would restart the walk.
 */
static size_t map_keys(int fd, void *keys, size_t key_size, size_t max)
{
	char *at = keys, *prev = NULL;
	size_t n = 0;

	while (n < max && bpf_map_get_next_key(fd, prev, at) == 0) {
		prev = at;
		at += key_size;
		n++;
	}
	return n;
}

int mdr_state_attachment_ids(const struct mdr_state *st, __u32 *ids, size_t max)
{
	size_t n = map_keys(st->attach_fd, ids, sizeof(*ids), max);

	/* Sorted by id, so listings are stable from one call to the next. */
	qsort(ids, n, sizeof(ids[0]), cmp_u32);
	return n;
}

int mdr_state_for_each_attachment(const struct mdr_state *st,
				  int (*fn)(__u32 id,
					    const struct mdr_attachment *att,
					    void *ctx),
				  void *ctx)
{
	struct mdr_attachment att;
	__u32 *ids;
	int n, err = 0;

	/* Per call, not static: fn may itself walk the attachments, and
	 * the ids are all read first, so fn may also change them. */
	ids = malloc(MDR_MAX_ATTACH * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	n = mdr_state_attachment_ids(st, ids, MDR_MAX_ATTACH);
	for (int i = 0; i < n && !err; i++) {
		if (mdr_state_get_attachment(st, ids[i], &att))
			continue; /* detached meanwhile */
		err = fn(ids[i], &att, ctx);
	}
	free(ids);
	return err;
}

bool mdr_state_has_attachments(const struct mdr_state *st)
{
	__u32 key;

	return bpf_map_get_next_key(st->attach_fd, NULL, &key) == 0;
}

int mdr_state_get_attachment(const struct mdr_state *st, __u32 id,
			     struct mdr_attachment *att)
{
	return bpf_map_lookup_elem(st->attach_fd, &id, att) ? -errno : 0;
}

int mdr_state_find_iface(const struct mdr_state *st,
			 const struct mdr_iface_key *key, __u32 *id)
{
	return bpf_map_lookup_elem(st->iface_fd, key, id) ? -errno : 0;
}

/*
 * After a change of an attachment (see mdr_attach_generation()). Two
 * writers at once may both write the same next value: either way it
 * changed after both changes were made, which is all a reader needs.
 */
static void bump_attach_generation(const struct mdr_state *st)
{
	struct mdr_http_stats slot = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(st->http_stats_fd, &zero, &slot);
	slot.requests++;
	if (bpf_map_update_elem(st->http_stats_fd, &zero, &slot, BPF_ANY))
		pr_warn("cannot bump the attachments' generation: %s "
			"(a running daemon may keep serving the old identity)",
			strerror(errno));
}

int mdr_state_put_attachment(const struct mdr_state *st, __u32 id,
			     const struct mdr_attachment *att,
			     const struct mdr_iface_key *key)
{
	int err = 0;

	if (bpf_map_update_elem(st->attach_fd, &id, att, BPF_ANY) ||
	    (key && bpf_map_update_elem(st->iface_fd, key, &id, BPF_ANY)))
		err = -errno;
	bump_attach_generation(st);
	return err;
}

void mdr_state_delete_attachment(const struct mdr_state *st, __u32 id,
				 const struct mdr_iface_key *key)
{
	struct mdr_next_hop none = {};

	bpf_map_delete_elem(st->iface_fd, key);
	bpf_map_delete_elem(st->attach_fd, &id);
	mdr_state_set_next_hop(st, id, &none);
	bump_attach_generation(st);
}

int mdr_state_get_next_hop(const struct mdr_state *st, __u32 id,
			   struct mdr_next_hop *hop)
{
	memset(hop, 0, sizeof(*hop));
	if (st->next_hop_fd < 0)
		return 0; /* pins of an older build: nobody has one */
	return bpf_map_lookup_elem(st->next_hop_fd, &id, hop) ? -errno : 0;
}

int mdr_state_set_next_hop(const struct mdr_state *st, __u32 id,
			   const struct mdr_next_hop *hop)
{
	if (st->next_hop_fd < 0)
		return hop->addr4 ? -ENOENT : 0;
	return bpf_map_update_elem(st->next_hop_fd, &id, hop, BPF_ANY) ? -errno
								       : 0;
}

/* Deletes the entries of attachment @id from @fd, keyed by guest. */
static void forget_guests_in(int fd, struct mdr_neigh_key *keys, __u32 id)
{
	size_t n;

	if (fd < 0)
		return; /* pins of an older build */
	n = map_keys(fd, keys, sizeof(*keys), MDR_MAX_NEIGH);
	for (size_t i = 0; i < n; i++)
		if (keys[i].attach_id == id)
			bpf_map_delete_elem(fd, &keys[i]);
}

int mdr_state_forget_guests(const struct mdr_state *st, __u32 id)
{
	struct mdr_neigh_key *keys;

	keys = malloc(MDR_MAX_NEIGH * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	forget_guests_in(st->neigh_fd, keys, id);
	forget_guests_in(st->guest_syn_fd, keys, id);
	free(keys);
	return 0;
}

int mdr_state_set_guest_limit(const struct mdr_state *st,
			      const struct mdr_guest_limit *limit)
{
	__u32 zero = 0;

	if (st->guest_limit_fd < 0)
		return -ENOENT;
	return bpf_map_update_elem(st->guest_limit_fd, &zero, limit, BPF_ANY)
		       ? -errno
		       : 0;
}

/* A per-CPU value for every possible CPU; free() it. */
static struct mdr_pkt_stats *alloc_percpu_pkt_stats(int *ncpus)
{
	*ncpus = libbpf_num_possible_cpus();
	if (*ncpus <= 0) {
		errno = -*ncpus;
		return NULL;
	}
	return calloc(*ncpus, sizeof(struct mdr_pkt_stats));
}

int mdr_state_reset_counters(const struct mdr_state *st, __u32 id)
{
	struct mdr_http_stats http = {};
	struct mdr_syn_rate rate = {};
	struct mdr_pkt_stats *percpu;
	int ncpus, err = 0;

	percpu = alloc_percpu_pkt_stats(&ncpus);
	if (!percpu)
		return -errno;
	if ((st->pkt_stats_fd >= 0 &&
	     bpf_map_update_elem(st->pkt_stats_fd, &id, percpu, BPF_ANY)) ||
	    bpf_map_update_elem(st->http_stats_fd, &id, &http, BPF_ANY) ||
	    bpf_map_update_elem(st->syn_rate_fd, &id, &rate, BPF_ANY))
		err = -errno;
	free(percpu);
	return err;
}

int mdr_state_get_pkt_stats(const struct mdr_state *st, __u32 id,
			    struct mdr_pkt_stats *sum)
{
	struct mdr_pkt_stats *percpu;
	int ncpus, err = 0;

	memset(sum, 0, sizeof(*sum));
	if (st->pkt_stats_fd < 0)
		return 0; /* pins of an older build: theirs are unread */
	percpu = alloc_percpu_pkt_stats(&ncpus);
	if (!percpu)
		return -errno;
	if (bpf_map_lookup_elem(st->pkt_stats_fd, &id, percpu))
		err = -errno;
	for (int c = 0; c < ncpus && !err; c++)
		for (int i = 0; i < MDR_PKT_COUNTER_MAX; i++)
			sum->count[i] += percpu[c].count[i];
	free(percpu);
	return err;
}

int mdr_state_get_http_stats(const struct mdr_state *st, __u32 id,
			     struct mdr_http_stats *stats)
{
	return bpf_map_lookup_elem(st->http_stats_fd, &id, stats) ? -errno : 0;
}

struct mdr_http_stats *mdr_state_map_http_stats(const struct mdr_state *st,
						size_t *len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *mem;

	*len = sizeof(struct mdr_http_stats) * (MDR_MAX_ATTACH + 1);
	*len = (*len + page - 1) / page * page;
	mem = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED,
		   st->http_stats_fd, 0);
	return mem == MAP_FAILED ? NULL : mem;
}

int mdr_state_get_link(const struct mdr_state *st, __u64 cookie,
		       struct mdr_link *link)
{
	return bpf_map_lookup_elem(st->link_fd, &cookie, link) ? -errno : 0;
}

int mdr_state_put_link(const struct mdr_state *st, __u64 cookie,
		       const struct mdr_link *link)
{
	return bpf_map_update_elem(st->link_fd, &cookie, link, BPF_ANY) ? -errno
									: 0;
}

void mdr_state_delete_link(const struct mdr_state *st, __u64 cookie)
{
	bpf_map_delete_elem(st->link_fd, &cookie);
}

int mdr_state_for_each_link(const struct mdr_state *st,
			    int (*fn)(__u64 cookie, const struct mdr_link *link,
				      void *ctx),
			    void *ctx)
{
	struct mdr_link link;
	__u64 *cookies;
	size_t n;
	int err = 0;

	/* Keys first, as for attachments: fn may delete links. */
	cookies = malloc(MDR_MAX_LINKS * sizeof(*cookies));
	if (!cookies)
		return -ENOMEM;
	n = map_keys(st->link_fd, cookies, sizeof(*cookies), MDR_MAX_LINKS);
	for (size_t i = 0; i < n && !err; i++) {
		if (mdr_state_get_link(st, cookies[i], &link))
			continue; /* released meanwhile */
		err = fn(cookies[i], &link, ctx);
	}
	free(cookies);
	return err;
}
