#!/usr/bin/env bash
# Binding over TCP and TLS on 127.0.0.1 and ::1: the mapped address is the
# client's own, several requests share one connection, the certificate made
# for this test verifies (and a foreign CA does not), TLS below 1.2 is refused,
# and --no-tcp / --no-tls really close those listeners.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
make_cert other
OTHER_CA=$CERT
make_cert server
std_args
start_turnpiked_or_bail "${STD_ARGS[@]}"

# check_stream DESC FAMILY PROBE-ARGS...: one request, mapped == local address.
check_stream() {
	local desc=$1 fam=$2
	shift 2
	bench probe --show-local "$@" >"$T/s" 2>&1
	tap_is "$desc: answered" "$?" "$(cat "$T/s")"
	probe_self_mapped "$T/s" "$fam" >"$T/s.check"
	tap_is "$desc: mapped address equals the local address" "$?" "$(cat "$T/s" "$T/s.check")"
}

# check_one_conn DESC FAMILY PROBE-ARGS...: 5 requests, one connection, all answered.
check_one_conn() {
	local desc=$1 fam=$2 rc n ports
	shift 2
	bench probe --count 5 --show-local "$@" >"$T/c" 2>&1
	rc=$?
	n=$(count_lines '^mapped-address ' "$T/c")
	ports=$(sed -n 's/^local-address //p' "$T/c" | sort -u | wc -l)
	[ "$rc" -eq 0 ] && [ "$n" -eq 5 ] && [ "$ports" -eq 1 ] &&
		probe_self_mapped "$T/c" "$fam" >/dev/null
	tap_is "$desc" "$?" "status $rc, $n answers over $ports connections" "$(cat "$T/c")"
}

check_stream "TCP 127.0.0.1" 4 --transport tcp "127.0.0.1:$PORT"
check_one_conn "TCP: 5 requests on one connection all answered" 4 --transport tcp "127.0.0.1:$PORT"
tap_run "TCP: request with FINGERPRINT gets a verified FINGERPRINT" \
	bench probe --transport tcp --fingerprint --require-fingerprint "127.0.0.1:$PORT"

check_stream "TLS 127.0.0.1 (verified against the test certificate)" 4 \
	--transport tls --ca "$CERT" "127.0.0.1:$TLS_PORT"
check_one_conn "TLS: 5 requests on one connection all answered" 4 \
	--transport tls --ca "$CERT" "127.0.0.1:$TLS_PORT"
tap_run "TLS: SNI and name check for 'localhost' pass" \
	bench probe --transport tls --ca "$CERT" --server-name localhost "127.0.0.1:$TLS_PORT"
tap_run_fails "TLS: a client trusting another CA refuses the server" \
	bench probe --transport tls --ca "$OTHER_CA" "127.0.0.1:$TLS_PORT"
if grep -q 'certificate verification failed' "$T/out"; then
	tap_ok "  ... because verification failed"
else
	tap_fail "  ... because verification failed" "$(cat "$T/out")"
fi

if have_ipv6; then
	check_stream "TCP [::1]" 6 --transport tcp "[::1]:$PORT"
	check_stream "TLS [::1]" 6 --transport tls --ca "$CERT" "[::1]:$TLS_PORT"
	check_one_conn "TLS [::1]: 5 requests on one connection all answered" 6 \
		--transport tls --ca "$CERT" "[::1]:$TLS_PORT"
else
	for d in "TCP [::1]: answered" "TCP [::1]: mapped address equals the local address" \
		"TLS [::1]: answered" "TLS [::1]: mapped address equals the local address" \
		"TLS [::1]: 5 requests on one connection"; do
		tap_skip "$d" "no ::1 on lo"
	done
fi

# s_client ARGS...: openssl's client, handshake only; prints "Protocol version: ..."
# on success. OPENSSL_CONF (when set by the caller) may relax the client.
s_client() {
	timeout 10 openssl s_client -brief "$@" </dev/null 2>&1
}

for v in 1.2 1.3; do
	s_client -connect "127.0.0.1:$TLS_PORT" "-tls${v/./_}" >"$T/tls$v" 2>&1
	grep -qx "Protocol version: TLSv$v" "$T/tls$v"
	tap_is "TLS $v client accepted" "$?" "$(cat "$T/tls$v")"
done

# Old-protocol clients: first show that this machine's openssl can speak the
# version at all (against openssl s_server with a relaxed configuration), then
# that turnpiked refuses it.
cat >"$T/legacy.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT:@SECLEVEL=0
EOF
pick_port
ref_port=$PICKED
mkfifo "$T/s_server.in"
OPENSSL_CONF=$T/legacy.cnf timeout 60 openssl s_server -accept "127.0.0.1:$ref_port" \
	-cert "$CERT" -key "$KEY" -cipher 'DEFAULT:@SECLEVEL=0' \
	<"$T/s_server.in" >"$T/s_server.log" 2>&1 &
ref_pid=$!
track_pid "$ref_pid"
exec 7>"$T/s_server.in" # keeps its stdin open: s_server quits on EOF
for _ in $(seq 1 100); do
	ss -Hlnt "sport = :$ref_port" | grep -q . && break
	sleep 0.05
done
for v in 1 1.1; do
	flag=-tls${v/./_}
	OPENSSL_CONF=$T/legacy.cnf s_client -connect "127.0.0.1:$ref_port" "$flag" \
		-cipher 'DEFAULT:@SECLEVEL=0' >"$T/ref$v" 2>&1
	if ! grep -qx "Protocol version: TLSv$v" "$T/ref$v"; then
		tap_skip "TLS $v client refused" "this openssl cannot negotiate TLS $v"
		continue
	fi
	OPENSSL_CONF=$T/legacy.cnf s_client -connect "127.0.0.1:$TLS_PORT" "$flag" \
		-cipher 'DEFAULT:@SECLEVEL=0' >"$T/old$v" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && ! grep -q 'CONNECTION ESTABLISHED' "$T/old$v"
	tap_is "TLS $v client refused (the same client speaks it to openssl s_server)" "$?" \
		"s_client status $rc" "$(cat "$T/old$v")"
done
exec 7>&-
kill "$ref_pid" 2>/dev/null
wait_exit "$ref_pid" 5

stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

start_turnpiked_or_bail "${STD_ARGS[@]}" --no-tcp
tap_run_fails "--no-tcp: TCP refused" bench probe --transport tcp --timeout 2000 "127.0.0.1:$PORT"
tap_run "--no-tcp: TLS still answers" \
	bench probe --transport tls --ca "$CERT" "127.0.0.1:$TLS_PORT"
tap_run "--no-tcp: UDP still answers" bench probe "127.0.0.1:$PORT"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

start_turnpiked_or_bail "${STD_ARGS[@]}" --no-tls
tap_run_fails "--no-tls: TLS refused" \
	bench probe --transport tls --ca "$CERT" --timeout 2000 "127.0.0.1:$TLS_PORT"
tap_run "--no-tls: TCP still answers" bench probe --transport tcp "127.0.0.1:$PORT"
stop_turnpiked
tap_is "daemon stops with status 0" "$?" "status $TURNPIKED_STATUS"

tap_done
