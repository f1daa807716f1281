#!/usr/bin/env bash
# deploy/grafana/turnpike.json and deploy/prometheus/turnpike-alerts.yml against
# a running turnpiked: every metric name their queries use (stun_*, turn_* and
# turnpike_*, the names turnpiked exports) is one that /metrics of a live
# server shows, every panel has a query, and the dashboard covers the signals
# an operator watches. With promtool (Debian package prometheus) the rules
# pass `promtool check rules`; with the prometheus server too, a real
# Prometheus scrapes the daemon and runs every dashboard query and alert
# expression: each one parses, and every dashboard query returns series.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/turnlib.sh"

require_binaries
DASH=$TOP_SRCDIR/deploy/grafana/turnpike.json
RULES=$TOP_SRCDIR/deploy/prometheus/turnpike-alerts.yml
PROMTEXT=$TOP_SRCDIR/tests/integration/promtext.py

# ---- the files ----

# The dashboard's queries, one a line, with Grafana's variables made concrete.
python3 - "$DASH" >"$T/dash.exprs" 2>"$T/dash.err" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
panels = [p for p in d["panels"] if p.get("type") != "row"]
for p in panels:
    targets = [t.get("expr", "") for t in p.get("targets", [])]
    if not targets or not all(targets):
        sys.exit("panel %r has no query" % p.get("title"))
    for e in targets:
        print(e.replace("$__rate_interval", "1m").replace("$instance", ".*").replace("\n", " "))
PY
rc=$?
tap_is "the dashboard is JSON and every panel has a query ($(wc -l <"$T/dash.exprs") queries)" \
	"$rc" "$(cat "$T/dash.err")"

# The rules' expressions, one a line (a small reader for this file's layout:
# "expr: X" on one line or "expr: >-" followed by indented lines).
awk '
	/^ *expr: *>-? *$/ { inexpr = 1; ind = 0; line = ""; next }
	inexpr && /^ *$/ { next }
	inexpr {
		match($0, /^ */)
		if (ind == 0) ind = RLENGTH
		if (RLENGTH >= ind) { sub(/^ */, ""); line = line " " $0; next }
		print line; inexpr = 0
	}
	/^ *expr: / { sub(/^ *expr: */, ""); print; next }
	END { if (inexpr) print line }
' "$RULES" | sed 's/^ *//' >"$T/rules.exprs"
n=$(wc -l <"$T/rules.exprs")
[ "$n" -ge 4 ] && [ "$(grep -c '^ *- alert: ' "$RULES")" = "$n" ]
tap_is "the rules file has $n alerts, each with an expression" "$?" "$(cat "$T/rules.exprs")"

for want in 'turnpike_ready' 'turnpike_relay_ports_free' 'turnpike_auth_failures_total' \
	'turnpike_dropped_packets_total'; do
	grep -q "$want" "$T/rules.exprs" || echo "no alert on $want"
done >"$T/rules.missing"
[ ! -s "$T/rules.missing" ]
tap_is "alerts: not ready, relay ports nearly exhausted, auth failure spikes, drops" "$?" \
	"$(cat "$T/rules.missing")"

for want in 'sum by (type) (turn_total_allocations' 'turn_total_traffic_rcvb' \
	'turn_total_traffic_sentb' 'turnpike_allocate_latency_seconds_bucket' \
	'sum by (code) (rate(turnpike_auth_failures_total' 'turnpike_peer_refusals_total' \
	'turnpike_relay_ports_free' 'turnpike_ready' 'sum by (reason) (rate(turnpike_dropped_packets_total'; do
	grep -qF "$want" "$T/dash.exprs" || echo "no panel on $want"
done >"$T/dash.missing"
[ ! -s "$T/dash.missing" ]
tap_is "panels: allocations by transport, traffic each way, latency, auth failures by code, peer refusals, ports free, readiness, drops by reason" \
	"$?" "$(cat "$T/dash.missing")"

# ---- a live server ----

pick_port
MPORT=$PICKED
turn_common_args
start_turn_server_or_bail "${TURN_ARGS[@]}" --listening-ip 127.0.0.1 --no-tls \
	--relay-ip 127.0.0.1 --allow-loopback-peers --relay-threads 2 \
	--prometheus --prometheus-address 127.0.0.1 --prometheus-port "$MPORT"
