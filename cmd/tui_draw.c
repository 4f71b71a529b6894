/* Drawing cprof top's screen: the header, then the table or the flame view,
 * the footer and any overlay, each widget in a file of its own. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "tui_int.h"
#include "units.h"

static char *tui_fmt_time(char *buf, size_t n, int64_t ns)
{
	long long s = ns / 1000000000;

	if (s < 60)
		snprintf(buf, n, "%llds", s);
	else if (s < 3600)
		snprintf(buf, n, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, n, "%lldh%02lldm", s / 3600, s / 60 % 60);
	return buf;
}

/* The first two lines of a live target's header; its window into C. */
static void tui_draw_live_header(const struct tui *u, char *c, size_t nc)
{
	const struct live_status *st = &u->st;
	char a[32], b[32], d[32];

	tui_put(0, 10, A_BOLD, "pid %d", (int)live_pid(u->src.live));
	tui_put(0, 22, 0, "%s", live_command(u->src.live));
	if (st->exited) {
		bool launched = live_launched(u->src.live);
		if (launched && WIFEXITED(st->status))
			snprintf(c, nc, " exited with status %d ", WEXITSTATUS(st->status));
		else if (launched && WIFSIGNALED(st->status))
			snprintf(c, nc, " killed by signal %d ", WTERMSIG(st->status));
		else
			snprintf(c, nc, " exited ");
		tui_put(0, COLS - (int)strlen(c), tui_pair(u, PAIR_ERROR) | A_BOLD, "%s", c);
	} else if (st->stopped[0]) {
		tui_put(0, COLS - 9, tui_pair(u, PAIR_ERROR) | A_BOLD | (u->color ? 0 : A_REVERSE),
			" STOPPED ");
	} else if (u->paused) {
		tui_put(0, COLS - 8, tui_pair(u, PAIR_PAUSED) | A_BOLD | (u->color ? 0 : A_REVERSE),
			" PAUSED ");
	}
	if (u->cpu_percent >= 0)
		snprintf(c, nc, "%.1f%%", u->cpu_percent);
	else
		snprintf(c, nc, "-");
	if (st->threads_now >= 0)
		snprintf(b, sizeof(b), "%ld", st->threads_now);
	else
		snprintf(b, sizeof(b), "-");
	if (u->src.heap)
		tui_put(1, 0, 0, "heap, a sample every %s  samples %llu (%llu freed)  lost %llu  threads "
			"%s (%llu sampled)  CPU %s  elapsed %s",
			units_format(d, sizeof(d), (int64_t)u->src.rate, "bytes"),
			(unsigned long long)st->samples, (unsigned long long)st->freed,
			(unsigned long long)st->lost, b, (unsigned long long)st->threads_seen, c,
			tui_fmt_time(a, sizeof(a), st->elapsed_ns));
	else
		tui_put(1, 0, 0, "%u Hz %s  samples %llu  lost %llu  threads %s (%llu sampled)  CPU %s  "
			"elapsed %s", u->src.frequency, u->src.fp ? "fp" : "dwarf",
			(unsigned long long)st->samples, (unsigned long long)st->lost, b,
			(unsigned long long)st->threads_seen, c, tui_fmt_time(a, sizeof(a), st->elapsed_ns));
	if (u->recent && st->shown_ns >= u->src.window_ns)
		snprintf(c, nc, "last %s", tui_fmt_time(a, sizeof(a), u->src.window_ns));
	else if (u->recent)
		snprintf(c, nc, "last %s (all %s so far)", tui_fmt_time(a, sizeof(a), u->src.window_ns),
			 tui_fmt_time(b, sizeof(b), st->shown_ns));
	else
		snprintf(c, nc, "all since start");
}

static void tui_draw_header(const struct tui *u)
{
	const struct profile *p = u->p;
	const char *unit = profile_str(p, p->sample_types[u->src.si].unit);
	char a[32], b[32], c[64];

	tui_put(0, 0, tui_pair(u, PAIR_TITLE) | A_BOLD, "cprof top");
	if (u->src.live) {
		tui_draw_live_header(u, c, sizeof(c));
	} else {
		tui_put(0, 10, A_BOLD, "%s", tui_base_name(u->src.path));
		tui_put(1, 0, 0, "Type: %s  Total: %s  Duration: %s",
			profile_str(p, p->sample_types[u->src.si].type),
			units_format(a, sizeof(a), u->ss.total_all, unit),
			p->duration_nanos ? units_format(b, sizeof(b), p->duration_nanos, "nanoseconds") :
					    "-");
		snprintf(c, sizeof(c), "%s", !u->src.store ? "the whole profile" :
			 u->slot ? "one window of the range ([ ] step)" : "the whole range ([ ] step)");
	}
	tui_put(2, 0, 0, "window: %s  type: %s  sort: %s  thread: %s%s  filter: %s", c,
		profile_str(p, p->sample_types[u->src.si].type),
		u->sort == TOP_SORT_SELF ? "self" : "total", u->tid ? "" : "all",
		u->tid ? u->tid_name : "", u->filter ? u->filter : "none");
}

void tui_draw(struct tui *u)
{
	erase();
	if (LINES < 8 || COLS < 40) {
		tui_put(0, 0, A_BOLD, "cprof top: the terminal is too small (%dx%d)", COLS, LINES);
		refresh();
		return;
	}
	tui_draw_header(u);
	if (u->view == VIEW_TABLE)
		tui_table_draw(u);
	else
		tui_flame_draw(u);
	tui_keys_footer_draw(u);
	if (u->overlay == OVERLAY_HELP)
		tui_help_draw();
	else if (u->overlay == OVERLAY_THREADS)
		tui_threads_draw(u);
	if (u->overlay == OVERLAY_FILTER) {
		int x = strlen(FILTER_PROMPT) + strlen(u->input);
		move(LINES - 1, x < COLS ? x : COLS - 1);
	}
	refresh();
}
