#!/usr/bin/env bash
# RFC 5780 NAT behaviour discovery with coturn's clients: turnutils_natdiscovery
# finds endpoint-independent mapping and filtering on loopback (no NAT) when the
# server listens on 127.0.0.1 and 127.0.0.2 with rfc5780, and its OTHER-ADDRESS
# is the other address at alt-listening-port; turnutils_stunclient hears the
# CHANGE-REQUEST answer from the other address. Without rfc5780 (the default)
# neither sees OTHER-ADDRESS nor an answer from another address.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/turnlib.sh"

require_binaries
NATDISC=${NATDISC:-$(command -v turnutils_natdiscovery)}
STUNCLIENT=${STUNCLIENT:-$(command -v turnutils_stunclient)}
if [ -z "$NATDISC" ] || [ -z "$STUNCLIENT" ]; then
	tap_skip_all "turnutils_natdiscovery/turnutils_stunclient not installed (apt-get install coturn)"
fi

turn_common_args
LISTEN=(--listening-ip 127.0.0.1 --listening-ip 127.0.0.2 --no-tls)

# run_clients NAME: natdiscovery -m -f and stunclient against 127.0.0.1, output in $T/NAME.*.
run_clients() {
	timeout 30 "$NATDISC" -m -f -p "$PORT" 127.0.0.1 >"$T/$1.nd" 2>&1
	echo "$?" >"$T/$1.nd.rc"
	timeout 30 "$STUNCLIENT" -p "$PORT" 127.0.0.1 >"$T/$1.sc" 2>&1
	echo "$?" >"$T/$1.sc.rc"
}

start_turn_server_or_bail "${TURN_ARGS[@]}" "${LISTEN[@]}" --rfc5780 \
	--alt-listening-port @PORT2@
ALT=$PORT2
run_clients on
grep -q 'NAT with Endpoint Independent Mapping' "$T/on.nd"
tap_is "natdiscovery -m: Endpoint Independent Mapping" "$?" "$(cat "$T/on.nd")"
grep -q 'NAT with Endpoint Independent Filtering' "$T/on.nd"
tap_is "natdiscovery -f: Endpoint Independent Filtering (the change-IP-and-port answer came back)" \
	"$?" "$(cat "$T/on.nd")"
grep -q "Other addr: : 127.0.0.2:$ALT" "$T/on.nd" &&
	grep -q "Other addr: : 127.0.0.1:$ALT" "$T/on.nd"
tap_is "OTHER-ADDRESS is the other listening address at alt-listening-port $ALT" "$?" \
	"$(grep 'Other addr' "$T/on.nd")"
grep -q "Response origin: : 127.0.0.2:$ALT" "$T/on.nd"
tap_is "RESPONSE-ORIGIN of the changed answer is 127.0.0.2:$ALT" "$?" \
	"$(grep 'Response origin' "$T/on.nd")"
[ "$(cat "$T/on.nd.rc")" = 0 ] && [ "$(cat "$T/on.sc.rc")" = 0 ]
tap_is "both clients exit 0" "$?" "natdiscovery $(cat "$T/on.nd.rc"), stunclient $(cat "$T/on.sc.rc")"
grep -q "Response origin: : 127.0.0.2:$ALT" "$T/on.sc" &&
	grep -q 'UDP reflexive addr: 127.0.0.1:' "$T/on.sc"
tap_is "stunclient: the CHANGE-REQUEST answer comes from 127.0.0.2:$ALT to the client's own address" \
	"$?" "$(cat "$T/on.sc")"
echo "# natdiscovery with rfc5780: $(grep -c 'NAT with Endpoint Independent' "$T/on.nd") \
Endpoint Independent lines, $(grep -c 'Other addr' "$T/on.nd") Other addr lines"
turn_stop_check

# The same clients against the default configuration: RFC 5780 off.
start_turn_server_or_bail "${TURN_ARGS[@]}" "${LISTEN[@]}"
run_clients off
! grep -q 'Other addr' "$T/off.nd" && ! grep -q 'Endpoint Independent' "$T/off.nd" &&
	grep -q 'UDP reflexive addr: 127.0.0.1:' "$T/off.nd"
tap_is "rfc5780 off: no OTHER-ADDRESS, no behaviour found, plain Binding still answered" "$?" \
	"$(cat "$T/off.nd")"
! grep -q 'Response origin' "$T/off.sc" && grep -q 'UDP reflexive addr: 127.0.0.1:' "$T/off.sc"
tap_is "rfc5780 off: stunclient gets no RESPONSE-ORIGIN, its plain Binding is answered" "$?" \
	"$(cat "$T/off.sc")"
turn_stop_check

tap_done
