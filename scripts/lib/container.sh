# Shared by scripts/container-test and scripts/package-test: choose a container
# engine (docker when one answers, rootful podman otherwise) and make the
# Debian base image locally when no registry is reachable. The sourcing script
# defines skip() (prints why and exits 77).
# shellcheck shell=bash
# shellcheck disable=SC2034 # ENGINE, BUILD_ARGS and RUN_ARGS are used by the sourcing scripts

BASE_IMAGE=docker.io/library/debian:bookworm-slim
ENGINE=()
BUILD_ARGS=()
RUN_ARGS=()

# The Debian mirror apt uses on this machine.
debian_mirror() {
	local m
	m=$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/*.sources \
		2>/dev/null | head -n 1)
	[ -n "$m" ] || m=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) bookworm .*/\2/p' \
		/etc/apt/sources.list 2>/dev/null | head -n 1)
	printf '%s' "${m:-http://deb.debian.org/debian}"
}

# podman without a registry: a minimal bookworm made with debootstrap, trimmed
# like the official slim image, imported under the name the Dockerfile uses.
# Made once: later runs (and the other container tests) reuse it.
make_base_image() {
	local rootfs rc
	"${ENGINE[@]}" image exists "$BASE_IMAGE" && return 0
	if timeout 60 "${ENGINE[@]}" pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
		return 0
	fi
	say "no registry: making $BASE_IMAGE with debootstrap"
	rootfs=$(mktemp -d "${TMPDIR:-/tmp}/turnpike-rootfs.XXXXXX") || return 1
	timeout 600 debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" \
		>"$rootfs.log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
			"$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
			"$rootfs"/usr/share/locale/*
		tar -C "$rootfs" -c . | "${ENGINE[@]}" import - "$BASE_IMAGE" >/dev/null
		rc=$?
	else
		tail -n 20 "$rootfs.log" >&2
	fi
	rm -rf "$rootfs" "$rootfs.log"
	return "$rc"
}

# choose_engine: sets ENGINE, BUILD_ARGS and RUN_ARGS and makes sure the base
# image exists, or skips.
choose_engine() {
	local want=${CONTAINER_ENGINE:-}
	if [ -z "$want" ] && command -v docker >/dev/null 2>&1 &&
		timeout 20 docker info >/dev/null 2>&1; then
		want=docker
	fi
	if [ "${want:-podman}" = docker ]; then
		timeout 20 docker info >/dev/null 2>&1 || skip "CONTAINER_ENGINE=docker but no Docker engine answers"
		ENGINE=(docker)
		return 0
	fi
	if ! command -v podman >/dev/null 2>&1; then
		if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
			skip "no Docker engine answers and podman cannot be installed (needs root and apt-get)"
		fi
		(ensure_pkgs podman runc debootstrap) || skip "no Docker engine answers and installing podman failed"
	fi
	[ "$(id -u)" -eq 0 ] || skip "podman is tested rootful here: run as root"
	ensure_pkgs runc debootstrap
	# runc and cgroupfs: crun refuses the cgroup layout of these machines; the
	# default limits cannot be raised here.
	ENGINE=(podman --runtime runc --cgroup-manager=cgroupfs)
	BUILD_ARGS=(--format docker --network host --ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
	RUN_ARGS=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
	make_base_image || skip "cannot make the base image $BASE_IMAGE"
}
