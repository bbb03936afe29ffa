// SPDX-License-Identifier: GPL-2.0-only
/*
 * The response cache on its own: keys that keep identities apart, expiry,
 * eviction within the memory bound, bodies that come back byte for byte;
 * and as the workers share it: a hit that outlives the entry's eviction,
 * a reload's new epoch that stores nothing captured under the old one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proxy/cache.h"

static struct mdr_identity guest(unsigned id, const char *ip,
				 const char *instance)
{
	struct mdr_identity g = { .attach_id = id };

	snprintf(g.vm_ip, sizeof(g.vm_ip), "%s", ip);
	snprintf(g.instance_id, sizeof(g.instance_id), "%s", instance);
	return g;
}

static size_t key_of(const struct mdr_identity *g, const char *path, char *k)
{
	return mdr_cache_key(g, path, strlen(path), k, 512);
}

/* The head of the last hit. */
static char hit_head[256];

/* A lookup as the session makes it; the last hit's descriptor is closed. */
static bool lookup(struct mdr_cache *c, const char *k, size_t n,
		   uint64_t now_ms, struct mdr_cache_hit *h)
{
	static int last_fd = -1;

	if (last_fd >= 0)
		close(last_fd);
	last_fd = -1;
	if (!mdr_cache_lookup(c, k, n, now_ms, hit_head, sizeof(hit_head), h))
		return false;
	last_fd = h->body_fd;
	return true;
}

/* The body a hit hands out, read back from its memfd. */
static int body_is(const struct mdr_cache_hit *h, const char *want)
{
	char buf[256] = "";
	ssize_t n = pread(h->body_fd, buf, sizeof(buf) - 1, 0);

	return n == (ssize_t)strlen(want) && h->body_len == (uint64_t)n &&
	       !memcmp(buf, want, n);
}

static void test_identities_never_mix(void)
{
	struct mdr_identity a = guest(1, "10.0.0.5", "inst-a");
	struct mdr_identity b = guest(2, "10.0.0.5", "inst-b");
	struct mdr_identity a2 = guest(1, "10.0.0.6", "inst-a");
	struct mdr_identity a3 = guest(1, "10.0.0.5", "inst-c");
	struct mdr_cache c;
	struct mdr_cache_hit h;
	char k[512];
	size_t n;

	CHECK(mdr_cache_init(&c, 15000, 1 << 20) == 0);
	n = key_of(&a, "/openstack/latest/meta_data.json", k);
	CHECK(n > 0);
	CHECK(!lookup(&c, k, n, 0, &h));
	CHECK(mdr_cache_store(&c, k, n, "HTTP/1.1 200 OK\r\n", 17, "A", 1, 0) ==
	      0);
	CHECK(lookup(&c, k, n, 1, &h) && body_is(&h, "A"));
	CHECK(h.head_len == 17 && !memcmp(hit_head, "HTTP/1.1 200 OK\r\n", 17));
	/* Another attachment, guest address or instance: never A's answer. */
	n = key_of(&b, "/openstack/latest/meta_data.json", k);
	CHECK(!lookup(&c, k, n, 1, &h));
	n = key_of(&a2, "/openstack/latest/meta_data.json", k);
	CHECK(!lookup(&c, k, n, 1, &h));
	n = key_of(&a3, "/openstack/latest/meta_data.json", k);
	CHECK(!lookup(&c, k, n, 1, &h));
	/* Another path, or the same one with a query: another key. */
	n = key_of(&a, "/openstack/latest/meta_data.json?x", k);
	CHECK(!lookup(&c, k, n, 1, &h));
	mdr_cache_free(&c);
}

/*
 * Every id of the identity is in the key: a guest whose project, network,
 * router (or instance) differs from another's, all else equal, never gets
 * the other's answer. Each field is changed alone, and emptied alone, so
 * that dropping any one of them from mdr_cache_key() fails here.
 */
