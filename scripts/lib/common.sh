# Shared by scripts/run and scripts/test: install what is missing, build.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages needed to build and run.
# shellcheck disable=SC2034 # used by the scripts that source this file
BUILD_PKGS=(build-essential autoconf automake libtool pkg-config libevent-dev libssl-dev
	libsqlite3-dev libjansson-dev openssl libpq-dev libmariadb-dev libbpf-dev bpftool clang)


as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $*"
	fi
}

# Installs the Debian packages given that are not installed yet.
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null 2>&1 ||
		die "missing packages (${missing[*]}) and no apt-get: install them by hand"
	say "installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
		die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

# Regenerates the build system when configure is missing or older than its inputs.
bootstrap() {
	if [ ! -x "$TOP/configure" ] || [ "$TOP/configure.ac" -nt "$TOP/configure" ] ||
		[ "$TOP/Makefile.am" -nt "$TOP/Makefile.in" ]; then
		say "autoreconf"
		(cd "$TOP" && autoreconf -fi >/dev/null 2>&1) || die "autoreconf failed"
	fi
}

# build DIR [configure args...]: configures (once per set of args) and builds in DIR.
build() {
	local dir=$1 stamp args
	shift
	args="$*"
	mkdir -p "$dir"
	stamp="$dir/.configure-args"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$args" ]; then
		say "configure $args (in ${dir#"$TOP"/})"
		(cd "$dir" && "$TOP/configure" -q "$@") || die "configure failed in $dir (see $dir/config.log)"
		printf '%s' "$args" >"$stamp"
	fi
	say "make (in ${dir#"$TOP"/})"
	make -C "$dir" -j"$JOBS" >"$dir/make.out" 2>&1 || {
		tail -40 "$dir/make.out" >&2
		die "build failed in $dir"
	}
}
