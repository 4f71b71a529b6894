#!/bin/sh
# A `cprof report --speedscope` file in a real browser: headless Chromium
# loads speedscope (the npm package's release directory, served with the file
# on loopback) with the file as its #profileURL. The page must take the
# profile's name as its title and show it in the toolbar, and the screenshot
# must hold the flame chart: many pixels of colour in its rows. A truncated
# file must fail the same checks. The file is also checked against the
# package's own JSON schema. Skips (77) without chromium, python3 or the
# package (scripts/install-deps installs them; SPEEDSCOPE_PREFIX is where npm
# put it, by default ~/.cache/cprof/speedscope). SPEEDSCOPE_SHOT=FILE keeps
# the screenshot, to look at (and FILE-trace.png that of a cprof trace file).
. "$top_srcdir/tests/lib.sh"

prefix=${SPEEDSCOPE_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/cprof/speedscope}
release=$prefix/node_modules/speedscope/dist/release
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	echo "SKIP: chromium is not installed (scripts/install-deps installs it)"
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3, the loopback web server, is not installed"
	exit 77
fi
if [ ! -f "$release/index.html" ]; then
	echo "SKIP: the npm package speedscope is not in $prefix (scripts/install-deps puts it there)"
	exit 77
fi

# The site: speedscope's release directory, the profile and a broken copy.
mkdir "$T/www"
cp -R "$release/." "$T/www/"
expect_exit 0 "$CPROF" report --speedscope "$T/www/profile.json" "$FIXTURES/go-cpu.pb.gz"
head -c 2000 "$T/www/profile.json" >"$T/www/broken.json"
# speedscope reports a file it cannot read with alert(), which a headless
# browser waits on forever: this copy of its page writes the alert into the
# title instead.
sed 's|<head>|<head><script>window.alert = function (m) { document.title = "alert: " + m; };</script>|' \
	"$T/www/index.html" >"$T/www/noalert.html"

# The file against the schema the package ships (draft-07: the keywords it uses).
cat >"$T/schema.py" <<'EOF'
import json, sys
schema = json.load(open(sys.argv[1]))
def resolve(s):
    while "$ref" in s:
        s = schema["definitions"][s["$ref"].split("/")[-1]]
    return s
def check(v, s, at):
    s = resolve(s)
    types = {"object": dict, "array": list, "string": str, "number": (int, float)}
    if "anyOf" in s:
        errs = [check(v, alt, at) for alt in s["anyOf"]]
        return None if None in errs else min(errs, key=len)
    if "type" in s and (not isinstance(v, types[s["type"]]) or isinstance(v, bool)):
        return at + ": not " + s["type"]
    if "const" in s and v != s["const"]:
        return at + ": not " + repr(s["const"])
    if "enum" in s and v not in s["enum"]:
        return at + ": " + repr(v) + " not in " + repr(s["enum"])
    for k in s.get("required", []):
        if k not in v:
            return at + ": no " + k
    for k, sub in s.get("properties", {}).items():
        if isinstance(v, dict) and k in v:
            e = check(v[k], sub, at + "." + k)
            if e:
                return e
    if "items" in s and isinstance(v, list):
        for i, x in enumerate(v):
            e = check(x, s["items"], "%s[%d]" % (at, i))
            if e:
                return e
    return None
root = schema if "$ref" in schema else schema["definitions"]["FileFormat.File"]
e = check(json.load(open(sys.argv[2])), root, "file")
sys.exit(e and "does not follow speedscope's schema: " + e)
EOF
ok
schema=$release/file-format-schema.json
if [ -f "$schema" ]; then
	python3 "$T/schema.py" "$schema" "$T/www/profile.json" || fail "profile.json breaks $schema"
fi

# A loopback server on a free port, which ends itself after two minutes.
cat >"$T/serve.py" <<'EOF'
import functools, http.server, os, sys, threading
threading.Timer(120, os._exit, (1,)).start()
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
EOF
python3 "$T/serve.py" "$T/www" >"$T/port" 2>"$T/http.log" &
bg="$bg $!"
port=
has_port() {
	port=$(cat "$T/port")
	[ -n "$port" ]
}
ok
if ! wait_until 20 has_port; then
	fail "the web server did not start:"
	cat "$T/http.log" >&2
	finish
	exit 1
fi

