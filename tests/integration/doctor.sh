#!/bin/bash
# tcpdwell doctor on real loopback traffic: in a network namespace of the test's own (narrow
# ephemeral port range), `tcpdwell doctor -d 5s -j` watches one scenario at a time, each made to
# show one symptom: connects to a port nobody listens on, a listener that never accepts, a
# server that never closes peer-closed connections, a burst of short connections ending in
# TIME_WAIT, clients that abort with RST, and a healthy exchange. jq asserts the findings (id,
# severity, counts, the top group, the owner's pid). Each run also keeps its records (-w), and
# the doctor run with -i on them must report the same finding ids. Needs root.
# Usage: doctor.sh [--record DIR] (also copy the recordings to DIR, e.g. tests/data).
# OUTPUT=build by default.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
TD=$(realpath "$OUTPUT/tcpdwell")
RECORD_DIR=
[ "${1:-}" = --record ] && RECORD_DIR=$(realpath "$2")
TMP=$(mktemp -d /tmp/tdwell-doctor.XXXXXX)
NS=tddoctor$$
PASS=0
FAIL=0
N=0
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	if [ "$FAIL" != 0 ] || [ "${KEEP:-0}" = 1 ]; then echo "# outputs kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"; shift
	local l
	for l in "$@"; do while IFS= read -r line; do printf '#   %s\n' "$line"; done <<<"$l"; done
}
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3" "${@:4}"; fi
}
# check_ge TAG MIN ACTUAL: integer ACTUAL >= MIN.
check_ge() {
	if [[ $3 =~ ^[0-9]+$ ]] && [ "$3" -ge "$2" ]; then ok "$1 ($3)"; else
		not_ok "$1" "expected: >= $2" "actual:   $3" "${@:4}"; fi
}
# wait_for SECONDS CMD...: poll every 50 ms until CMD succeeds; 1 if SECONDS pass first.
wait_for() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000)); shift
	until "$@"; do
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}
finish() {
	echo "doctor: $PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
	exit
}

[ "$(id -u)" = 0 ] || { echo "doctor.sh: needs root (loads BPF programs)" >&2; exit 1; }
[ -x "$TD" ] || { echo "doctor.sh: $TD missing: run make first" >&2; exit 1; }
command -v jq >/dev/null && command -v python3 >/dev/null ||
	{ echo "doctor.sh: needs jq and python3" >&2; exit 1; }

ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || {
	not_ok "cannot make a network namespace"; finish; }
INO=$(stat -L -c %i "/run/netns/$NS")
# 200 ephemeral ports: 120 TIME_WAIT to one endpoint is 60% of them.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="40000 40199" ||
	not_ok "cannot set ip_local_port_range in the namespace"

# The socket side of each scenario. Prints one JSON line when its sockets are in place
# ({"pid":..,"port":..}), then holds them until SIGTERM (at most 30 s).
cat >"$TMP/drive.py" <<'PY'
import json, os, signal, socket, struct, sys, time
sc, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
A = ("127.0.0.1", port)
held = []
def listener(backlog):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(A); l.listen(backlog); held.append(l); return l
def ready(**kw):
    kw.update(pid=os.getpid(), port=port); print(json.dumps(kw), flush=True)
def hold():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    time.sleep(30)
if sc == "refused":            # nobody listens on port: RST at once
    for _ in range(n):
        s = socket.socket()
        try: s.connect(A)
        except ConnectionRefusedError: pass
        s.close()
    ready()
elif sc == "never-accept":      # backlog 100, never accept(); n clients connect at once
    listener(100)
    for _ in range(n):
        s = socket.socket(); s.setblocking(False); held.append(s)
        try: s.connect(A)
        except BlockingIOError: pass
    ready()
elif sc == "never-close":       # accept, the client closes, the server never does
    l = listener(128)
    for _ in range(n):
        c = socket.create_connection(A); a, _ = l.accept(); held.append(a); c.close()
    ready()
elif sc in ("burst", "rst", "healthy"):   # short connections
    l = listener(128)
    for _ in range(n):
        c = socket.create_connection(A); a, _ = l.accept()
        if sc == "rst":          # the client aborts: SO_LINGER {1, 0}
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            try: a.recv(1)
            except ConnectionResetError: pass
            a.close()
        elif sc == "burst":      # the client closes first: TIME_WAIT on the client side
            c.close(); a.recv(1); a.close()
        else:                    # the server closes first: TIME_WAIT on port's side
            a.close(); c.recv(1); c.close()
    ready()
