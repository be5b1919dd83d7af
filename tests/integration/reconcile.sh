#!/bin/bash
# Reconcile passes on real BPF and real loopback traffic: a burst of connections
# (tests/bench/storm) in a network namespace of its own, traced (-N) through a 4 KiB slot-ring
# buffer that loses records, by `serve --reconcile 2s`, `trace -j --reconcile 2s` and, for
# comparison, `serve --reconcile 0`. Once the burst is over and a reconcile period has passed,
# the first exporter's tcpdwell_sockets gauges must equal `ss -tan` of the namespace state by
# state and tcpdwell_reconciled_total must be above 0, where the exporter without passes still
# shows connections the kernel no longer has, or not in that state; trace's lost record counts
# the connections reconciled. Then a second burst leaves about 20,000 TIME_WAIT sockets, and
# the length of a pass's dump of them is reported (-v). Needs root. Usage: reconcile.sh [--keep];
# OUTPUT=build by default.
# (SC2317: the conditions handed to wait_until are called from there.)
# shellcheck disable=SC2317
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
ME=reconcile
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh
STORM=$OUTPUT/storm
[ -x "$STORM" ] || { echo "$ME: $STORM missing: run make integration" >&2; exit 1; }
for c in ip ss curl; do
	command -v $c >/dev/null || { echo "$ME: $c missing" >&2; exit 1; }
done

NS=td-$ME-$$
end_all() {
	local p
	cleanup
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
}
trap end_all EXIT
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || exit 1
INO=$(stat -L -c %i "/run/netns/$NS")
RUN=$TMP/r
LABEL=reconcile
TRACERS=()

# port_free PORT: no socket of this namespace uses it.
port_free() { ! ss -Htan "sport = :$1" | grep -q .; }
SERVE_ON=$((20000 + RANDOM % 10000))
until port_free $SERVE_ON && port_free $((SERVE_ON + 1)) && port_free $((SERVE_ON + 2)); do
	SERVE_ON=$((SERVE_ON + 3))
done
SERVE_OFF=$((SERVE_ON + 1))
SERVE_BIG=$((SERVE_ON + 2))

# gauges PORT: "state count" lines of that exporter's tcpdwell_sockets, sorted, empty lines
# left out; ss_states: the same of `ss -tan` in the namespace, with the exporter's names.
gauges() {
	curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
		sed -n 's/^tcpdwell_sockets{state="\([a-z_0-9]*\)"} \([0-9]*\)$/\1 \2/p' |
		awk '$2 != 0' | sort
}
ss_states() {
	ip netns exec "$NS" ss -Htan | awk '
		{ n[$1]++ }
		END {
			m["ESTAB"] = "established"; m["SYN-SENT"] = "syn_sent"
			m["SYN-RECV"] = "syn_recv"; m["FIN-WAIT-1"] = "fin_wait1"
			m["FIN-WAIT-2"] = "fin_wait2"; m["TIME-WAIT"] = "time_wait"
			m["CLOSE-WAIT"] = "close_wait"; m["LAST-ACK"] = "last_ack"
			m["LISTEN"] = "listen"; m["CLOSING"] = "closing"
			for (s in n) print (s in m ? m[s] : s), n[s]
		}' | sort
}
metric() { # PORT NAME: the value of an unlabelled series
	curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}
same_as_ss() { [ "$(gauges $SERVE_ON)" = "$(ss_states)" ]; }
# published_after NS_TIME: serve's last reconcile pass ended after that time (its passes run
# every 2 s, and the gauges are rendered every second): judged by the passes counter moving on.
passes_beyond() { [ "$(metric $SERVE_ON tcpdwell_reconcile_passes_total)" -ge "$1" ] 2>/dev/null; }

start_tracer serve_on serve --listen "127.0.0.1:$SERVE_ON" -N "$INO" --no-seed \
	--ringbuf-size 4K --buffer slots --reconcile 2s -v || exit 1
start_tracer serve_off serve --listen "127.0.0.1:$SERVE_OFF" -N "$INO" --no-seed \
	--ringbuf-size 4K --buffer slots --reconcile 0 || exit 1
start_tracer trace trace -j -N "$INO" --no-seed --ringbuf-size 4K --buffer slots \
	--reconcile 2s || exit 1
# With a buffer large enough to lose nothing, passes must find nothing to end.
start_tracer serve_big serve --listen "127.0.0.1:$SERVE_BIG" -N "$INO" --no-seed \
	--ringbuf-size 64M --buffer slots --reconcile 2s || exit 1

storm=$(ip netns exec "$NS" timeout 30 "$STORM" -d 1 -p 9970 -P 4 2>"$RUN.storm.err")
conns=$(jq -r .connections <<<"$storm" 2>/dev/null)
expect_match "storm ran (connections)" '[1-9][0-9]*' "$conns" "$storm" "$(cat "$RUN.storm.err")"
lost=$(curl -s --max-time 5 "http://127.0.0.1:$SERVE_ON/metrics" |
	awk '$1 == "tcpdwell_lost_records_total{reason=\"ringbuf\"}" { print $2 }')