# browse PAGE NAME ARGS...: Chromium on speedscope's PAGE with the file NAME.json.
browse() {
	page=$1 name=$2
	shift 2
	timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$T/chrome" --window-size=1200,800 --virtual-time-budget=10000 \
		"$@" "http://127.0.0.1:$port/$page.html#profileURL=$name.json" 2>>"$T/chrome.log"
}

# The page's title is the file's name, and the toolbar names the active profile.
browse index profile --dump-dom >"$T/dom.html" || true
expect_grep '<title>.*go-cpu\.pb\.gz - speedscope</title>' "$T/dom.html"
expect_grep 'go-cpu\.pb\.gz \(cpu\)' "$T/dom.html"
expect_no_grep 'Something went wrong' "$T/dom.html"
# A broken file is not shown, and speedscope says so: the checks above can fail.
browse noalert broken --dump-dom >"$T/broken.html" || true
expect_no_grep 'go-cpu\.pb\.gz' "$T/broken.html"
expect_grep '<title>alert: Unrecognized format' "$T/broken.html"

# The screenshot: 1200x800, and below the toolbar and the minimap a flame
# chart, rows of boxes in many colours.
cat >"$T/png.py" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
if depth != 8 or ctype not in (2, 6):
    sys.exit("unexpected PNG format: depth %d, colour type %d" % (depth, ctype))
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, off = bytearray(stride), [], 0
for y in range(h):
    f, line = raw[off], bytearray(raw[off + 1:off + 1 + stride])
    off += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
# The flame chart's rows lie below y = 140 (toolbar and minimap above).
coloured, colours, area = 0, set(), 0
for y in range(140, min(h, 500), 2):
    for x in range(0, w, 2):
        r, g, b = rows[y][x * bpp:x * bpp + 3]
        area += 1
        if max(r, g, b) - min(r, g, b) > 30:
            coloured += 1
            colours.add((r, g, b))
print(w, h, len(colours), round(100.0 * coloured / area))
EOF
browse index profile --screenshot="$T/shot.png" >/dev/null || true
ok
if [ -s "$T/shot.png" ] && python3 "$T/png.py" "$T/shot.png" >"$T/png"; then
	# shellcheck disable=SC2046
	set -- $(cat "$T/png")
	expect_eq "$1x$2" 1200x800 "screenshot size"
	ok
	[ "$3" -ge 10 ] || fail "the flame chart has $3 colours, expected 10 or more"
	ok
	[ "$4" -ge 20 ] || fail "$4% of the flame chart's area is coloured, expected 20% or more"
	echo "screenshot: $1x$2, $3 colours, $4% of the chart's area coloured"
else
	fail "no screenshot, or not one python3 can read:"
	tail -5 "$T/chrome.log" >&2
fi
[ -z "${SPEEDSCOPE_SHOT:-}" ] || cp "$T/shot.png" "$SPEEDSCOPE_SHOT"

# A `cprof trace` file (Chrome's trace format) of waitwork: speedscope makes
# a lane of each thread, named with its tid, the first (the main thread,
# blocked in pause) drawn across the screenshot.
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
if [ "$(id -u)" = 0 ] || [ "$paranoid" -le 2 ]; then
	expect_exit 0 "$CPROF" trace --seconds 1 -o "$T/www/trace.json" -- \
		"$top_builddir/tests/workloads/waitwork" --busy 3
	lanes=$(grep -c '"thread_name"' "$T/www/trace.json")
	browse index trace --dump-dom >"$T/trace.html" || true
	expect_grep '<title>trace\.json - speedscope</title>' "$T/trace.html"
	expect_grep "reader \\(tid [0-9]+\\)" "$T/trace.html"
	expect_grep "busy \\(tid [0-9]+\\)" "$T/trace.html"
	expect_grep "\\(1/$lanes\\)" "$T/trace.html"
	browse index trace --screenshot="$T/trace.png" >/dev/null || true
	ok
	if [ -s "$T/trace.png" ] && python3 "$T/png.py" "$T/trace.png" >"$T/png"; then
		# shellcheck disable=SC2046
		set -- $(cat "$T/png")
		[ "$4" -ge 3 ] || fail "$4% of the trace's lane is coloured, expected 3% or more"
		echo "trace screenshot: $1x$2, $3 colours, $4% of the area coloured, $lanes lanes"
	else
		fail "no screenshot of the trace"
	fi
	[ -z "${SPEEDSCOPE_SHOT:-}" ] || cp "$T/trace.png" "${SPEEDSCOPE_SHOT%.png}-trace.png"
fi

finish
