#include "docker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "regauth.h"
#include "scrub.h"
#include "uhttp.h"
#include "util.h"

struct docker {
	CURL *curl;	    /* tcp:// */
	struct uhttp *uh;   /* unix:// */
	char *base;	    /* "http://localhost" or "https://host:port" */
	char *unix_path;    /* for unix:// */
	char version[16];
	char *cert_dir;
	struct docker_stats stats;
	json_t *auths;	   /* registry credentials, or NULL */
	char *auth_header; /* "X-Registry-Auth: ..." for the request in flight */
	long timeout;	   /* seconds per request */
	int manager;	   /* a swarm request succeeded: this engine is a manager */
};

/*
 * What an engine that is a manager answers while it starts again (its
 * swarm component not up yet, no raft leader yet): the same words a
 * worker or an engine outside any swarm would say for good, so they mean
 * "not reachable yet" only from an engine that answered as a manager
 * before (dk->manager).
 */
static const char *const starting_words[] = {
	"not a swarm manager",	  "not part of a swarm",  "does not have a leader", "no elected cluster leader",
	"rpc error: code = Unavailable", "swarm component", NULL,
};

static int swarm_path(const char *path)
{
	static const char *const p[] = {"/services", "/tasks", "/secrets", "/configs", "/nodes", "/swarm", NULL};
	for (size_t i = 0; p[i]; i++)
		if (!strncmp(path, p[i], strlen(p[i])))
			return 1;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	if (buf_add(b, p, size * n) < 0)
		return 0; /* aborts the transfer: body over the cap */
	return size * n;
}

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct hdr {
	char version[16];
};

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct hdr *h = ud;
	size_t len = size * n;
	if (len > 12 && strncasecmp(p, "api-version:", 12) == 0) {
		const char *v = p + 12;
		while (*v == ' ')
			v++;
		size_t l = strcspn(v, "\r\n");
		if (l < sizeof h->version) {
			memcpy(h->version, v, l);
			h->version[l] = 0;
		}
	}
	return len;
}

static int vercmp(const char *a, const char *b)
{
	int a1 = 0, a2 = 0, b1 = 0, b2 = 0;
	sscanf(a, "%d.%d", &a1, &a2);
	sscanf(b, "%d.%d", &b1, &b2);
	if (a1 != b1)
		return a1 < b1 ? -1 : 1;
	return a2 < b2 ? -1 : a2 > b2;
}

static int raw(struct docker *dk, const char *method, const char *url, const char *body, struct buf *out,
	       long *status, struct hdr *h, char **err)
{
	if (dk->uh) {
		const char *hl[3] = {NULL};
		int n = 0;
		if (body)
			hl[n++] = "Content-Type: application/json";
		if (dk->auth_header)
			hl[n++] = dk->auth_header;
		int rc = uhttp_request(dk->uh, method, url + strlen(dk->base), hl, body, dk->timeout, status, out,
				       h ? h->version : NULL, err);
		if (rc == UHTTP_OK)
			return DOCKER_OK;
		if (rc == UHTTP_ETOOBIG) {
			free(*err);
			*err = xasprintf("engine response larger than %u bytes", DOCKER_MAX_BODY);
			return DOCKER_ERR;
		}
		char *e = *err;
		*err = xasprintf("cannot reach the docker engine at %s: %s", dk->unix_path, e);
		free(e);
		return rc == UHTTP_ELOST ? DOCKER_ETRANSIENT : DOCKER_EUNAVAIL;
	}
	CURL *c = dk->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (dk->unix_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, dk->unix_path);
	if (dk->cert_dir) {
		char *ca = xasprintf("%s/ca.pem", dk->cert_dir), *cert = xasprintf("%s/cert.pem", dk->cert_dir),
		     *key = xasprintf("%s/key.pem", dk->cert_dir);
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
		free(ca);
		free(cert);
		free(key);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, dk->timeout);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (h) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	}
	struct curl_slist *hl = NULL;
	if (body) {
		hl = curl_slist_append(hl, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	hl = curl_slist_append(hl, "User-Agent: shoal");
	if (dk->auth_header)
		hl = curl_slist_append(hl, dk->auth_header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hl);
	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR)
			*err = xasprintf("engine response larger than %u bytes", DOCKER_MAX_BODY);
		else
			*err = xasprintf("cannot reach the docker engine at %s: %s",
					 dk->unix_path ? dk->unix_path : dk->base, curl_easy_strerror(rc));
		if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_RESOLVE_HOST)
			return DOCKER_EUNAVAIL;
		if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE)
			return DOCKER_ETRANSIENT;
		return DOCKER_ERR;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return DOCKER_OK;
}