code=$(timeout 15 python3 "$PROMTEXT" get "http://127.0.0.1:$MPORT/metrics" "$T/metrics.prom")
[ "$code" = 200 ] && timeout 15 python3 "$PROMTEXT" check "$T/metrics.prom" >"$T/check.out" 2>&1
tap_is "a live turnpiked serves valid /metrics" "$?" "status $code" "$(cat "$T/check.out")"

# Every sample name the server exports (histograms give _bucket, _sum, _count).
grep -v '^#' "$T/metrics.prom" | sed 's/[{ ].*//' | sort -u >"$T/exported"
# Every metric name the files use: the prefixes turnpiked exports under.
names() { grep -oE '\b(stun|turn|turnpike)_[a-zA-Z0-9_]+\b' "$@" | sort -u; }
names "$T/dash.exprs" >"$T/dash.names"
names "$T/rules.exprs" >"$T/rules.names"
unknown=$(comm -23 "$T/dash.names" "$T/exported")
[ -z "$unknown" ] && [ -s "$T/dash.names" ]
rc=$?
tap_is "every metric in the dashboard ($(wc -l <"$T/dash.names") names) is exported" "$rc" \
	"not exported: $unknown"
unknown=$(comm -23 "$T/rules.names" "$T/exported")
[ -z "$unknown" ] && [ -s "$T/rules.names" ]
rc=$?
tap_is "every metric in the alerting rules ($(wc -l <"$T/rules.names") names) is exported" \
	"$rc" "not exported: $unknown"
# A query on no turnpiked metric at all (a typo of the prefix) would pass the
# name check: every query must name at least one.
bad=$(cat "$T/dash.exprs" "$T/rules.exprs" | grep -vE '\b(stun|turn|turnpike)_[a-z]')
[ -z "$bad" ]
tap_is "every query names a turnpiked metric" "$?" "$bad"

# ---- Prometheus itself ----

PROMTOOL=${PROMTOOL:-$(command -v promtool)}
PROMETHEUS=${PROMETHEUS:-$(command -v prometheus)}
if [ -z "$PROMTOOL" ]; then
	tap_skip "promtool check rules" "promtool not installed (apt-get install prometheus)"
else
	timeout 60 "$PROMTOOL" check rules "$RULES" >"$T/promtool.out" 2>&1
	tap_is "promtool check rules accepts deploy/prometheus/turnpike-alerts.yml" "$?" \
		"$(cat "$T/promtool.out")"
fi

# query EXPR: an instant query through the HTTP API; prints the number of
# series, fails when Prometheus refuses the expression.
query() {
	timeout 15 python3 - "http://127.0.0.1:$PPORT/api/v1/query" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request, urllib.error
url = sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]})
try:
    r = json.load(urllib.request.urlopen(url, timeout=10))
except urllib.error.HTTPError as e:
    sys.exit("HTTP %d: %s" % (e.code, e.read().decode(errors="replace")))
if r.get("status") != "success":
    sys.exit(str(r))
print(len(r["data"]["result"]))
PY
}

# shellcheck disable=SC2317 # called through wait_until
prom_scraped() { [ "$(query 'count_over_time(turnpike_ready[1m]) >= 3' 2>/dev/null)" = 1 ]; }

if [ -z "$PROMETHEUS" ] || [ -z "$PROMTOOL" ]; then
	tap_skip "the queries in a real Prometheus" "prometheus not installed"
else
	pick_port
	PPORT=$PICKED
	cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$RULES"]
scrape_configs:
  - job_name: turnpike
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
YML
	"$PROMETHEUS" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
		--web.listen-address="127.0.0.1:$PPORT" >"$T/prometheus.log" 2>&1 &
	track_pid "$!"
	# Up once three scrapes are stored: rate() over 1m then has points.
	wait_until 60 prom_scraped
	tap_is "a real Prometheus scrapes the live turnpiked" "$?" "$(tail -n 5 "$T/prometheus.log")"
	bad=
	while IFS= read -r e; do
		if ! n=$(query "$e" 2>&1); then
			bad="$bad$e: $n"$'\n'
		elif [ "$n" -eq 0 ]; then
			bad="$bad$e: no series"$'\n'
		fi
	done <"$T/dash.exprs"
	[ -z "$bad" ]
	tap_is "Prometheus runs every dashboard query and each returns series" "$?" "$bad"
	bad=
	while IFS= read -r e; do
		n=$(query "$e" 2>&1) || bad="$bad$e: $n"$'\n'
	done <"$T/rules.exprs"
	[ -z "$bad" ]
	tap_is "Prometheus runs every alert expression" "$?" "$bad"
fi

tap_done
