# shellcheck shell=bash
# Shared by the bash benchmark scripts (bench/*.sh): their error line, the
# Debian packages they need, and their --out option.
bench_name=bench/$(basename "$0")

die() { echo "$bench_name: $*" >&2; exit 1; }

# bench_at_root: from the repository root, with CPROF (default ./cprof) built.
bench_at_root() {
	cd "$(dirname "$0")/.."
	CPROF=${CPROF:-./cprof}
	[ -x "$CPROF" ] || die "$CPROF not found: build first (make -j2 && make -j2 check TESTS=)"
}

# install_missing PACKAGE...: apt-get the packages named, if any.
install_missing() {
	[ $# -gt 0 ] || return 0
	echo "$bench_name: installing $*" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 ||
		die "could not install $*"
}

# parse_out TEMPLATE ARG...: sets out to --out DIR (made if missing; else a
# new directory from mktemp TEMPLATE) and args to the other arguments.
parse_out() {
	template=$1
	shift
	out=
	args=()
	while [ $# -gt 0 ]; do
		case $1 in
		--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
		--out=*) out=${1#--out=}; shift ;;
		*) args+=("$1"); shift ;;
		esac
	done
	[ -n "$out" ] || out=$(mktemp -d "$template")
	mkdir -p "$out"
}

# build_gen SRC OUT: bench/gen_profile.c, which links the built tree SRC's
# model and encoder (lib/libcprof.a), as OUT/gen_profile.
build_gen() {
	[ -f "$1/lib/libcprof.a" ] && [ -f "$1/config.h" ] ||
		die "$1/lib/libcprof.a or $1/config.h not found: build first"
	# shellcheck disable=SC2046
	cc -O2 -I "$1/lib" -include "$1/config.h" -o "$2/gen_profile" bench/gen_profile.c \
		"$1/lib/libcprof.a" \
		$(pkg-config --libs libunwind-generic libdw libelf libprotobuf-c zlib libdeflate ncursesw \
			libmicrohttpd libcurl) -liberty -lm ||
		die "could not build bench/gen_profile.c"
}
