/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the proxy: one guest connection and the loop that owns it.
 * proxy.c runs the loop and the guest side; relay.c talks to the backend.
 */
#ifndef MDR_CONN_H
#define MDR_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/buf.h"
#include "proxy/cache.h"
#include "proxy/loop.h"
#include "http/parser.h"
#include "proxy/proxy.h"

#define MDR_BUF_SIZE 32768 /* holds the largest head we accept (24 KiB) */

enum conn_state {
	CS_HEAD,    /* waiting for a request head */
	CS_RESPOND, /* sending a response the proxy made (error or local file) */
	CS_RELAY,   /* exchanging with the backend */
	CS_LINGER,  /* final response sent, write side shut, reading to EOF */
};

enum relay_state {
	RS_CONNECTING,
	RS_HANDSHAKE, /* TCP connected, TLS handshake under way */
	RS_HEAD, /* connected, waiting for the response head */
	RS_BODY,
	RS_DONE, /* response complete (or given up); backend closed */
};

struct conn;

/* What an epoll event points at: a guest or a backend socket. */
struct endpoint {
	struct conn *c; /* NULL: the listener, or an idle backend socket */
	bool backend;
	int slot;       /* pooled backend sockets: index in proxy.idle[] */
};

/*
 * The pool of backend connections (relay.c): plain neutron and nova
 * backends only. A slot holds one connection, idle (ep.c NULL, on the
 * stack) or lent to a guest's request (ep.c that guest's conn), and keeps
 * its endpoint for good: epoll names the slot, so taking and parking a
 * connection moves one pointer and costs no epoll_ctl, and an event that
 * arrives for a slot whose socket was meanwhile taken, parked or replaced
 * only costs a harmless wakeup. The stack orders the idle slots, the most
 * recently parked last: LIFO keeps the few busiest connections warm and
 * lets the others time out.
 */
#define MDR_POOL_MAX 64
#define MDR_POOL_IDLE_MS 2000 /* well under backends' keep-alive timeouts
			       * (Apache httpd: 5 s; eventlet, nginx: longer) */

struct idle_backend {
	int fd;            /* -1: slot free */
	uint32_t events;   /* registered with epoll */
	uint64_t since_ms; /* parked at */
	struct endpoint ep;
};

struct conn {
	struct loop_entry le;
	struct conn *all_prev, *all_next; /* every live connection */

	int cfd, bfd;
	uint32_t cev, bev; /* events registered with epoll */
	struct endpoint cep, bep;
	enum conn_state state;

	bool have_id;
	struct mdr_identity id;
	char peer[INET6_ADDRSTRLEN];
	struct in6_addr peer_addr; /* the rate limiter's key; IPv4 v4-mapped */

	struct mdr_buf cin, cout; /* guest -> proxy, proxy -> guest */
	/*
	 * The last read left the socket empty (a short read, or nothing
	 * can be there yet): no recv() until epoll reports the socket again.
	 * epoll is level-triggered and the socket stays registered for
	 * input, so nothing is missed, and a request costs no read that
	 * only says EAGAIN. Plain sockets only (OpenSSL buffers).
	 */
	bool cin_drained, b_drained;
	struct mdr_buf bin, bout; /* backend -> proxy, proxy -> backend */
	struct mdr_http_parser req_parser, resp_parser;
	bool cin_eof;

	/* The request in progress. */
	bool in_request;
	bool close_after; /* no keep-alive after this response */
	bool is_head;
	int minor;
	int status;
	const char *note; /* why the request ended badly, for the log */
	char method[16];
	char path[256]; /* for the log, escaped and possibly cut */
	uint64_t bytes_in, bytes_out;
	double started_ms;
	struct mdr_body req_body;  /* guest -> backend */
	struct mdr_body resp_body; /* backend -> guest */

	/* A local file (or rendered listing) being sent with sendfile. */
	int file_fd;
	off_t file_off;
	uint64_t file_left;

	enum relay_state rs;
	bool bin_eof;     /* backend finished sending */
	bool bout_broken; /* backend stopped taking the request */
	int backend_err;  /* errno that ended the backend connection */
	struct ssl_st *ssl; /* TLS to the backend, NULL for plain */
	/* Backend connection reuse (see relay.c). */
	bool b_reused;      /* bfd came from the idle pool */
	int b_slot;         /* the pool slot bfd is lent from, or -1 */
	bool b_got_bytes;   /* the backend sent something for this request */
	bool b_retryable;   /* bodiless GET/HEAD: may be resent once */
	bool b_retried;     /* already resent on a fresh connection */
	bool b_close;       /* the backend's response said no keep-alive */
	bool b_close_after; /* close_after as it was when the relay started */
	size_t b_head_len;  /* the rewritten request head, at bout.p */
	/* epoll events the last SSL call needs before it can go on. */
	uint32_t tls_hs_ev, tls_rd_ev, tls_wr_ev;
	bool tls_write_failed;
	char why[200];    /* c->note, when it has to be composed */
	bool progress;    /* I/O moved since the last timer refresh */

	struct mdr_cache_capture cap; /* the response, kept for the cache */
	bool cache_hit;   /* this response came from the cache */
};

struct proxy {
	const struct mdr_proxy_options *o;
	struct mdr_loop loop;
	int base_fd; /* local backend: O_PATH of DIR */
	struct mdr_conn_caps caps;
	struct mdr_rate_limiter rate;
	struct mdr_cache cache;
	struct mdr_buf_pool bufs; /* every connection buffer (MDR_BUF_SIZE) */
	bool accepting;
	uint64_t accept_resume_ms; /* after EMFILE and friends */
	/* Held so that out of descriptors, one can still be freed to accept
	 * a guest and tell it 503 rather than leave it in the queue. */
	int spare_fd;
	struct conn *all;
	struct endpoint listener;
	/* The last resumable TLS session with the backend: one connection
	 * per request would otherwise pay a full handshake each time. */
	struct ssl_session_st *tls_session;
	/* Idle backend connections (see struct idle_backend). */
	bool pool_on;
	struct idle_backend idle[MDR_POOL_MAX];
	unsigned char idle_stack[MDR_POOL_MAX];
	unsigned int n_idle;
};

static inline struct conn *conn_of(struct loop_entry *e)
{
	return loop_container(e, struct conn, le);
}

/* proxy.c */
void conn_timer_set(struct proxy *p, struct conn *c, enum timer_kind kind);
void conn_set_events(struct proxy *p, struct conn *c, bool backend,
		     uint32_t events);
/* Queues a complete response made by the proxy (text/plain, one line). */
void conn_respond(struct proxy *p, struct conn *c, int status,
		  const char *why, bool keep_alive);

/* relay.c: returns 0, or a negative errno to close the guest connection. */
int relay_start(struct proxy *p, struct conn *c,
		const struct mdr_http_head *req);
void relay_connected(struct proxy *p, struct conn *c);
int relay_step(struct proxy *p, struct conn *c, bool *progress);
void relay_close(struct proxy *p, struct conn *c); /* frees it all */
void relay_update_events(struct proxy *p, struct conn *c);
void relay_forget_sessions(struct proxy *p); /* at the end of the loop */
void relay_pool_init(struct proxy *p);
void relay_pool_event(struct proxy *p, int slot); /* idle socket woke up */
void relay_pool_expire(struct proxy *p); /* drops the long idle */
void relay_pool_free(struct proxy *p);

#endif