/* unix sockets: our own client; tcp (plain or TLS): libcurl */
static void open_transport(struct docker *dk)
{
	if (dk->unix_path) {
		dk->uh = uhttp_new(dk->unix_path);
		return;
	}
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_init_once);
	dk->curl = curl_easy_init();
	if (!dk->curl)
		abort();
}

int docker_new(struct docker **out, const char *host, char **err)
{
	if (!host || !*host)
		host = getenv("DOCKER_HOST");
	if (!host || !*host)
		host = "unix:///var/run/docker.sock";
	const char *tls = getenv("DOCKER_TLS_VERIFY"), *cp = getenv("DOCKER_CERT_PATH"), *home = getenv("HOME");
	char *cert_dir = NULL;
	if (str_has_prefix(host, "tcp://") && tls && *tls && strcmp(tls, "0"))
		cert_dir = cp && *cp ? xstrdup(cp) : xasprintf("%s/.docker", home ? home : "");
	int rc = docker_open(out, host, cert_dir, err);
	free(cert_dir);
	return rc;
}

int docker_open(struct docker **out, const char *host, const char *cert_dir, char **err)
{
	*out = NULL;
	struct docker *dk = xcalloc(1, sizeof *dk);
	const char *t = getenv("SHOAL_ENGINE_TIMEOUT");
	dk->timeout = t && atol(t) > 0 ? atol(t) : 120;
	if (str_has_prefix(host, "unix://")) {
		dk->unix_path = xstrdup(host + 7);
		dk->base = xstrdup("http://localhost");
	} else if (str_has_prefix(host, "tcp://")) {
		if (cert_dir) {
			dk->cert_dir = xstrdup(cert_dir);
			dk->base = xasprintf("https://%s", host + 6);
		} else {
			dk->base = xasprintf("http://%s", host + 6);
		}
		size_t l = strlen(dk->base);
		if (l && dk->base[l - 1] == '/')
			dk->base[l - 1] = 0;
	} else {
		*err = xasprintf("unsupported DOCKER_HOST %s (use unix:// or tcp://)", host);
		free(dk);
		return DOCKER_ERR;
	}
	open_transport(dk);
	/* negotiate: min(our max, the engine's) */
	struct buf b;
	buf_init(&b, 4096);
	long status = 0;
	struct hdr h = {""};
	char *url = xasprintf("%s/_ping", dk->base);
	int rc = raw(dk, "GET", url, NULL, &b, &status, &h, err);
	free(url);
	buf_free(&b);
	if (rc != DOCKER_OK) {
		docker_free(dk);
		return rc;
	}
	dk->stats.reads++;
	if (status != 200) {
		*err = xasprintf("docker engine ping failed: HTTP %ld", status);
		docker_free(dk);
		return DOCKER_EUNAVAIL;
	}
	snprintf(dk->version, sizeof dk->version, "%s", DOCKER_API_MAX);
	if (h.version[0] && vercmp(h.version, DOCKER_API_MAX) < 0)
		snprintf(dk->version, sizeof dk->version, "%s", h.version);
	*out = dk;
	return DOCKER_OK;
}

struct docker *docker_clone(const struct docker *dk)
{
	struct docker *c = xcalloc(1, sizeof *c);
	c->base = xstrdup(dk->base);
	c->unix_path = dk->unix_path ? xstrdup(dk->unix_path) : NULL;
	open_transport(c);
	c->cert_dir = dk->cert_dir ? xstrdup(dk->cert_dir) : NULL;
	memcpy(c->version, dk->version, sizeof c->version);
	c->timeout = dk->timeout;
	c->manager = dk->manager; /* a worker's first answer may be a restart's */
	c->auths = json_incref(dk->auths);
	return c;
}

