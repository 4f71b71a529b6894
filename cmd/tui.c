/* cprof top's screen: the terminal's lifecycle, the data refreshed from the
 * live session apart from the drawing (as htop's ScreenManager does), and
 * the loop that redoes what the key handlers' flags ask for. The terminal is
 * put back on every way out: q, Ctrl-C, SIGTERM, SIGHUP, errors, exit() and
 * fatal signals. */
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "errmsg.h"
#include "tui_int.h"

/* The terminal as it was, for putting back from a signal handler. */
static struct termios saved_tio;
static bool have_tio;
static char restore_seq[256];
static size_t restore_len;
static volatile sig_atomic_t tui_active;
static SCREEN *screen;
static FILE *tty_in;
/* Async-signal-safe: the saved terminal modes and the escape sequences that
 * endwin() would send, written straight to the terminal. */
static void tui_on_fatal(int sig)
{
	if (tui_active) {
		if (have_tio)
			tcsetattr(STDOUT_FILENO, TCSANOW, &saved_tio);
		if (write(STDOUT_FILENO, restore_seq, restore_len) < 0)
			restore_len = 0;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tui_add_restore(const char *cap)
{
	char *s = tigetstr(cap);
	size_t n;

	if (!s || s == (char *)-1)
		return;
	n = strlen(s);
	if (restore_len + n < sizeof(restore_seq)) {
		memcpy(restore_seq + restore_len, s, n);
		restore_len += n;
	}
}

static void tui_catch_fatal(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tui_on_fatal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void tui_at_exit(void)
{
	tui_end();
}

int tui_start(void)
{
	static bool registered;
	const char *term = getenv("TERM");

	setlocale(LC_ALL, "");
	/* Numbers are formatted as everywhere else in cprof. */
	setlocale(LC_NUMERIC, "C");
	have_tio = tcgetattr(STDOUT_FILENO, &saved_tio) == 0;
	tty_in = isatty(STDIN_FILENO) ? stdin : fopen("/dev/tty", "r");
	if (!tty_in)
		return cp_error("top needs a terminal to read keys from");
	screen = newterm(NULL, stdout, tty_in);
	if (!screen)
		return cp_error("cannot drive the terminal (TERM=%s); set TERM to one terminfo knows",
				term ? term : "");
	restore_len = 0;
	tui_add_restore("sgr0");
	tui_add_restore("cnorm");
	tui_add_restore("rmkx");
	tui_add_restore("rmcup");
	tui_active = 1;
	tui_catch_fatal();
	if (!registered) {
		atexit(tui_at_exit);
		registered = true;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_TITLE, COLOR_CYAN, -1);
		init_pair(PAIR_BAR_A, COLOR_RED, -1);
		init_pair(PAIR_BAR_B, COLOR_YELLOW, -1);
		init_pair(PAIR_KEY, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_ERROR, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_PAUSED, COLOR_BLACK, COLOR_YELLOW);
	}
	return 0;
}

void tui_end(void)
{
	if (!tui_active)
		return;
	tui_active = 0;
	endwin();
	fflush(stdout);
}

/* The target's CPU use, over half an interval at least, so that a key that
 * fetches early is no sample of it. */
static void tui_cpu_use(struct tui *u)
{
	int64_t at = clock_ns(CLOCK_MONOTONIC), cpu = u->st.cpu_ns;

	if (at - u->last_cpu_at < u->src.interval_ns / 2)
		return;
	if (cpu >= 0 && u->last_cpu_ns >= 0)
		u->cpu_percent = 100.0 * (cpu - u->last_cpu_ns) / (at - u->last_cpu_at);
	else
		u->cpu_percent = -1;
	u->last_cpu_ns = cpu;
	u->last_cpu_at = at;
}

/* Replace the copy with a fresh one of the live profile (the recent window
 * if asked for). A saved profile does not change. Returns 0 or -1. */
static int tui_fetch(struct tui *u)
{
	struct profile *p;

	if (!u->src.live)
		return 0;
	p = live_profile(u->src.live, u->recent ? u->src.window_ns : 0, &u->st);
	if (!p)
		return -1;
	profile_free(u->p);
	u->p = p;
	tui_cpu_use(u);
	return 0;
}

struct tui *tui_new(const struct tui_source *src)
{
	struct tui *u = xmalloc(sizeof(*u));

	*u = (struct tui){ .src = *src, .p = src->saved, .recent = src->recent, .cpu_percent = -1 };
	u->st.threads_now = -1;
	u->last_cpu_at = clock_ns(CLOCK_MONOTONIC);
	if (src->store) {
		snprintf(u->title, sizeof(u->title), "%s", src->path);
		u->src.path = u->title;
	}
	if (src->live) {
		u->last_cpu_ns = -1;
		if (tui_fetch(u) < 0) {
			tui_free(u);
			return NULL;
		}
		/* The first reading is the base of the CPU use. */
		u->last_cpu_ns = u->st.cpu_ns;
	}
	return u;
}

void tui_free(struct tui *u)
{
	if (!u)
		return;
	tui_release_model(u);
	tui_path_free(&u->zoom);
	tui_path_free(&u->cursor);
	for (size_t i = 0; i < u->nhistory; i++)
		tui_path_free(&u->history[i]);
	free(u->history);
	free(u->filter);
	profile_free(u->p);
	free(u);
}

int tui_run(struct tui *u)
{
	int64_t next_fetch = clock_ns(CLOCK_MONOTONIC) + u->src.interval_ns;
	int flags = H_REBUILD, rc = 0;

	u->color = has_colors();
	for (;;) {
		int64_t now = clock_ns(CLOCK_MONOTONIC), wait;
		int ch;

		if (cmd_stop)
			break;
		if ((flags & H_FETCH) || (u->src.live && !u->paused && now >= next_fetch)) {
			if (tui_fetch(u) < 0) {
				rc = -1;
				break;
			}
			next_fetch = now + u->src.interval_ns;
			flags |= H_REBUILD;
		}
		if (flags & H_REBUILD) {
			if (tui_rebuild(u) < 0) {
				rc = -1;
				break;
			}
			flags |= H_REDRAW;
		}
		if (u->msg[0] && now > u->msg_until) {
			u->msg[0] = '\0';
			flags |= H_REDRAW;
		}
		if (flags & H_REDRAW)
			tui_draw(u);
		wait = (next_fetch - now) / 1000000;
		timeout(u->paused || !u->src.live ? 250 : wait < 10 ? 10 : wait > 250 ? 250 : (int)wait);
		ch = getch();
		flags = ch == ERR ? 0 : tui_keys_handle(u, ch);
		if (flags & H_QUIT)
			break;
	}
	tui_release_model(u);
	tui_end();
	return rc;
}

/* Last in the file: term.h defines the capabilities' names (lines, columns
 * and hundreds more) as macros, which the code above must not meet. */
#include <term.h>

int tui_check_terminal(void)
{
	const char *term = getenv("TERM");
	char *cup;
	bool moves;
	int err = 0;

	if (setupterm(NULL, STDOUT_FILENO, &err) != OK)
		return cp_error("cannot drive the terminal (TERM=%s); set TERM to one terminfo knows",
				term ? term : "");
	cup = tigetstr("cup");
	moves = cup && cup != (char *)-1;
	del_curterm(cur_term);
	/* TERM=dumb and the like are known but cannot place the cursor: the
	 * screen would stay blank. */
	if (!moves)
		return cp_error("cannot drive the terminal (TERM=%s): it cannot move the cursor; "
				"set TERM to one that can, such as xterm-256color", term ? term : "");
	return 0;
}
