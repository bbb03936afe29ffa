/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backends: spec parsing, Nova endpoints, signatures and TLS options
 * (user/backends/spec.c), and local path resolution (user/backends/local.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "backends/local.h"
#include "backends/spec.h"
#include "http_tests.h"

void test_backend_specs(void)
{
	struct mdr_backend be;
	char err[512];

	CHECK_INT(mdr_backend_parse("local:/tmp", &be, err, sizeof(err)), 0);
	CHECK_INT(be.kind, MDR_BACKEND_LOCAL);
	CHECK(!strcmp(be.dir, "/tmp"));
	CHECK_INT(mdr_backend_parse("local:/nonexistent-mdredir", &be, err,
				    sizeof(err)),
		  -ENOENT);
	CHECK(strstr(err, "/nonexistent-mdredir") != NULL);
	CHECK_INT(mdr_backend_parse("local:/etc/hostname", &be, err,
				    sizeof(err)),
		  -ENOTDIR);
	CHECK_INT(mdr_backend_parse("local:", &be, err, sizeof(err)), -EINVAL);

	CHECK_INT(mdr_backend_parse("neutron:unix:/run/neutron/metadata_proxy",
				    &be, err, sizeof(err)),
		  0);
	CHECK_INT(be.kind, MDR_BACKEND_NEUTRON);
	CHECK_INT(be.addr.ss_family, AF_UNIX);
	CHECK_INT(mdr_backend_parse("neutron:unix:", &be, err, sizeof(err)),
		  -EINVAL);
	{
		char spec[200] = "neutron:unix:/";

		memset(spec + 14, 'x', 150);
		spec[164] = '\0';
		CHECK_INT(mdr_backend_parse(spec, &be, err, sizeof(err)),
			  -ENAMETOOLONG);
	}

	CHECK_INT(mdr_backend_parse("neutron:http://127.0.0.1:8775", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(be.addr.ss_family, AF_INET);
	CHECK_INT(ntohs(((struct sockaddr_in *)&be.addr)->sin_port), 8775);
	CHECK_INT(mdr_backend_parse("neutron:http://127.0.0.1", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(ntohs(((struct sockaddr_in *)&be.addr)->sin_port), 80);
	CHECK_INT(mdr_backend_parse("neutron:http://127.0.0.1:9697/", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(mdr_backend_parse("neutron:http://[::1]:9697", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(be.addr.ss_family, AF_INET6);
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&be.addr)->sin6_port), 9697);
	CHECK_INT(mdr_backend_parse("neutron:http://localhost:9697", &be, err,
				    sizeof(err)),
		  0);

	static const char *const bad[] = {
		"neutron:http://127.0.0.1:0",
		"neutron:http://127.0.0.1:65536",
		"neutron:http://127.0.0.1:x",
		"neutron:http://127.0.0.1:",
		"neutron:http://:80",
		"neutron:http://[::1",
		"neutron:http://[::1]x",
		"neutron:http://127.0.0.1:80/path",
		"neutron:http://",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = mdr_backend_parse(bad[i], &be, err, sizeof(err));

		if (ret != -EINVAL)
			fprintf(stderr, "backend '%s': %d (%s)\n", bad[i], ret,
				err);
		CHECK_INT(ret, -EINVAL);
		CHECK(strstr(err, bad[i]) != NULL);
	}
	CHECK_INT(mdr_backend_parse("neutron:http://no-such-host.invalid:80",
				    &be, err, sizeof(err)),
		  -ENOENT);

	CHECK_INT(mdr_backend_parse("haproxy:http://x", &be, err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "haproxy:http://x") && strstr(err, "local:DIR") &&
	      strstr(err, "neutron:unix:PATH") &&
	      strstr(err, "neutron:http://HOST") &&
	      strstr(err, "nova:https://HOST"));
	CHECK_INT(mdr_backend_parse("", &be, err, sizeof(err)), -EINVAL);
	CHECK_INT(mdr_backend_parse("neutron", &be, err, sizeof(err)), -EINVAL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

void test_nova_specs(void)
{
	struct mdr_backend be;
	char err[512], desc[512];

	CHECK_INT(mdr_backend_parse("nova:http://127.0.0.1", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(be.kind, MDR_BACKEND_NOVA);
	CHECK(!be.tls && be.endpoint_set && be.host_is_ip);
	CHECK_INT(ntohs(((struct sockaddr_in *)&be.addr)->sin_port), 8775);
	CHECK(!strcmp(be.authority, "127.0.0.1:8775"));
	CHECK(!mdr_backend_needs_endpoint(&be));
	CHECK_INT(mdr_backend_finish(&be, err, sizeof(err)), 0);
	mdr_backend_describe(&be, desc, sizeof(desc));
	CHECK(!strcmp(desc, "nova:http://127.0.0.1:8775 (no shared secret)"));
	/* TLS options mean nothing to plain http: accepted and ignored. */
	CHECK_INT(mdr_backend_set_tls(&be, "/nonexistent", NULL, NULL, false,
				      err, sizeof(err)),
		  0);
	CHECK(be.ssl_ctx == NULL);

	CHECK_INT(mdr_backend_parse("nova:https://localhost:8443/", &be, err,
				    sizeof(err)),
		  0);
	CHECK(be.tls && !be.host_is_ip);
	CHECK(!strcmp(be.host, "localhost"));
	CHECK(!strcmp(be.authority, "localhost:8443"));
	CHECK_INT(mdr_backend_set_secret(&be, "s", 1), 0);
	/* finish() gives an https backend the system CAs. */
	CHECK_INT(mdr_backend_finish(&be, err, sizeof(err)), 0);
	CHECK(be.ssl_ctx != NULL);
	mdr_backend_describe(&be, desc, sizeof(desc));
	CHECK(!strncmp(desc, "nova:https://localhost:8443 (", 29));
	mdr_backend_release(&be);
	CHECK(be.ssl_ctx == NULL && be.key_len == 0);

	CHECK_INT(mdr_backend_parse("nova:https://[::1]", &be, err,
				    sizeof(err)),
		  0);
	CHECK(be.tls && be.host_is_ip);
	CHECK(!strcmp(be.host, "::1"));
	CHECK(!strcmp(be.authority, "[::1]:8775"));
	CHECK_INT(be.addr.ss_family, AF_INET6);

	/* Bare: the endpoint comes later, from Neutron's configuration. */
	CHECK_INT(mdr_backend_parse("nova", &be, err, sizeof(err)), 0);
	CHECK_INT(be.kind, MDR_BACKEND_NOVA);
	CHECK(mdr_backend_needs_endpoint(&be));
	CHECK_INT(mdr_backend_finish(&be, err, sizeof(err)), -EDESTADDRREQ);
	CHECK(strstr(err, "nova_metadata_host") != NULL);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "", 0, false, err,
						sizeof(err)),
		  -EINVAL);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "127.0.0.1", 70000, false,
						err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "no-such-host.invalid", 0,
						false, err, sizeof(err)),
		  -ENOENT);
	CHECK(mdr_backend_needs_endpoint(&be));
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "fd00::1", 0, true, err,
						sizeof(err)),
		  0);
	CHECK(be.tls && be.host_is_ip && !mdr_backend_needs_endpoint(&be));
	CHECK(!strcmp(be.authority, "[fd00::1]:8775"));
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&be.addr)->sin6_port), 8775);
	/* Once set (or when the spec named it), it stays. */
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "127.0.0.1", 80, false,
						err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(mdr_backend_parse("nova", &be, err, sizeof(err)), 0);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "127.0.0.1", 9999, false,
						err, sizeof(err)),
		  0);
	CHECK(!be.tls && !strcmp(be.authority, "127.0.0.1:9999"));
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "[::1]", 0, false, err,
						sizeof(err)),
		  -EINVAL);

	/* Only nova takes a secret or an endpoint. */
	CHECK_INT(mdr_backend_parse("neutron:http://127.0.0.1", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(mdr_backend_set_secret(&be, "s", 1), -EINVAL);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "127.0.0.1", 0, false, err,
						sizeof(err)),
		  -EINVAL);
	CHECK_INT(mdr_backend_finish(&be, err, sizeof(err)), 0);

	static const char *const bad[] = {
		"nova:",
		"nova:x",
		"nova:unix:/run/x",
		"nova:ftp://h",
		"nova:http://",
		"nova:https://",
		"nova:http://127.0.0.1:0",
		"nova:https://127.0.0.1:x",
		"nova:http://127.0.0.1/openstack",
		"nova:https://[::1",
		"novax",
		"nova:HTTP://127.0.0.1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = mdr_backend_parse(bad[i], &be, err, sizeof(err));

		if (ret != -EINVAL)
			fprintf(stderr, "backend '%s': %d (%s)\n", bad[i], ret,
				err);
		CHECK_INT(ret, -EINVAL);
		CHECK(strstr(err, bad[i]) != NULL);
	}
	CHECK_INT(mdr_backend_parse("nova:https://no-such-host.invalid", &be,
				    err, sizeof(err)),
		  -ENOENT);
}