hold()
PY

PORT=$((20000 + RANDOM % 9000))
# run NAME N [THRESHOLDS]: doctor -d 5s -j -w in the namespace while drive.py plays NAME with
# N connections there; the report goes to $TMP/NAME.json, the records to $TMP/NAME.tdr.
run() {
	local name=$1 n=$2 th=${3:-} dpid drv
	PORT=$((PORT + 1))
	P=$PORT
	local args=(doctor -d 5s -j -N "$INO" -w "$TMP/$name.tdr")
	[ -n "$th" ] && args+=(--threshold "$th")
	ip netns exec "$NS" "$TD" "${args[@]}" >"$TMP/$name.json" 2>"$TMP/$name.err" &
	dpid=$!
	PIDS+=("$dpid")
	if ! wait_for 10 grep -qs "tcpdwell: tracing" "$TMP/$name.err"; then
		not_ok "$name: doctor starts tracing within 10 s" "$(cat "$TMP/$name.err")"
		return 1
	fi
	ip netns exec "$NS" python3 "$TMP/drive.py" "$name" "$P" "$n" >"$TMP/$name.drv" \
		2>"$TMP/$name.drv.err" &
	drv=$!
	PIDS+=("$drv")
	wait_for 10 grep -qs pid "$TMP/$name.drv" ||
		not_ok "$name: the scenario is in place within 10 s" "$(cat "$TMP/$name.drv.err")"
	DRV_PID=$(jq -r .pid "$TMP/$name.drv" 2>/dev/null)
	# -d 5s: the doctor ends by itself; bounded wait, then its exit status.
	if wait_for 15 eval "! kill -0 $dpid 2>/dev/null"; then
		wait "$dpid"
		check "$name: doctor exits 0" 0 $? "$(cat "$TMP/$name.err")"
	else
		not_ok "$name: doctor ends within 15 s of -d 5s"
		kill -KILL "$dpid"
	fi
	kill -TERM "$drv" 2>/dev/null
	wait "$drv" 2>/dev/null
	if jq -e 'select(.type == "doctor")' "$TMP/$name.json" >/dev/null 2>&1 &&
		[ "$(wc -l <"$TMP/$name.json")" = 1 ]; then
		ok "$name: the report is one valid JSON object"
	else
		not_ok "$name: the report is one valid JSON object" "$(head -c 2000 "$TMP/$name.json")"
	fi
	[ -n "$RECORD_DIR" ] && cp "$TMP/$name.tdr" "$RECORD_DIR/doctor-$name.tdr"
	R=$TMP/$name.json
}
# q FILTER: jq on the last report
q() { jq -r "$1" "$R" 2>/dev/null; }
f() { jq -r ".findings[] | select(.id == \"$1\") | $2" "$R" 2>/dev/null; }
# replayed NAME [THRESHOLDS]: the doctor on NAME's recording, no root needed (runs as nobody).
replayed() {
	local name=$1 th=${2:-}
	local args=(doctor -j -i "$TMP/$name.tdr")
	[ -n "$th" ] && args+=(--threshold "$th")
	chmod 0755 "$TMP" && chmod 0644 "$TMP/$name.tdr"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TD" "${args[@]}" \
		>"$TMP/$name.replay.json" 2>"$TMP/$name.replay.err"
	check "$name: replay exits 0 without privilege" 0 $? "$(cat "$TMP/$name.replay.err")"
}

# --- healthy: the server closes first, nothing to report (first: TIME_WAIT of later runs stays)
run healthy 10
check "healthy: no findings" 0 "$(q '.findings | length')"
"$TD" doctor -i "$TMP/healthy.tdr" >"$TMP/healthy.txt" 2>&1
check "healthy: text says no findings" 1 "$(grep -c '^no findings' "$TMP/healthy.txt")"

# --- a port nobody listens on -------------------------------------------------------------
run refused 12
check "refused: syn-sent finding, critical" critical "$(f syn-sent .severity)"
check "refused: 12 refused connects" 12 "$(f syn-sent .evidence.refused)"
check "refused: top endpoint is the closed port" "127.0.0.1:$P" \
	"$(f syn-sent '.top[0] | "\(.raddr):\(.rport)"')"
check "refused: examples name the connecting process" "$DRV_PID" "$(f syn-sent '.examples[0].pid')"
check "refused: no other finding" "syn-sent" "$(q '[.findings[].id] | join(",")')"
replayed refused
check "refused: replay finds the same" "$(q '[.findings[] | "\(.id) \(.severity) \(.evidence)"] | join(";")')" \
	"$(jq -r '[.findings[] | "\(.id) \(.severity) \(.evidence)"] | join(";")' "$TMP/refused.replay.json")"

