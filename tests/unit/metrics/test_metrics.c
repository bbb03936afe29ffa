// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metrics endpoint on a unix socket, without BPF: what it answers to
 * good, wrong and broken requests, the histogram's buckets, and the
 * socket file's life. The data path's metrics are tested in
 * tests/bats/metrics.bats, against a running daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "check.h"
#include "daemon/metrics_server.h"

static char sock_path[108];

/* Sends REQ on a new connection to the endpoint; the whole answer. */
static const char *ask(const char *req, size_t len)
{
	static char out[65536];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	out[0] = '\0';
	strcpy(a.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return "(cannot connect)";
	}
	if (len)
		send(fd, req, len, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR); /* all it will say: no waiting for more */
	while ((n = recv(fd, out + got, sizeof(out) - 1 - got, 0)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fd);
	return out;
}

static const char *get(const char *req)
{
	return ask(req, strlen(req));
}

static void test_histogram(void)
{
	struct mdr_identity id = { .attach_id = 3 };
	struct mdr_request_record rec = { .id = &id, .duration_ms = 3.2 };
	struct mdr_metrics m = {};

	CHECK_INT(mdr_metrics_init(&m), 0);
	mdr_metrics_count(&m, &rec); /* 3.2 ms: the 5 ms bucket */
	rec.duration_ms = 1;	     /* exactly on a bound: that bucket */
	mdr_metrics_count(&m, &rec);
	rec.duration_ms = 60000; /* above every bound */
	mdr_metrics_count(&m, &rec);
	id.attach_id = MDR_MAX_ATTACH + 1; /* never an attachment: ignored */
	mdr_metrics_count(&m, &rec);
	rec.id = NULL;
	mdr_metrics_count(&m, &rec);
	CHECK_INT(m.latency[3].bucket[0], 1);
	CHECK_INT(m.latency[3].bucket[2], 1);
	CHECK_INT(m.latency[3].bucket[MDR_METRICS_BUCKETS], 1);
	CHECK_INT(m.latency[3].sum_us, 3200 + 1000 + 60000000);
	mdr_metrics_free(&m);
}

static void test_endpoint(void)
{
	struct mdr_proxy_counters pc = { .rate_limited = 7,
					 .connections_open = 2 };
	struct mdr_metrics m = { .proxy = &pc };
	struct mdr_metrics_server s;
	char spec[128], big[MDR_METRICS_MAX_REQUEST + 100];
	const char *r;

	snprintf(spec, sizeof(spec), "unix:%s", sock_path);
	CHECK_INT(mdr_metrics_serve(&s, spec, &m), 0);

	r = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_HAS(r, "HTTP/1.1 200 OK\r\n");
	CHECK_HAS(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
	CHECK_HAS(r, "Connection: close\r\n");
	CHECK_HAS(r, "# TYPE mdredir_rate_limited_total counter\n"
		     "mdredir_rate_limited_total 7\n");
	CHECK_HAS(r, "# TYPE mdredir_connections_open gauge\n"
		     "mdredir_connections_open 2\n");
	/* Whether a daemon runs it on this machine is not ours to say. */
	CHECK_HAS(r, "\nmdredir_source_running{source=\"ovn\"} ");
	/* The body is exactly Content-Length long. */
	{
		const char *body = strstr(r, "\r\n\r\n");
		const char *cl = strstr(r, "Content-Length: ");

		CHECK(body && cl);
		if (body && cl)
			CHECK_INT(strlen(body + 4), atol(cl + 16));
	}
	r = get("GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	CHECK_HAS(r, "HTTP/1.1 200 OK\r\n");
	r = get("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_HAS(r, "HTTP/1.1 200 OK\r\n");
	CHECK(!strstr(r, "mdredir_"));

	r = get("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_HAS(r, "HTTP/1.1 404 ");
	r = get("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_HAS(r, "HTTP/1.1 404 ");
	r = get("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx");
	CHECK_HAS(r, "HTTP/1.1 405 ");
	CHECK_HAS(r, "Allow: GET, HEAD\r\n");
	r = get("this is not http\r\n\r\n");
	CHECK_HAS(r, "HTTP/1.1 400 ");
	r = get("GET /metrics HTTP/1.1\r\nHost: \x01\r\n\r\n");
	CHECK_HAS(r, "HTTP/1.1 400 ");
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	r = ask(big, sizeof(big));
	CHECK_HAS(r, "HTTP/1.1 4"); /* 414 or 431: too large either way */
	/* A client that says nothing and goes: nothing, and no harm. */
	CHECK_STR(ask("", 0), "");
	/* Still serving after all that. */
	r = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_HAS(r, "HTTP/1.1 200 OK\r\n");

	mdr_metrics_stop(&s);
	CHECK(access(sock_path, F_OK) && errno == ENOENT);
	mdr_metrics_stop(&s); /* twice is fine */
}

static void test_socket_file(void)
{
	struct mdr_metrics m = {};
	struct mdr_metrics_server s;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char spec[128];
	FILE *f;
	int fd, saved;

	snprintf(spec, sizeof(spec), "unix:%s", sock_path);
	/* A socket left behind by a daemon killed outright is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	strcpy(a.sun_path, sock_path);
	CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	CHECK_INT(mdr_metrics_serve(&s, spec, &m), 0);
	CHECK_HAS(get("GET /metrics HTTP/1.0\r\n\r\n"), "HTTP/1.1 200 OK");
	mdr_metrics_stop(&s);
	/* Anything else is not ours to remove. */
	f = fopen(sock_path, "w");
	fclose(f);
	/* Its message, expected, kept off the test's output. */
	saved = dup(STDERR_FILENO);
	dup2(open("/dev/null", O_WRONLY | O_CLOEXEC), STDERR_FILENO);
	CHECK_INT(mdr_metrics_serve(&s, spec, &m), -EEXIST);
	dup2(saved, STDERR_FILENO);
	close(saved);
	CHECK_INT(access(sock_path, F_OK), 0);
	unlink(sock_path);
	/* "" is no endpoint at all. */
	CHECK_INT(mdr_metrics_serve(&s, "", &m), 0);
	CHECK_INT(s.fd, -1);
	mdr_metrics_stop(&s);
}

int main(void)
{
	char dir[] = "/tmp/mdr-metrics-XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/metrics.sock", dir);
	test_histogram();
	test_endpoint();
	test_socket_file();
	unlink(sock_path);
	rmdir(dir);
	return check_summary();
}