/*
 * Expected values from neutron-metadata-agent's own computation:
 *   python3 -c 'import hmac, hashlib; print(hmac.new(SECRET.encode(),
 *               INSTANCE.encode(), hashlib.sha256).hexdigest())'
 */
void test_nova_signature(void)
{
	static const struct {
		const char *secret;
		size_t repeat; /* secret repeated this many times */
		const char *instance, *sig;
	} vec[] = {
		/* secret "s3cr3t", instance "inst-1" */
		{ "s3cr3t", 1, "inst-1",
		  "439de97388f549a2dcc1028067b052f1128de208ae3ed06f3ef648f998988fbc" },
		/* secret "" (Nova's default), a real-looking uuid */
		{ "", 1, "6a5c3b4f-1b7e-4d4a-9f44-0c1d8d0b2a11",
		  "25c74cae21940357383e83b06e0fcedda92869a6f34cf5e6439ee008959e81d6" },
		/* secret "x" * 64: exactly one SHA-256 block, used as is */
		{ "x", 64, "i",
		  "842b7a8a18f809326c616ca2225a47e8aebdada0477f074310497b10c52dc4b6" },
		/* secret "y" * 65: one byte over, hashed into the key */
		{ "y", 65, "i",
		  "10fd2372a528804e804c24a3d850ddaa056911645bf45c90d2b27b4d7f8a5640" },
		/* secret "metadata-secret-" * 10 (160 bytes) */
		{ "metadata-secret-", 10,
		  "6a5c3b4f-1b7e-4d4a-9f44-0c1d8d0b2a11",
		  "2fedc3813ac81d69ad6bb905fa47bc8378ce7b70d01230d0e2ba79452e84f202" },
	};
	char secret[256], sig[MDR_NOVA_SIGNATURE_LEN + 1];
	struct mdr_backend be;
	char err[256];

	CHECK_INT(mdr_backend_parse("nova:http://127.0.0.1", &be, err,
				    sizeof(err)),
		  0);
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = strlen(vec[i].secret), len = 0;

		for (size_t r = 0; r < vec[i].repeat; r++, len += n)
			memcpy(secret + len, vec[i].secret, n);
		CHECK_INT(mdr_backend_set_secret(&be, secret, len), 0);
		CHECK_INT(mdr_nova_sign(&be, vec[i].instance, sig), 0);
		if (strcmp(sig, vec[i].sig))
			fprintf(stderr, "vector %zu: got %s\n", i, sig);
		CHECK(!strcmp(sig, vec[i].sig));
	}
	/* No secret at all signs like the empty one. */
	mdr_backend_release(&be);
	CHECK_INT(mdr_nova_sign(&be, vec[1].instance, sig), 0);
	CHECK(!strcmp(sig, vec[1].sig));
}

