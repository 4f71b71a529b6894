/* Pyroscope's ingest protocol over libcurl. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errmsg.h"
#include "fetch.h"
#include "push.h"

/* S percent-encoded into F, for a query parameter's value. */
static void push_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

char *push_ingest_url(const struct push_request *r)
{
	char *url = NULL, *app = NULL;
	size_t len = 0, alen = 0;
	size_t base = strlen(r->url);
	FILE *f, *a;

	/* The name with its labels, Pyroscope's APP{k=v,...}, then encoded whole. */
	a = open_memstream(&app, &alen);
	if (!a)
		return NULL;
	fprintf(a, "%s{", r->app);
	for (size_t i = 0; i < r->ntags; i++)
		fprintf(a, "%s%s", i ? "," : "", r->tags[i]);
	fputc('}', a);
	if (fclose(a) != 0) {
		free(app);
		return NULL;
	}
	while (base > 0 && r->url[base - 1] == '/')
		base--;
	f = open_memstream(&url, &len);
	if (!f) {
		free(app);
		return NULL;
	}
	fprintf(f, "%.*s/ingest?name=", (int)base, r->url);
	push_escape(f, app);
	fprintf(f, "&from=%lld&until=%lld&format=pprof&spyName=cprof", (long long)r->from_s,
		(long long)r->until_s);
	free(app);
	if (fclose(f) != 0) {
		free(url);
		return NULL;
	}
	return url;
}

const char *push_sample_types(const char *kind)
{
	if (strcmp(kind, "offcpu") != 0)
		return NULL;
	return "{\"contentions\":{\"units\":\"lock_samples\",\"display-name\":\"block_count\"},"
	       "\"delay\":{\"units\":\"lock_nanoseconds\",\"display-name\":\"block_duration\"}}";
}

static size_t push_keep(char *data, size_t size, size_t n, void *ctx)
{
	char *first = ctx;
	size_t have = strlen(first), len = size * n;

	for (size_t i = 0; i < len && have < 199 && data[i] != '\n'; i++)
		first[have++] = data[i] >= ' ' && data[i] < 0x7f ? data[i] : '?';
	first[have] = '\0';
	return len;
}

/* The request, and when its stop was first seen (0: not yet). */
struct push_progress {
	const struct push_request *r;
	int64_t stop_seen;
};

/* libcurl's progress callback, which it calls about once a second while
 * idle too: nonzero abandons the transfer. */
static int push_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	struct push_progress *pp = ctx;
	int64_t now;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (!pp->r->stop || !*pp->r->stop)
		return 0;
	now = clock_ns(CLOCK_MONOTONIC);
	if (!pp->stop_seen)
		pp->stop_seen = now;
	return now - pp->stop_seen > pp->r->grace_ns;
}

int push_send(const struct push_request *r, long *statusp)
{
	struct push_progress pp = { r, 0 };
	char err[CURL_ERROR_SIZE] = "", first[200] = "";
	struct curl_slist *hdrs = NULL;
	curl_mime *mime = NULL;
	curl_mimepart *part;
	char *url = push_ingest_url(r);
	long status = 0;
	CURLcode rc;
	CURL *c;
	int ret = -1;

	if (!url || fetch_init_global() < 0 || !(c = curl_easy_init())) {
		free(url);
		return cp_error("cannot push to %s: out of memory, or libcurl failed to start", r->url);
	}
	mime = curl_mime_init(c);
	part = mime ? curl_mime_addpart(mime) : NULL;
	if (!part || curl_mime_name(part, "profile") != CURLE_OK ||
	    curl_mime_filename(part, "profile.pprof") != CURLE_OK ||
	    curl_mime_data(part, r->profile, r->len) != CURLE_OK) {
		cp_error("cannot push to %s: out of memory", r->url);
		goto out;
	}
	if (r->sample_types &&
	    (!(part = curl_mime_addpart(mime)) ||
	     curl_mime_name(part, "sample_type_config") != CURLE_OK ||
	     curl_mime_filename(part, "sample_type_config.json") != CURLE_OK ||
	     curl_mime_data(part, r->sample_types, CURL_ZERO_TERMINATED) != CURLE_OK)) {
		cp_error("cannot push to %s: out of memory", r->url);
		goto out;
	}
	for (size_t i = 0; i < r->nheaders; i++)
		hdrs = curl_slist_append(hdrs, r->headers[i]);
	/* No "Expect: 100-continue" wait before each body. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		cp_error("cannot push to %s: libcurl refused the URL", r->url);
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->timeout_ns / 1000000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, push_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &pp);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cprof/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, push_keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, first);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		cp_error("cannot push to %s: no answer, and cprof is stopping", r->url);
	else if (rc != CURLE_OK)
		cp_error("cannot push to %s: %s", r->url, err[0] ? err : curl_easy_strerror(rc));
	else if (status < 200 || status > 299)
		cp_error("cannot push to %s: HTTP %ld%s%s", r->url, status, first[0] ? ": " : "", first);
	else
		ret = 0;
out:
	*statusp = status;
	curl_slist_free_all(hdrs);
	curl_mime_free(mime);
	curl_easy_cleanup(c);
	free(url);
	return ret;
}