# --- a listener that never accepts ----------------------------------------------------------
run never-accept 160 syn-rate=100
check "never-accept: syn-recv finding on the port" "$P" "$(f syn-recv .evidence.lport)"
check_ge "never-accept: surge of at least 100/s (backlog 100 + 1 children)" 100 \
	"$(f syn-recv .evidence.peak_per_s)"
check_ge "never-accept: clients still in SYN_SENT at the end" 20 "$(f syn-sent .evidence.pending)"
check "never-accept: their top endpoint is the listener" "127.0.0.1:$P" \
	"$(f syn-sent '.top[0] | "\(.raddr):\(.rport)"')"
replayed never-accept syn-rate=100
check "never-accept: replay finds the same ids" "$(q '[.findings[].id] | join(",")')" \
	"$(jq -r '[.findings[].id] | join(",")' "$TMP/never-accept.replay.json")"

# --- a server that never closes -------------------------------------------------------------
run never-close 12 close-wait=1s
check "never-close: close-wait finding, critical (12 held by one process)" critical \
	"$(f close-wait .severity)"
check "never-close: the leaking process is the server" "$DRV_PID python3 12" \
	"$(f close-wait '.top[0] | "\(.pid) \(.comm) \(.held)"')"
check "never-close: it holds them on the listening port" "$P" "$(f close-wait '.top[0].lport')"
check_ge "never-close: p50 CLOSE_WAIT age >= 1 s" 1000000000 "$(f close-wait .evidence.p50_ns)"
check "never-close: examples: 3, each held" "3 held" \
	"$(f close-wait '[.examples[].what] | "\(length) \(unique | join(","))"')"
replayed never-close close-wait=1s
check "never-close: replay finds the same" "$(f close-wait '"\(.severity) \(.top[0])"')" \
	"$(jq -r '.findings[] | select(.id == "close-wait") | "\(.severity) \(.top[0])"' \
		"$TMP/never-close.replay.json")"

# --- a burst of short connections: TIME_WAIT ------------------------------------------------
run burst 120
check "burst: the namespace's port range was read" "[40000,40199]" \
	"$(q '.host_facts.ip_local_port_range | tostring')"
check "burst: time-wait finding, warning (120 of 200 ports, 60%)" warning "$(f time-wait .severity)"
check "burst: 120 TIME_WAIT to the server at the end" "127.0.0.1:$P 120" \
	"$(f time-wait '.top[0] | "\(.raddr):\(.rport) \(.at_end)"')"
check "burst: share of the range" 600000 "$(f time-wait .evidence.endpoint_share_ppm)"
replayed burst
check "burst: the recording keeps the namespace's port range and tcp_max_tw_buckets" \
	"[40000,40199] $(ip netns exec "$NS" cat /proc/sys/net/ipv4/tcp_max_tw_buckets)" \
	"$(jq -r '"\(.host_facts.ip_local_port_range | tostring) \(.host_facts.tcp_max_tw_buckets)"' \
		"$TMP/burst.replay.json")"
check "burst: replay weighs TIME_WAIT against the recorded range, as live" \
	"$(f time-wait '"\(.severity) \(.evidence.endpoint_share_ppm) \(.evidence.port_range_size)"')" \
	"$(jq -r '.findings[] | select(.id == "time-wait") |
		"\(.severity) \(.evidence.endpoint_share_ppm) \(.evidence.port_range_size)"' \
		"$TMP/burst.replay.json")"
# A recording from before the host facts were written (checked in): the range is not known.
"$TD" doctor -j -i tests/data/doctor-burst.tdr --threshold tw-share=0.1 >"$TMP/old.json" 2>&1
check "older recording: the finding says the range is not known (default range)" \
	"warning 0 28232 null" "$(jq -r '(.host_facts.tcp_max_tw_buckets) as $b | .findings[] |
		select(.id == "time-wait") |
		"\(.severity) \(.evidence.port_range_known) \(.evidence.port_range_size) \($b)"' \
		"$TMP/old.json")"

# --- connections ended by RST ---------------------------------------------------------------
run rst 30
check "rst: rst finding, critical (every connection aborted)" critical "$(f rst .severity)"
check "rst: 60 of 60 ends (both sides) aborted" "60 60" \
	"$(f rst '"\(.evidence.aborted) \(.evidence.established)"')"

finish