/* Writes a self-signed EC certificate and its key as PEM files. */
static bool make_cert(const char *cert_path, const char *key_path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;
	bool ok = key && x;

	if (ok) {
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600);
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
					   MBSTRING_ASC,
					   (const unsigned char *)"test", -1,
					   -1, 0);
		X509_set_issuer_name(x, X509_get_subject_name(x));
		ok = X509_set_pubkey(x, key) && X509_sign(x, key, EVP_sha256());
	}
	if (ok && (f = fopen(cert_path, "w"))) {
		ok = PEM_write_X509(f, x);
		fclose(f);
	}
	if (ok && (f = fopen(key_path, "w"))) {
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

void test_tls_options(void)
{
	char dir[] = "/tmp/mdr-tls-XXXXXX", a_crt[64], a_key[64], b_crt[64],
	     b_key[64], junk[64], err[512], cmd[128];
	struct mdr_backend be;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(a_crt, sizeof(a_crt), "%s/a.crt", dir);
	snprintf(a_key, sizeof(a_key), "%s/a.key", dir);
	snprintf(b_crt, sizeof(b_crt), "%s/b.crt", dir);
	snprintf(b_key, sizeof(b_key), "%s/b.key", dir);
	snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
	CHECK(make_cert(a_crt, a_key));
	CHECK(make_cert(b_crt, b_key));
	write_file(junk, "not a certificate\n");

	CHECK_INT(mdr_backend_parse("nova:https://127.0.0.1", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, NULL, NULL, false, err,
				      sizeof(err)),
		  0);
	CHECK(be.ssl_ctx != NULL);
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, a_key, false, err,
				      sizeof(err)),
		  0);
	CHECK_INT(mdr_backend_set_tls(&be, dir, NULL, NULL, false, err,
				      sizeof(err)),
		  0);
	CHECK_INT(mdr_backend_set_tls(&be, NULL, NULL, NULL, true, err,
				      sizeof(err)),
		  0);
	CHECK(be.insecure);

	/* Each error names the file at fault, and leaves the last good
	 * context in place. */
	CHECK_INT(mdr_backend_set_tls(&be, "/nonexistent/ca.pem", NULL, NULL,
				      false, err, sizeof(err)),
		  -ENOENT);
	CHECK(strstr(err, "CA file '/nonexistent/ca.pem'") &&
	      strstr(err, "No such file"));
	CHECK(be.ssl_ctx != NULL && be.insecure);
	CHECK_INT(mdr_backend_set_tls(&be, junk, NULL, NULL, false, err,
				      sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, junk) != NULL);
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, b_key, false, err,
				      sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "does not match") && strstr(err, b_key) &&
	      strstr(err, a_crt));
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, junk, a_key, false, err,
				      sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "client certificate") && strstr(err, junk));
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, junk, false, err,
				      sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "client key") && strstr(err, junk));
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, "/nonexistent/k",
				      false, err, sizeof(err)),
		  -ENOENT);
	CHECK(strstr(err, "/nonexistent/k") != NULL);
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, NULL, a_key, false, err,
				      sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, a_key) != NULL);
	/* The certificate file alone, holding no key. */
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, NULL, false, err,
				      sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, a_crt) != NULL);
	mdr_backend_release(&be);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

