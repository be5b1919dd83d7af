#!/bin/bash
# Exporter test against the real thing: Debian's prometheus scrapes `tcpdwell
# serve` every second while 20 loopback connections each sit 1.5 s in CLOSE_WAIT;
# the median CLOSE_WAIT dwell and the transition counters are then asked of
# Prometheus's query API, and promtool checks the scraped text. Needs root.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
TD=$OUTPUT/tcpdwell
PEER=$OUTPUT/tests/cwhold
TMP=$(mktemp -d)
PASS=0
FAIL=0
PROM_PID=
TD_PID=
TD2_PID=

cleanup() {
	[ -n "$TD_PID" ] && kill -INT "$TD_PID" 2>/dev/null
	[ -n "$TD2_PID" ] && kill -INT "$TD2_PID" 2>/dev/null
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# wait_for TIMEOUT_S CMD...: poll CMD every 100 ms until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

free_port() {
	local p
	for p in $(seq "$1" "$2"); do
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1
fi
# The package starts a system instance; this test runs its own.
systemctl stop prometheus >/dev/null 2>&1 || true

TD_PORT=$(free_port 19877 19977)
PROM_PORT=$(free_port 19090 19190)
APP_PORT=$(free_port 29500 29600)

"$TD" serve --listen "127.0.0.1:$TD_PORT" -L "$APP_PORT" >"$TMP/td.out" 2>"$TMP/td.err" &
TD_PID=$!
# A second exporter with other filters, read directly: only the clients (-R), only what
# touches ESTABLISHED (-s), in this network namespace (-N).
TD2_PORT=$(free_port $((TD_PORT + 1)) 19977)
"$TD" serve --listen "127.0.0.1:$TD2_PORT" -R "$APP_PORT" -s ESTABLISHED \
	-N "$(stat -L -c %i /proc/self/ns/net)" >/dev/null 2>"$TMP/td2.err" &
TD2_PID=$!
if ! wait_for 10 grep -q "tcpdwell: tracing" "$TMP/td.err" ||
	! wait_for 10 grep -q "tcpdwell: tracing" "$TMP/td2.err"; then
	not_ok "tcpdwell serve starts" "$(cat "$TMP/td.err" "$TMP/td2.err")"
	echo "prometheus: $PASS passed, $FAIL failed"
	exit 1
fi
ok "tcpdwell serve starts"

cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tcpdwell
    static_configs:
      - targets: ['127.0.0.1:$TD_PORT']
EOF
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prom.log" 2>&1 &
PROM_PID=$!

query() {
	curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"
}
target_up() {
	query 'up{job="tcpdwell"}' | jq -e '.data.result[0].value[1] == "1"' >/dev/null 2>&1
}
if wait_for 30 target_up; then
	ok "prometheus scrapes tcpdwell"
else
	not_ok "prometheus scrapes tcpdwell" "$(tail -5 "$TMP/prom.log")"
fi

if "$PEER" "$APP_PORT" 20 1500 >"$TMP/peer.out"; then
	ok "20 connections held 1.5 s in CLOSE_WAIT"
else
	not_ok "20 connections held 1.5 s in CLOSE_WAIT"
fi

# The scrape after the last close must have the 20 samples: wait for the count.
cw_count() {
	[ "$(query 'sum(tcpdwell_state_dwell_seconds_count{state="close_wait"})' |
		jq -r '.data.result[0].value[1] // 0')" = 20 ]
}
if wait_for 20 cw_count; then
	ok "20 CLOSE_WAIT samples scraped"
else
	not_ok "20 CLOSE_WAIT samples scraped" \
		"$(query 'tcpdwell_state_dwell_seconds_count' | head -c 400)"
fi

Q='histogram_quantile(0.5, rate(tcpdwell_state_dwell_seconds_bucket{state="close_wait"}[1m]))'
P50=$(query "$Q" | jq -r '.data.result[0].value[1] // "none"')
if [[ $P50 =~ ^[0-9.]+$ ]] && awk -v v="$P50" 'BEGIN { exit !(v + 0 >= 1.4 && v + 0 <= 1.6) }'; then
	ok "median CLOSE_WAIT dwell from Prometheus is about 1.5 s ($P50)"
else
	not_ok "median CLOSE_WAIT dwell from Prometheus is about 1.5 s" "expected 1.4..1.6, got $P50"
fi

check_counter() { # FROM TO EXPECTED
	local v
	v=$(query "sum(tcpdwell_transitions_total{from=\"$1\",to=\"$2\"})" |
		jq -r '.data.result[0].value[1] // 0')
	if [ "$v" = "$3" ]; then
		ok "transitions $1 -> $2 = $3"
	else
		not_ok "transitions $1 -> $2" "expected $3, got $v"
	fi
}
check_counter close_wait last_ack 20
check_counter syn_recv established 20
check_counter established close_wait 20
check_counter close listen 1

# The filtered exporter: the 20 clients' transitions into and out of ESTABLISHED, nothing
# of the servers (-R), none of the clients' other transitions (-s).
m2() { # FROM TO: the counter in the second exporter's last scrape, 0 when absent
	awk -v k="tcpdwell_transitions_total{from=\"$1\",to=\"$2\"}" \
		'$1 == k { v = $2 } END { print v + 0 }' "$TMP/m2.txt"
}
m2_done() {
	curl -s --max-time 5 "http://127.0.0.1:$TD2_PORT/metrics" >"$TMP/m2.txt" &&
		[ "$(m2 established fin_wait1)" = 20 ]
}
wait_for 20 m2_done
got="$(m2 syn_sent established) $(m2 established fin_wait1) $(m2 syn_recv established)"
got="$got $(m2 close syn_sent) $(m2 fin_wait1 fin_wait2) $(m2 established close_wait)"
got="$got $(grep -c '^tcpdwell_state_dwell_seconds_count{state="established"} 20$' "$TMP/m2.txt")"
if [ "$got" = "20 20 0 0 0 0 1" ]; then
	ok "serve -R -s -N: only the clients' transitions through ESTABLISHED"
else
	not_ok "serve -R -s -N: only the clients' transitions through ESTABLISHED" \
		"syn_sent>established established>fin_wait1 syn_recv>established close>syn_sent" \
		"fin_wait1>fin_wait2 established>close_wait, established dwell count 20:" \
		"expected 20 20 0 0 0 0 1, got $got"
fi

curl -s "http://127.0.0.1:$TD_PORT/metrics" >"$TMP/metrics.txt"
if promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1; then
	ok "promtool check metrics"
else
	not_ok "promtool check metrics" "$(head -5 "$TMP/promtool.out")"
fi
CT=$(curl -s -o /dev/null -w '%{content_type}' -H 'Accept: application/openmetrics-text' \
	"http://127.0.0.1:$TD_PORT/metrics")
if [[ $CT == application/openmetrics-text* ]] &&
	curl -s -H 'Accept: application/openmetrics-text' "http://127.0.0.1:$TD_PORT/metrics" |
	tail -1 | grep -qx '# EOF'; then
	ok "OpenMetrics on request"
else
	not_ok "OpenMetrics on request" "content type: $CT"
fi

# Capabilities are per thread: the HTTP thread must have none either.
NTASK=0
BADCAPS=
for st in /proc/"$TD_PID"/task/*/status; do
	NTASK=$((NTASK + 1))
	c=$(awk '/^CapEff/ { print $2 }' "$st")
	[ "$c" = 0000000000000000 ] || BADCAPS="$BADCAPS $st:$c"
done
if [ "$NTASK" -ge 2 ] && [ -z "$BADCAPS" ]; then
	ok "no capabilities left after attach in any of $NTASK threads"
else
	not_ok "no capabilities left after attach in every thread" "threads $NTASK," \
		"CapEff not 0:$BADCAPS"
fi

kill -INT "$TD_PID"
if wait_for 10 bash -c "! kill -0 $TD_PID 2>/dev/null"; then
	wait "$TD_PID"
	RC=$?
	TD_PID=
	[ $RC = 0 ] && ok "serve exits 0 on SIGINT" || not_ok "serve exits 0 on SIGINT" "rc=$RC"
else
	not_ok "serve exits on SIGINT"
fi

echo "prometheus: $PASS passed, $FAIL failed"
[ $FAIL = 0 ]
