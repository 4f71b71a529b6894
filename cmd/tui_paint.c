/* What cprof top's widgets draw with: text placed and cut at the edge,
 * whole reverse-video lines, colours if the terminal has them, the body's
 * geometry and scrolling, the footer's messages, and function labels. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "render.h"
#include "tui_int.h"

#define MESSAGE_NS 5000000000LL

void tui_message(struct tui *u, bool err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
	va_end(ap);
	u->msg_error = err;
	u->msg_until = clock_ns(CLOCK_MONOTONIC) + MESSAGE_NS;
}

void tui_put(int y, int x, attr_t attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (y < 0 || y >= LINES || x >= COLS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	attron(attr);
	mvaddnstr(y, x, buf, COLS - x);
	attroff(attr);
}

void tui_fill(int y, attr_t attr)
{
	attron(attr);
	mvhline(y, 0, ' ', COLS);
	attroff(attr);
}

attr_t tui_pair(const struct tui *u, int p)
{
	return u->color ? COLOR_PAIR(p) : 0;
}

int tui_body_top(void)
{
	return 4;
}

int tui_body_height(void)
{
	int h = LINES - tui_body_top() - 1;

	return h > 0 ? h : 0;
}

void tui_scroll_into_view(size_t sel, size_t *top, size_t h)
{
	if (!h)
		return;
	if (sel < *top)
		*top = sel;
	else if (sel >= *top + h)
		*top = sel - h + 1;
}

static void tui_draw_empty(const struct tui *u, const char *filtered)
{
	if (u->ss.total_all)
		tui_put(tui_body_top(), 2, A_DIM, "%s", filtered);
	else if (u->st.stopped[0])
		tui_put(tui_body_top(), 2, A_DIM, "(no samples: %s)", u->st.stopped);
	else
		tui_put(tui_body_top(), 2, A_DIM, "(no samples yet)");
}

const char *tui_base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* "name (file:line)" with the file's base name. */
void tui_label(const struct stackset *ss, uint32_t name, uint32_t file, int32_t line,
	       char *buf, size_t n)
{
	render_frame_label(buf, n, stackset_name(ss, name),
			   file ? tui_base_name(stackset_name(ss, file)) : "", line);
}

size_t tui_body_rows(const struct tui *u, size_t n, size_t sel, size_t *top, const char *filtered)
{
	size_t h = tui_body_height();

	if (!n) {
		tui_draw_empty(u, filtered);
		return 0;
	}
	tui_scroll_into_view(sel, top, h);
	return *top + h < n ? *top + h : n;
}