static int lookup(int base, const struct mdr_identity *id, const char *target,
		  struct mdr_local_reply *r)
{
	int status = mdr_local_lookup(
		base, id, (struct mdr_str){ target, strlen(target) }, r);

	if (r->fd >= 0 && status != 200)
		close(r->fd);
	return status;
}

void test_local(void)
{
	char dir[] = "/tmp/mdr-unit-XXXXXX", path[512], body[256];
	struct mdr_identity id = { .instance_id = "i-1", .vm_ip = "10.0.0.5" };
	struct mdr_local_reply r;
	int base;
	ssize_t n;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/i-1", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/i-1/sub", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/i-1/b.json", dir);
	write_file(path, "{}");
	snprintf(path, sizeof(path), "%s/i-1/a", dir);
	write_file(path, "A");
	snprintf(path, sizeof(path), "%s/i-1/out", dir);
	CHECK(!symlink("/etc/hostname", path));
	snprintf(path, sizeof(path), "%s/i-1/up", dir);
	CHECK(!symlink("../..", path));
	snprintf(path, sizeof(path), "%s/net-1", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/net-1/10.0.0.5", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/net-1/10.0.0.5/who", dir);
	write_file(path, "net");
	base = open(dir, O_PATH | O_DIRECTORY);

	CHECK_INT(lookup(base, &id, "/b.json", &r), 200);
	CHECK(!strcmp(r.content_type, "application/json"));
	CHECK_INT(r.size, 2);
	close(r.fd);
	CHECK_INT(lookup(base, &id, "/%61?query=/etc", &r), 200);
	CHECK(!strcmp(r.content_type, "text/plain"));
	close(r.fd);
	CHECK_INT(lookup(base, &id, "//./a", &r), 200);
	close(r.fd);
	CHECK_INT(lookup(base, &id, "/", &r), 200);
	n = pread(r.fd, body, sizeof(body) - 1, 0); /* sendfile-style: from 0 */
	body[n > 0 ? n : 0] = '\0';
	close(r.fd);
	CHECK(!strcmp(body, "a\nb.json\nout\nsub/\nup\n"));
	CHECK_INT(r.size, strlen(body));

	CHECK_INT(lookup(base, &id, "/missing", &r), 404);
	CHECK_INT(lookup(base, &id, "/../net-1/10.0.0.5/who", &r), 400);
	CHECK_INT(lookup(base, &id, "/%2e%2E/x", &r), 400);
	CHECK_INT(lookup(base, &id, "/a%00", &r), 400);
	CHECK_INT(lookup(base, &id, "/a%zz", &r), 400);
	CHECK_INT(lookup(base, &id, "/a%4", &r), 400);
	CHECK_INT(lookup(base, &id, "/out", &r), 403);
	CHECK_INT(lookup(base, &id, "/up/i-1/a", &r), 403);
	CHECK(r.fd < 0);

	id.instance_id[0] = '\0';
	strcpy(id.network_id, "net-1");
	CHECK_INT(lookup(base, &id, "/who", &r), 200);
	close(r.fd);
	id.network_id[0] = '\0';
	strcpy(id.router_id, "net-1");
	CHECK_INT(lookup(base, &id, "/who", &r), 200);
	close(r.fd);
	id.router_id[0] = '\0';
	CHECK_INT(lookup(base, &id, "/who", &r), 404);
	strcpy(id.instance_id, "..");
	CHECK_INT(lookup(base, &id, "/who", &r), 404);

	close(base);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK_INT(system(path), 0);
}