void docker_absorb(struct docker *dk, struct docker *clone)
{
	dk->stats.reads += clone->stats.reads;
	dk->stats.writes += clone->stats.writes;
	docker_free(clone);
}

void docker_free(struct docker *dk)
{
	if (!dk)
		return;
	if (dk->curl)
		curl_easy_cleanup(dk->curl);
	uhttp_free(dk->uh);
	free(dk->base);
	free(dk->unix_path);
	free(dk->cert_dir);
	json_decref(dk->auths);
	free(dk);
}

void docker_set_registry_auths(struct docker *dk, json_t *auths)
{
	json_decref(dk->auths);
	dk->auths = json_incref(auths);
}

/* The image a request pulls or resolves, when it needs registry access:
 * service create/update (from the body), /distribution/IMAGE/json. */
static char *request_image(const char *path, const json_t *body)
{
	if (!strncmp(path, "/distribution/", 14)) {
		const char *s = path + 14, *e = strstr(s, "/json");
		return e ? xstrndup(s, (size_t)(e - s)) : NULL;
	}
	if (body && (!strncmp(path, "/services/create", 16) ||
		     (!strncmp(path, "/services/", 10) && strstr(path, "/update")))) {
		const char *img = json_string_value(
			json_object_get(json_object_get(json_object_get(body, "TaskTemplate"), "ContainerSpec"), "Image"));
		return img ? xstrdup(img) : NULL;
	}
	return NULL;
}

const char *docker_api_version(const struct docker *dk)
{
	return dk->version;
}

const struct docker_stats *docker_stats(const struct docker *dk)
{
	return &dk->stats;
}

/*
 * A JSON array's elements parsed one at a time, each passed through keep
 * (which returns what to hold of it): a list of thousands of objects never
 * stands whole in memory.  NULL when the text is not an array of values
 * (the caller parses it whole, and sees why).
 */
static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

typedef json_t *keep_fn(const json_t *, void *);

static json_t *load_each(const char *s, size_t n, keep_fn *keep, void *ctx)
{
	size_t i = 0;
	while (i < n && is_ws(s[i]))
		i++;
	if (i == n || s[i] != '[')
		return NULL;
	json_t *out = json_array();
	for (int first = 1;; first = 0) {
		for (i++; i < n && is_ws(s[i]);)
			i++;
		if (first && i < n && s[i] == ']')
			return out;
		size_t start = i;
		int depth = 0, str = 0;
		for (; i < n; i++) {
			char c = s[i];
			if (str) {
				if (c == '\\')
					i++;
				else if (c == '"')
					str = 0;
			} else if (c == '"') {
				str = 1;
			} else if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (!depth)
					break;
				depth--;
			} else if (c == ',' && !depth) {
				break;
			}
		}
		json_t *e = i < n ? json_loadb(s + start, i - start, JSON_DECODE_ANY, NULL) : NULL;
		if (!e) {
			json_decref(out);
			return NULL;
		}
		json_t *k = keep(e, ctx);
		if (k)
			json_array_append_new(out, k);
		json_decref(e);
		if (s[i] == ']')
			return out;
	}
}

static int call(struct docker *dk, const char *method, const char *path, const json_t *body, keep_fn *keep,
		void *ctx, json_t **resp, char **err);

int docker_call(struct docker *dk, const char *method, const char *path, const json_t *body,
		json_t **resp, char **err)
{
	return call(dk, method, path, body, NULL, NULL, resp, err);
}

int docker_list(struct docker *dk, const char *path, keep_fn *keep, void *ctx, json_t **resp, char **err)
{
	return call(dk, "GET", path, NULL, keep, ctx, resp, err);
}

