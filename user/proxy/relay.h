/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The relay: a guest's request carried to a neutron or nova backend and
 * the response carried back (relay.c), over a connection of its own or
 * one from a small idle pool, in plain TCP or TLS.
 *
 * It works on its own part of a connection (struct relay) and on the
 * request it shares with the guest session (struct exchange), and uses
 * the loop's primitives. It never calls the session: what it cannot do
 * (no backend, a broken response, a timeout it detected) it reports as an
 * outcome, a status and why, and the session answers the guest with it.
 */
#ifndef MDR_RELAY_H
#define MDR_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/spec.h"
#include "http/parser.h"
#include "lib/identity.h"
#include "proxy/buf.h"
#include "proxy/cache.h"
#include "proxy/loop.h"

struct conn;

/* What an epoll event points at: a guest or a backend socket. */
struct endpoint {
	struct conn *c; /* NULL: the listener, or an idle backend socket */
	bool backend;
	int slot; /* pooled backend sockets: index in relay_env.idle[] */
	struct relay_env *env; /* pooled backend sockets: whose pool */
};

/*
 * The request in progress as the guest session and the relay share it:
 * the guest's byte streams and how this exchange is to end. The session
 * reads the request head from in and owns the connection; the relay takes
 * the request body from in and queues the response in out.
 */
struct exchange {
	struct mdr_buf in, out; /* guest -> proxy, proxy -> guest */
	bool in_eof;		/* the guest finished sending */
	bool close_after;	/* no keep-alive after this response */
	bool is_head;
	int minor;		  /* the guest's HTTP/1.x */
	int status;		  /* of the response, for the log */
	const char *note;	  /* why the request ended badly, for the log */
	uint64_t bytes_in;	  /* request bytes read from the guest */
	struct mdr_body req_body; /* guest -> backend */
};

enum relay_state {
	RS_CONNECTING,
	RS_HANDSHAKE, /* TCP connected, TLS handshake under way */
	RS_HEAD,      /* connected, waiting for the response head */
	RS_BODY,
	RS_DONE, /* response complete (or given up); backend closed */
};

/* The relay's answer when the guest has to be answered by the proxy
 * (status 0: none; the relay is then closed by the session). */
struct relay_outcome {
	int status; /* 400, 431, 500, 502, 503 */
	char why[160];
};

/* A backend connection's part in the idle pool (see relay.c). */
struct relay_pool_use {
	bool reused;	  /* the connection came from the idle pool */
	int slot;	  /* the pool slot it is lent from, or -1 */
	bool got_bytes;	  /* the backend sent something for this request */
	bool retryable;	  /* bodiless GET/HEAD: may be resent once */
	bool retried;	  /* already resent on a fresh connection */
	bool close_after; /* the exchange's close_after when the relay began */
	size_t head_len;  /* the rewritten request head, at out.p */
};

/* TLS to the backend. */
struct relay_tls {
	struct ssl_st *ssl; /* NULL for plain */
	/* epoll events the last SSL call needs before it can go on. */
	uint32_t hs_ev, rd_ev, wr_ev;
	bool write_failed;
};

/* One connection's exchange with the backend. */
struct relay {
	enum relay_state rs;
	int fd;	     /* -1: no backend connection */
	uint32_t ev; /* events registered with epoll */
	struct endpoint ep;
	struct mdr_buf in, out; /* backend -> proxy, proxy -> backend */
	/* The last read left the socket empty: no recv() until epoll
	 * reports it again (see the guest's in_drained). Plain only. */
	bool drained;
	bool in_eof;	 /* backend finished sending */
	bool out_broken; /* backend stopped taking the request */
	bool close;	 /* the backend's response said no keep-alive */
	int err;	 /* errno that ended the backend connection */
	struct mdr_http_parser parser;
	struct mdr_body body; /* backend -> guest */
	struct relay_pool_use pool;
	struct relay_tls tls;
	struct mdr_cache_capture cap; /* the response, kept for the cache */
	char why[200]; /* the exchange's note, when it is composed */
	struct relay_outcome outcome;
};