static void test_every_id_in_key(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} ids[] = {
		{ "project_id", offsetof(struct mdr_identity, project_id) },
		{ "network_id", offsetof(struct mdr_identity, network_id) },
		{ "router_id", offsetof(struct mdr_identity, router_id) },
		{ "instance_id", offsetof(struct mdr_identity, instance_id) },
	};
	static const char path[] = "/openstack/latest/meta_data.json";
	struct mdr_identity base = guest(1, "10.0.0.5", "inst-a"), other;
	struct mdr_cache c;
	struct mdr_cache_hit h;
	char k[512];
	size_t n;

	snprintf(base.project_id, sizeof(base.project_id), "proj-a");
	snprintf(base.network_id, sizeof(base.network_id), "net-a");
	snprintf(base.router_id, sizeof(base.router_id), "rtr-a");
	CHECK(mdr_cache_init(&c, 15000, 1 << 20) == 0);
	n = key_of(&base, path, k);
	CHECK(mdr_cache_store(&c, k, n, "H", 1, "base", 4, 0) == 0);
	/* The same identity, built again: the same key. */
	other = base;
	n = key_of(&other, path, k);
	CHECK(lookup(&c, k, n, 1, &h) && body_is(&h, "base"));

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char *field;

		other = base;
		field = (char *)&other + ids[i].offset;
		snprintf(field, MDR_ID_LEN, "%s-b", ids[i].name);
		n = key_of(&other, path, k);
		check_report(n > 0 && !lookup(&c, k, n, 1, &h), __FILE__,
			     __LINE__, __func__, "another %s, same answer",
			     ids[i].name);
		field[0] = '\0';
		n = key_of(&other, path, k);
		check_report(n > 0 && !lookup(&c, k, n, 1, &h), __FILE__,
			     __LINE__, __func__, "no %s, same answer",
			     ids[i].name);
	}

	/* Where one id ends and the next begins is part of the key too. */
	other = base;
	snprintf(other.network_id, sizeof(other.network_id), "net-ar");
	snprintf(other.router_id, sizeof(other.router_id), "tr-a");
	n = key_of(&other, path, k);
	CHECK(n > 0 && !lookup(&c, k, n, 1, &h));
	other = base;
	snprintf(other.project_id, sizeof(other.project_id), "proj-anet-a");
	other.network_id[0] = '\0';
	n = key_of(&other, path, k);
	CHECK(n > 0 && !lookup(&c, k, n, 1, &h));
	mdr_cache_free(&c);
}

static void test_expiry_and_replace(void)
{
	struct mdr_identity a = guest(1, "fe80::1", "inst-a");
	struct mdr_cache c;
	struct mdr_cache_hit h;
	char k[512];
	size_t n;

	CHECK(mdr_cache_init(&c, 1000, 1 << 20) == 0);
	n = key_of(&a, "/x", k);
	CHECK(mdr_cache_store(&c, k, n, "H", 1, "old", 3, 100) == 0);
	CHECK(lookup(&c, k, n, 1099, &h) && body_is(&h, "old"));
	CHECK(!lookup(&c, k, n, 1100, &h)); /* expired, dropped */
	CHECK(c.used == 0);
	CHECK(mdr_cache_store(&c, k, n, "H", 1, "old", 3, 2000) == 0);
	CHECK(mdr_cache_store(&c, k, n, "H", 1, "new", 3, 2001) == 0);
	CHECK(lookup(&c, k, n, 2002, &h) && body_is(&h, "new"));
	mdr_cache_free(&c);
}

static void test_bounded_memory(void)
{
	static char body[8192];
	struct mdr_identity a = guest(1, "10.0.0.5", "i");
	struct mdr_cache c;
	struct mdr_cache_hit h;
	char k[512], path[32];
	size_t n;

	memset(body, 'b', sizeof(body));
	CHECK(mdr_cache_init(&c, 60000, 64 * 1024) == 0);
	/* A response over a sixteenth of the cache (4 KiB) is not kept. */
	n = key_of(&a, "/big", k);
	CHECK(c.max_body == 4096);
	CHECK(mdr_cache_store(&c, k, n, "H", 1, body, 4097, 0) == -E2BIG);
	CHECK(!lookup(&c, k, n, 0, &h));
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/p%d", i);
		n = key_of(&a, path, k);
		CHECK(mdr_cache_store(&c, k, n, "H", 1, body, 1024, i) == 0);
		CHECK(c.used <= c.max_bytes);
	}
	/* The oldest went first; the newest are there. */
	n = key_of(&a, "/p0", k);
	CHECK(!lookup(&c, k, n, 200, &h));
	n = key_of(&a, "/p99", k);
	CHECK(lookup(&c, k, n, 200, &h) && h.body_len == 1024);
	mdr_cache_free(&c);
}

