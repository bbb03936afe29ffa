/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the proxy: one guest connection, in parts (the loop's entry,
 * the guest's socket and identity, the exchange it shares with the relay,
 * a file being sent, the relay's own part), and the proxy that holds them.
 */
#ifndef MDR_CONN_H
#define MDR_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/parser.h"
#include "lib/identity.h"
#include "proxy/admission.h"
#include "proxy/buf.h"
#include "proxy/cache.h"
#include "proxy/loop.h"
#include "proxy/options.h"
#include "proxy/relay.h"
#include "proxy/shared.h"

#define MDR_BUF_SIZE 32768 /* holds the largest head we accept (24 KiB) */

enum conn_state {
	CS_HEAD,    /* waiting for a request head */
	CS_RESPOND, /* sending a response the proxy made (error or local file) */
	CS_RELAY,   /* exchanging with the backend */
	CS_LINGER,  /* final response sent, write side shut, reading to EOF */
};

/* The guest: its socket, and who it is. */
struct guest {
	int fd;
	uint32_t ev; /* events registered with epoll */
	struct endpoint ep;
	/*
	 * The last read left the socket empty (a short read, or nothing
	 * can be there yet): no recv() until epoll reports the socket again.
	 * epoll is level-triggered and the socket stays registered for
	 * input, so nothing is missed, and a request costs no read that
	 * only says EAGAIN. Plain sockets only (OpenSSL buffers).
	 */
	bool in_drained;
	bool have_id;
	struct mdr_identity id;
	char peer[INET6_ADDRSTRLEN];
	struct in6_addr peer_addr; /* the rate limiter's key; IPv4 v4-mapped */
	struct mdr_http_parser req_parser;
};

/* The request in progress as the access log tells it. */
struct request_log {
	bool in_request;
	bool cache_hit; /* this response came from the cache */
	char method[16];
	char path[256];	    /* escaped and possibly cut */
	uint64_t bytes_out; /* response bytes written to the guest */
	double started_ms;
};

/* A local file (or rendered listing, or cached body) sent with sendfile. */
struct file_send {
	int fd;
	off_t off;
	uint64_t left;
};

/*
 * What a worker's requests are served with: the backend and what goes
 * with it (its idle connections, the cache epoch its responses are kept
 * under), and the timeouts. A reload makes a new generation in each
 * worker for new requests; a request under way keeps the one it started
 * with, and a generation is freed (between two loop turns, when no event
 * can name it any more) once no connection uses it.
 */
struct proxy_gen {
	const struct mdr_backend *backend;
	struct mdr_backend_ref *ref; /* backend's, counted across workers */
	int base_fd;		     /* local backend: O_PATH of DIR */
	unsigned int timeout_ms[T_COUNT];
	enum mdr_imds_tokens tokens;
	struct relay_env relay;
	unsigned int
		users; /* connections using it, and the proxy while current */
	struct proxy_gen *next_retired;
};

struct conn {
	struct loop_entry le;
	struct proxy_gen *gen; /* its request's, or the newest between them */
	struct conn *all_prev, *all_next; /* every live connection */
	enum conn_state state;
	bool progress; /* I/O moved since the last timer refresh */
	struct guest g;
	struct exchange x;
	struct request_log log;
	struct file_send file;
	struct relay r;
};

/* One worker: a thread, its loop, its listener and its connections. */
struct proxy {
	/* The options in force: the caller's, as the last reload left them. */
	struct mdr_proxy_options opts;
	const struct mdr_proxy_options *o; /* &opts */
	struct mdr_shared *sh;		   /* what every worker shares */
	unsigned int worker;		   /* 0: on mdr_proxy_run()'s thread */
	int listen_fd;			   /* o->listen_fds[worker] */
	int wake_fd;  /* eventfd: new options were published */
	uint64_t seq; /* the publication it serves with */
	struct mdr_loop loop;
	struct proxy_gen *gen;	   /* what new requests are served with */
	struct proxy_gen *retired; /* older ones, until their last user ends */
	struct mdr_buf_pool bufs;  /* every connection buffer (MDR_BUF_SIZE) */
	bool accepting;
	uint64_t accept_resume_ms; /* after EMFILE and friends */
	/* Held so that out of descriptors, one can still be freed to accept
	 * a guest and tell it 503 rather than leave it in the queue. */
	int spare_fd;
	unsigned int catch_up_turns; /* after a stall: see note_stall() */
	struct conn *all;
	struct mdr_proxy_counters *ctr; /* options->counters, or our own */
	struct endpoint listener, waker;
};

static inline struct conn *conn_of(struct loop_entry *e)
{
	return loop_container(e, struct conn, le);
}

#endif