static int call(struct docker *dk, const char *method, const char *path, const json_t *body, keep_fn *keep,
		void *ctx, json_t **resp, char **err)
{
	if (resp)
		*resp = NULL;
	*err = NULL;
	char *url = xasprintf("%s/v%s%s", dk->base, dk->version, path);
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct buf out;
	buf_init(&out, DOCKER_MAX_BODY);
	long status = 0;
	if (dk->auths) {
		char *img = request_image(path, body);
		char *h = img ? regauth_header(dk->auths, img) : NULL;
		if (h) {
			dk->auth_header = xasprintf("X-Registry-Auth: %s", h);
			sodium_memzero(h, strlen(h));
			free(h);
		}
		free(img);
	}
	int rc = raw(dk, method, url, b, &out, &status, NULL, err);
	if (dk->auth_header) {
		sodium_memzero(dk->auth_header, strlen(dk->auth_header));
		free(dk->auth_header);
		dk->auth_header = NULL;
	}
	free(url);
	if (b) {
		/* bodies can hold secret data: wipe before freeing */
		memset(b, 0, strlen(b));
		free(b);
	}
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		dk->stats.reads++;
	else
		dk->stats.writes++;
	if (rc != DOCKER_OK) {
		buf_free(&out);
		return rc;
	}
	json_t *j = NULL;
	if (out.len && keep && status >= 200 && status < 300)
		j = load_each(out.data, out.len, keep, ctx);
	if (out.len && !j) {
		json_error_t je;
		j = json_loadb(out.data, out.len, JSON_DECODE_ANY, &je);
	}
	if (status >= 200 && status < 300) {
		if (swarm_path(path))
			dk->manager = 1;
		if (resp)
			*resp = j;
		else
			json_decref(j);
		buf_free(&out);
		return DOCKER_OK;
	}
	const char *msg = j && json_is_object(j) ? json_string_value(json_object_get(j, "message")) : NULL;
	*err = xstrdup(msg ? msg : (out.len ? out.data : "(no message)"));
	size_t l = strlen(*err);
	while (l && ((*err)[l - 1] == '\n'))
		(*err)[--l] = 0;
	json_decref(j);
	buf_free(&out);
	int ret = DOCKER_ERR, starting = 0;
	for (size_t i = 0; dk->manager && status >= 500 && starting_words[i]; i++)
		starting |= strstr(*err, starting_words[i]) != NULL;
	if (starting) /* the manager restarting: retried as long as an unreachable one */
		ret = DOCKER_EUNAVAIL;
	else if (status == 404)
		ret = DOCKER_ENOTFOUND;
	else if (status == 409 || (status == 500 && strstr(*err, "update out of sequence")))
		ret = DOCKER_ECONFLICT;
	/* a worker, or no swarm: nothing a retry would change */
	else if (status == 503 && strstr(*err, "not a swarm manager"))
		ret = DOCKER_ERR;
	else if (status >= 500)
		ret = DOCKER_ETRANSIENT;
	/* the engine's words may quote what it was sent (an environment
	 * value, say): never a plaintext from here on */
	scrub_engine_str(err);
	return ret;
}

int docker_get_raw(struct docker *dk, const char *path, size_t cap, char **data, size_t *len, char **err)
{
	*data = NULL;
	*len = 0;
	*err = NULL;
	char *url = xasprintf("%s/v%s%s", dk->base, dk->version, path);
	struct buf out;
	buf_init(&out, cap);
	long status = 0;
	int rc = raw(dk, "GET", url, NULL, &out, &status, NULL, err);
	free(url);
	dk->stats.reads++;
	if (rc != DOCKER_OK) {
		buf_free(&out);
		return rc;
	}
	if (status < 200 || status >= 300) {
		*err = xasprintf("HTTP %ld", status);
		buf_free(&out);
		return status == 404 ? DOCKER_ENOTFOUND : DOCKER_ERR;
	}
	*len = out.len;
	*data = out.len ? buf_detach(&out) : xstrdup("");
	buf_free(&out);
	return DOCKER_OK;
}

char *docker_filters(const char *key, const char *value)
{
	json_t *f = json_pack("{s:[s]}", key, value);
	char *r = docker_filters_json(f);
	json_decref(f);
	return r;
}

char *docker_filters_json(const json_t *f)
{
	char *s = json_dumps(f, JSON_COMPACT);
	/* percent-encode all but RFC 3986's unreserved characters */
	static const char hex[] = "0123456789ABCDEF";
	char *r = xmalloc(strlen(s) * 3 + 1), *o = r;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = 0;
	free(s);
	return r;
}