static void test_disabled(void)
{
	struct mdr_identity a = guest(1, "10.0.0.5", "i");
	struct mdr_cache c;
	struct mdr_cache_hit h;
	char k[512];
	size_t n;

	CHECK(mdr_cache_init(&c, 0, 1 << 20) == 0);
	CHECK(!mdr_cache_enabled(&c));
	n = key_of(&a, "/x", k);
	CHECK(mdr_cache_store(&c, k, n, "H", 1, "b", 1, 0) == 0);
	CHECK(!lookup(&c, k, n, 0, &h));
	mdr_cache_free(&c);
}

/*
 * A hit is the caller's own: another worker evicting the entry (here, a
 * store that needs its room) while the body is being sent leaves the
 * descriptor open and its bytes intact, and a descriptor opened meanwhile
 * does not take its number.
 */
static void test_hit_outlives_eviction(void)
{
	struct mdr_identity a = guest(1, "10.0.0.5", "i");
	struct mdr_cache c;
	struct mdr_cache_hit h;
	char head[64], k[512], k2[512], buf[16] = "";
	size_t n, n2;
	int other;

	/* Room for one entry of this size: the second evicts the first. */
	CHECK(mdr_cache_init(&c, 60000, 900) == 0);
	n = key_of(&a, "/first", k);
	n2 = key_of(&a, "/second", k2);
	CHECK(mdr_cache_store(&c, k, n, "H1", 2, "first", 5, 0) == 0);
	CHECK(mdr_cache_lookup(&c, k, n, 1, head, sizeof(head), &h));
	CHECK(mdr_cache_store(&c, k2, n2, "H2", 2, "second", 6, 2) == 0);
	CHECK(!lookup(&c, k, n, 3, &(struct mdr_cache_hit){}));
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(other != h.body_fd);
	CHECK(pread(h.body_fd, buf, sizeof(buf) - 1, 0) == 5 &&
	      !strcmp(buf, "first"));
	CHECK(h.head_len == 2 && !memcmp(head, "H1", 2));
	close(other);
	close(h.body_fd);
	mdr_cache_free(&c);
}

/* A head that does not fit where the caller wants it is no hit. */
static void test_head_room(void)
{
	struct mdr_identity a = guest(1, "10.0.0.5", "i");
	struct mdr_cache c;
	struct mdr_cache_hit h;
	char head[8], k[512];
	size_t n;

	CHECK(mdr_cache_init(&c, 60000, 1 << 20) == 0);
	n = key_of(&a, "/x", k);
	CHECK(mdr_cache_store(&c, k, n, "HEAD5678", 8, "b", 1, 0) == 0);
	CHECK(!mdr_cache_lookup(&c, k, n, 1, head, 7, &h));
	CHECK(mdr_cache_lookup(&c, k, n, 1, head, 8, &h));
	close(h.body_fd);
	mdr_cache_free(&c);
}

/*
 * A reload that changes the cache (or the backend) empties it under a new
 * epoch: a response captured under the old one, from the old backend, is
 * not stored; one captured under the new one is.
 */