/*
 * The pool of backend connections: plain neutron and nova backends only.
 * A slot holds one connection, idle (ep.c NULL, on the stack) or lent to
 * a guest's request (ep.c that guest's conn), and keeps its endpoint for
 * good: epoll names the slot, so taking and parking a connection moves
 * one pointer and costs no epoll_ctl, and an event that arrives for a
 * slot whose socket was meanwhile taken, parked or replaced only costs a
 * harmless wakeup. The stack orders the idle slots, the most recently
 * parked last: LIFO keeps the few busiest connections warm and lets the
 * others time out.
 *
 * MDR_POOL_MAX is for all workers together: each keeps MDR_POOL_MAX /
 * workers idle at most (idle sockets live in their worker's epoll set).
 */
#define MDR_POOL_MAX 64
#define MDR_POOL_IDLE_MS \
	2000 /* well under backends' keep-alive timeouts
			       * (Apache httpd: 5 s; eventlet, nginx: longer) */

struct idle_backend {
	int fd;		   /* -1: slot free */
	uint32_t events;   /* registered with epoll */
	uint64_t since_ms; /* parked at */
	struct endpoint ep;
};

/* What the relay keeps across requests and connections. */
struct relay_env {
	struct mdr_loop *loop;
	const struct mdr_backend *be;
	struct mdr_buf_pool *bufs;
	struct mdr_cache *cache; /* shared by every worker (cache.h) */
	uint64_t cache_epoch;	 /* the cache's when this env was made */
	/* The last resumable TLS session with the backend: one connection
	 * per request would otherwise pay a full handshake each time. */
	struct ssl_session_st *tls_session;
	bool pool_on;
	unsigned int pool_max; /* this worker's share of MDR_POOL_MAX */
	struct idle_backend idle[MDR_POOL_MAX];
	unsigned char idle_stack[MDR_POOL_MAX];
	unsigned int n_idle;
};

void relay_env_init(struct relay_env *re, struct mdr_loop *loop,
		    const struct mdr_backend *be, struct mdr_buf_pool *bufs,
		    struct mdr_cache *cache, uint64_t cache_epoch,
		    bool keepalive, unsigned int pool_max);
/* Closes the idle pool and forgets the TLS session. */
void relay_env_free(struct relay_env *re);
/* Closes the idle pool and parks nothing more: a reload replaced this
 * backend, and the connections lent out close when their requests end. */
void relay_env_drain(struct relay_env *re);

/* A connection's relay, with nothing under way; owner names it in epoll. */
void relay_init(struct relay *r, struct conn *owner);

/*
 * Starts relaying req (already consumed from x->in, its body still there)
 * for guest id. cache_key (NULL: none) is the cache's key for a GET it
 * could not answer: the response is kept for it if it can be. On return,
 * either r->outcome.status is set, or the backend exchange is under way.
 */
void relay_start(struct relay_env *re, struct relay *r, struct exchange *x,
		 const struct mdr_identity *id, const struct mdr_http_head *req,
		 const char *cache_key, size_t key_len);
/* epoll reported the backend socket. false: a stale event, nothing to do;
 * else r->outcome may be set. */
bool relay_event(struct relay_env *re, struct relay *r, struct exchange *x);
/* Moves what can move. 0 (r->outcome may be set), or a negative errno to
 * close the guest connection. */
int relay_step(struct relay_env *re, struct relay *r, struct exchange *x,
	       bool *progress);
/* Registers what the backend socket should wake the loop for. */
void relay_update_events(struct relay_env *re, struct relay *r);
/* Whether the exchange waits for the guest (its body), not the backend. */
bool relay_waits_for_guest(const struct relay *r, const struct exchange *x);
/* Frees it all: the backend connection, TLS, buffers, the capture. */
void relay_close(struct relay_env *re, struct relay *r);

void relay_pool_event(struct relay_env *re, int slot); /* idle socket woke */
void relay_pool_expire(struct relay_env *re);	       /* drops the long idle */

#endif