expect_match "the 4K buffer lost records" '[1-9][0-9]*' "$lost"

# The burst is over: a pass that starts from now on sees its end. Passes so far, plus two:
# the one under way may have started during the burst.
p0=$(metric $SERVE_ON tcpdwell_reconcile_passes_total)
if wait_until 15 passes_beyond $((${p0:-0} + 2)) && sleep 1.1 && same_as_ss; then
	ok "serve --reconcile 2s: tcpdwell_sockets equal ss -tan state by state ($(ss_states |
		tr '\n' ' '))"
else
	not_ok "serve --reconcile 2s: tcpdwell_sockets equal ss -tan state by state" \
		"gauges: $(gauges $SERVE_ON | tr '\n' ' ')" "ss:     $(ss_states | tr '\n' ' ')" \
		"passes: $p0 -> $(metric $SERVE_ON tcpdwell_reconcile_passes_total)"
fi
expect_match "tcpdwell_reconciled_total > 0" '[1-9][0-9]*' \
	"$(metric $SERVE_ON tcpdwell_reconciled_total)"
# Without passes the same loss leaves the gauges wrong: what the test above would find without
# reconcile passes.
off=$(gauges $SERVE_OFF)
if [ "$off" != "$(ss_states)" ]; then
	ok "serve --reconcile 0: tcpdwell_sockets differ from ss -tan ($(tr '\n' ' ' <<<"$off"))"
else
	not_ok "serve --reconcile 0: tcpdwell_sockets differ from ss -tan (the loss made no phantom)" \
		"gauges: $off"
fi
expect_eq "serve --reconcile 0: tcpdwell_reconciled_total" 0 \
	"$(metric $SERVE_OFF tcpdwell_reconciled_total)"
# No loss: the passes (two at least since the burst) end nothing and break no chain.
big_lost=$(curl -s --max-time 5 "http://127.0.0.1:$SERVE_BIG/metrics" |
	awk '$1 ~ /^tcpdwell_lost_records_total/ { n += $2 } END { print n + 0 }')
expect_eq "serve with a 64M buffer: no record lost" 0 "$big_lost"
expect_match "serve with a 64M buffer: passes ran" '([2-9]|[1-9][0-9]+)' \
	"$(metric $SERVE_BIG tcpdwell_reconcile_passes_total)"
expect_eq "serve with a 64M buffer: tcpdwell_reconciled_total" 0 \
	"$(metric $SERVE_BIG tcpdwell_reconciled_total)"
expect_eq "serve with a 64M buffer: tcpdwell_chain_breaks_total" 0 \
	"$(metric $SERVE_BIG tcpdwell_chain_breaks_total)"

# trace's lost records carry the count.
trace_has_reconciled() {
	jq -R -c 'fromjson? | select(.type == "lost") | .reconciled' "$RUN.trace.json" |
		awk '$1 > 0 { f = 1 } END { exit !f }'
}
if wait_until 10 trace_has_reconciled; then
	ok "trace -j: a lost record with reconciled > 0 ($(jq -R -c 'fromjson? |
		select(.type == "lost")' "$RUN.trace.json" | tail -1))"
else
	not_ok "trace -j: a lost record with reconciled > 0" \
		"$(jq -R -c 'fromjson? | select(.type == "lost")' "$RUN.trace.json" | tail -3)"
fi

# About 20,000 TIME_WAIT sockets: the length of a pass's dump of them.
storm=$(ip netns exec "$NS" timeout 30 "$STORM" -d 1.5 -p 9980 -P 4 2>"$RUN.storm2.err")
p0=$(metric $SERVE_ON tcpdwell_reconcile_passes_total)
wait_until 15 passes_beyond $((${p0:-0} + 2))
tw=$(ip netns exec "$NS" ss -Htan state time-wait | wc -l)
for name in serve_on serve_off trace serve_big; do
	pid_var=TRACER_$name
	pid=${!pid_var}
	kill -INT "$pid" 2>/dev/null
	if wait_until 10 eval "! kill -0 $pid 2>/dev/null"; then
		wait "$pid"
		expect_eq "$name exits 0 on SIGINT" 0 $?
	else
		not_ok "$name exits within 10 s of SIGINT"
		kill -KILL "$pid" 2>/dev/null
	fi
	reaped "$pid"
done
line=$(grep -a 'tcpdwell: reconcile:' "$RUN.serve_on.err")
expect_match "serve -v: reconcile report" 'tcpdwell: reconcile: [0-9]+ dumps .*' "$line" \
	"$(cat "$RUN.serve_on.err")"
echo "# $tw TIME_WAIT sockets in the namespace; $line"

[ "$FAILED" = 0 ] && echo "$ME: $N passed" || echo "$ME: $FAILED of $N failed"
[ "$FAILED" = 0 ]