static void test_reconfigure_epoch(void)
{
	struct mdr_http_head resp = { .status = 200, .body = MDR_BODY_LENGTH };
	static const char out[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
				  "Connection: close\r\n\r\n";
	struct mdr_identity a = guest(1, "10.0.0.5", "i");
	struct mdr_cache_capture old = { 0 }, cur = { 0 };
	struct mdr_cache c;
	struct mdr_cache_hit h;
	uint64_t epoch;
	char k[512];
	size_t n;

	CHECK(mdr_cache_init(&c, 60000, 1 << 20) == 0);
	n = key_of(&a, "/x", k);
	CHECK(mdr_cache_store(&c, k, n, "H", 1, "b", 1, 0) == 0);
	epoch = mdr_cache_epoch(&c);
	mdr_cache_capture_begin(&c, &old, k, n, epoch);
	CHECK(mdr_cache_capturing(&old));
	mdr_cache_capture_head(&old, &resp, false, 3, out, strlen(out), false);
	mdr_cache_reconfigure(&c, 60000, 2 << 20);
	CHECK(mdr_cache_epoch(&c) != epoch);
	CHECK(!lookup(&c, k, n, 1, &h)); /* emptied */
	mdr_cache_capture_body(&c, &old, "old", 3, true, 2);
	mdr_cache_capture_end(&old);
	CHECK(!lookup(&c, k, n, 3, &h));
	/* Begun under the old epoch after the reload: nothing kept. */
	mdr_cache_capture_begin(&c, &old, k, n, epoch);
	CHECK(!mdr_cache_capturing(&old));
	mdr_cache_capture_begin(&c, &cur, k, n, mdr_cache_epoch(&c));
	mdr_cache_capture_head(&cur, &resp, false, 3, out, strlen(out), false);
	mdr_cache_capture_body(&c, &cur, "new", 3, true, 4);
	mdr_cache_capture_end(&cur);
	CHECK(lookup(&c, k, n, 5, &h) && body_is(&h, "new"));
	/* Turned off and on again by reloads. */
	mdr_cache_reconfigure(&c, 0, 0);
	CHECK(!mdr_cache_enabled(&c) && !lookup(&c, k, n, 6, &h));
	mdr_cache_reconfigure(&c, 1000, 1 << 20);
	CHECK(mdr_cache_store(&c, k, n, "H", 1, "on", 2, 7) == 0);
	CHECK(lookup(&c, k, n, 8, &h) && body_is(&h, "on"));
	mdr_cache_free(&c);
}

/*
 * Two workers at once, one storing (and so evicting) while the other
 * hits: every hit's body is whole, whatever was evicted meanwhile.
 */
struct hammer {
	struct mdr_cache *c;
	int bad, hits;
};

static void *store_loop(void *arg)
{
	struct hammer *hm = arg;
	struct mdr_identity a = guest(1, "10.0.0.5", "i");
	char k[512], path[32];

	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "/p%d", i % 8);
		mdr_cache_store(hm->c, k, key_of(&a, path, k), "H", 1,
				"0123456789", 10, 0);
	}
	return NULL;
}

static void test_hits_while_another_evicts(void)
{
	struct mdr_identity a = guest(1, "10.0.0.5", "i");
	struct mdr_cache c;
	struct hammer hm = { .c = &c };
	struct mdr_cache_hit h;
	char head[16], k[512], path[32], buf[16];
	pthread_t t;

	/* Room for about two entries: stores keep evicting. */
	CHECK(mdr_cache_init(&c, 60000, 2 * 1100) == 0);
	CHECK(pthread_create(&t, NULL, store_loop, &hm) == 0);
	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "/p%d", i % 8);
		if (!mdr_cache_lookup(&c, k, key_of(&a, path, k), 0, head,
				      sizeof(head), &h))
			continue;
		hm.hits++;
		if (pread(h.body_fd, buf, 10, 0) != 10 ||
		    memcmp(buf, "0123456789", 10))
			hm.bad++;
		close(h.body_fd);
	}
	pthread_join(t, NULL);
	CHECK_INT(hm.bad, 0);
	CHECK(c.used <= c.max_bytes);
	printf("# %d hits while another thread stored and evicted\n", hm.hits);
	mdr_cache_free(&c);
}

int main(void)
{
	test_hit_outlives_eviction();
	test_head_room();
	test_reconfigure_epoch();
	test_hits_while_another_evicts();
	test_identities_never_mix();
	test_every_id_in_key();
	test_expiry_and_replace();
	test_bounded_memory();
	test_disabled();
	return check_summary();
}
