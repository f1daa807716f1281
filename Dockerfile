# turnpike container image: `docker build -t turnpike .` (or podman build --format docker).
# The build stage compiles the three binaries; the runtime stage carries them, their
# runtime libraries and the entrypoint, and runs as an unprivileged user. Configure it
# with a mounted /etc/turnpike/turnpike.conf, TURNPIKE_* environment variables and
# turnpiked options after the image name (README.md, "Container").
FROM debian:bookworm-slim AS build
ARG JOBS=2
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		build-essential autoconf automake libtool pkg-config \
		libevent-dev libssl-dev libsqlite3-dev \
		libpq-dev libmariadb-dev libhiredis-dev libjansson-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# /var as localstatedir: turnpikectl's default database is /var/lib/turnpike/turnpike.db.
# Without the eBPF fast path (it needs clang to build and CAP_BPF, CAP_NET_ADMIN and
# host networking to run; README, "Kernel fast path").
RUN autoreconf -fi \
	&& ./configure --prefix=/usr --sysconfdir=/etc/turnpike --localstatedir=/var \
		--disable-fastpath \
	&& make -j"$JOBS" turnpiked turnpikectl turnpike-bench \
	&& strip turnpiked turnpikectl turnpike-bench

FROM debian:bookworm-slim
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		libevent-2.1-7 libevent-pthreads-2.1-7 libevent-openssl-2.1-7 \
		libssl3 libsqlite3-0 libpq5 libmariadb3 libhiredis0.14 libjansson4 \
	&& apt-get clean && rm -rf /var/lib/apt/lists/* \
	&& groupadd --system --gid 10000 turnpike \
	&& useradd --system --uid 10000 --gid turnpike --home-dir /var/lib/turnpike \
		--no-create-home --shell /usr/sbin/nologin turnpike \
	&& install -d -o turnpike -g turnpike -m 0700 /var/lib/turnpike /run/turnpike \
	&& install -d -m 0755 /etc/turnpike
COPY --from=build /src/turnpiked /src/turnpikectl /src/turnpike-bench /usr/bin/
COPY docker/entrypoint.sh /usr/local/bin/turnpike-entrypoint
COPY docker/healthcheck.sh /usr/local/bin/turnpike-healthcheck
# The relay range is small so that bridge networking can publish it; widen it
# (TURNPIKE_MIN_PORT/TURNPIKE_MAX_PORT) with host networking.
EXPOSE 3478/udp 3478/tcp 5349/tcp 49152-49251/udp
VOLUME ["/var/lib/turnpike"]
USER 10000:10000
WORKDIR /var/lib/turnpike
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
	CMD ["/usr/local/bin/turnpike-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/turnpike-entrypoint"]
