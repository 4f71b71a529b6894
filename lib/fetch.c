/* HTTP fetches of profiles with libcurl. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errmsg.h"
#include "fetch.h"

struct fetch_body {
	char *buf;
	size_t len, cap;
	bool too_big, no_memory;
};

bool fetch_is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

int64_t fetch_timeout_ns(const char *url)
{
	const char *q = strchr(url, '?');

	/* The first seconds= in the query, as Go reads it. */
	while (q) {
		q++;
		if (strncmp(q, "seconds=", 8) == 0) {
			char *end;
			long s = strtol(q + 8, &end, 10);

			if (end != q + 8 && (*end == '&' || *end == '#' || *end == '\0') && s > 0 &&
			    s < 1000000)
				return s * 1500000000LL;
			break;
		}
		q = strchr(q, '&');
	}
	return 60 * 1000000000LL;
}

static size_t fetch_write(char *data, size_t size, size_t n, void *ctx)
{
	struct fetch_body *b = ctx;
	size_t len = size * n;

	if (b->len + len > FETCH_MAX_BYTES) {
		b->too_big = true;
		return 0;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *nb;

		while (cap < b->len + len + 1)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb) {
			b->no_memory = true;
			return 0;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

static CURLcode fetch_global = CURLE_FAILED_INIT;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_init(void)
{
	fetch_global = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The first line of an error reply, printable, cut short. */
static void fetch_first_line(const struct fetch_body *b, char *out, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; b->buf && i < b->len && b->buf[i] != '\n' && o + 1 < n && i < 200; i++)
		out[o++] = b->buf[i] >= ' ' && b->buf[i] < 0x7f ? b->buf[i] : '?';
	out[o] = '\0';
}

int fetch_init_global(void)
{
	pthread_once(&fetch_once, fetch_init);
	return fetch_global == CURLE_OK ? 0 : cp_error("libcurl failed to start");
}

int fetch_url(const char *url, int64_t timeout_ns, char **buf, size_t *len)
{
	struct fetch_body b = { 0 };
	char err[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *c;

	if (fetch_init_global() < 0 || !(c = curl_easy_init()))
		return cp_error("cannot fetch %s: libcurl failed to start", url);
	/* Redirects too stay on http(s): never file:// or another scheme. */
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		curl_easy_cleanup(c);
		return cp_error("cannot fetch %s: libcurl refused the URL or its protocols", url);
	}
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ns / 1000000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cprof/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (b.too_big) {
		free(b.buf);
		return cp_error("cannot fetch %s: larger than %lld MiB", url,
				FETCH_MAX_BYTES / (1024 * 1024));
	}
	if (b.no_memory) {
		free(b.buf);
		return cp_error("cannot fetch %s: out of memory", url);
	}
	if (rc != CURLE_OK) {
		free(b.buf);
		if (rc == CURLE_OPERATION_TIMEDOUT)
			return cp_error("cannot fetch %s: no answer within %.0f seconds", url,
					(double)timeout_ns / 1e9);
		return cp_error("cannot fetch %s: %s", url, err[0] ? err : curl_easy_strerror(rc));
	}
	if (status < 200 || status > 299) {
		char line[256];

		fetch_first_line(&b, line, sizeof(line));
		free(b.buf);
		return cp_error("cannot fetch %s: HTTP %ld%s%s", url, status, line[0] ? ": " : "",
				line);
	}
	*buf = b.buf ? b.buf : calloc(1, 1);
	*len = b.len;
	return *buf ? 0 : cp_error("out of memory");
}
