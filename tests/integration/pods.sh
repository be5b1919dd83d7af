#!/bin/bash
# Pods and containers named from the socket's cgroup: cgroup hierarchies laid out as the
# runtimes and the kubelet make them (a containerd container in a Burstable pod under the
# systemd driver, a container of a Guaranteed pod under the cgroupfs driver, a Docker
# container under systemd), a kubelet log directory laid out beside them (--pods-dir),
# and the two ends of a CLOSE_WAIT leak, podpeer's server and client, each moved into its own
# container before it makes a socket. Under `trace -j --wide -w` and `serve --by pod`:
# - every transition names its pod, container, short container id and cgroup path, the
#   client's TIME_WAIT too (a timewait socket has no cgroup: it keeps its full socket's);
# - the server's cgroup is removed while its sockets live on (the process moved out first,
#   as a runtime does when a container ends): their last transitions still name it;
# - --pod and --container select by name and by id prefix, in trace and on replay;
# - the recording replays with the names: timeline, stat --by pod and --by container, and
#   doctor, whose CLOSE_WAIT finding names the leaking pod and container;
# - the exporter labels its series with namespace, pod and container.
# Needs root and a writable cgroup2 mount. Usage: pods.sh [--keep].
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
ME=pods
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh
PP=$(realpath "$OUTPUT/tests/podpeer")
[ -x "$PP" ] || { echo "$ME: $PP missing: run make first" >&2; exit 1; }
# The cgroup2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host.
# shellcheck disable=SC2016 # awk's own $5
CG=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break; if ($(i + 1) == "cgroup2") { print $5; exit } }' \
	/proc/self/mountinfo)
if [ -z "$CG" ]; then
	echo "$ME: no cgroup2 mount" >&2
	exit 1
fi

ROOT=$CG/tdpods$$
UID_A=6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f UID_B=0b9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c
ID_A=$(sha256sum <<<"a$$" | cut -c1-64)
ID_B=$(sha256sum <<<"b$$" | cut -c1-64)
ID_D=$(sha256sum <<<"d$$" | cut -c1-64)
ID_E=$(sha256sum <<<"e$$" | cut -c1-64) UID_E=3c2b1a09-8f7e-4d6c-b5a4-392817161514
# A containerd container of a Burstable pod, systemd driver (the pod uid with '_' for '-').
CG_A=$ROOT/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_A//-/_}.slice/cri-containerd-$ID_A.scope
# A container of a Guaranteed pod (no QoS level), cgroupfs driver.
CG_B=$ROOT/kubepods/pod$UID_B/$ID_B
# A Docker container, systemd driver; and where a process goes when its container ends.
CG_D=$ROOT/system.slice/docker-$ID_D.scope
PARK=$ROOT/parking
# A BestEffort pod, cgroupfs driver.
CG_E=$ROOT/kubepods/besteffort/pod$UID_E/$ID_E
cleanup_cg() {
	local d
	# Leaves first; a cgroup with a process left in it stays (and says so).
	for d in $(find "$ROOT" -depth -type d 2>/dev/null); do
		if [ -s "$d/cgroup.procs" ]; then
			while read -r p; do echo "$p" >"$CG/cgroup.procs"; done <"$d/cgroup.procs"
		fi
		rmdir "$d" 2>/dev/null
	done
}
trap 'cleanup_cg; rm -rf "${LOG:-}"; cleanup' EXIT
if ! mkdir -p "$CG_A" "$CG_B" "$CG_D" "$CG_E" "$PARK"; then
	echo "$ME: cannot make cgroups under $CG" >&2
	exit 1
fi
# Readable by the user tcpdwell becomes once attached (nobody), as the kubelet's are (0755):
# outside $TMP, which is the owner's alone.
LOG=$(mktemp -d /tmp/tdwell-pods-log.XXXXXX) || exit 1
chmod 755 "$LOG"
mkdir -p "$LOG/pods/payments_checkout-7d9f_$UID_A/app" "$LOG/pods/shop_cart-5c4b_$UID_B/worker" \
	"$LOG/containers"
touch "$LOG/pods/payments_checkout-7d9f_$UID_A/app/0.log" "$LOG/pods/shop_cart-5c4b_$UID_B/worker/0.log"
ln -s "../pods/payments_checkout-7d9f_$UID_A/app/0.log" \
	"$LOG/containers/checkout-7d9f_payments_app-$ID_A.log"
ln -s "../pods/shop_cart-5c4b_$UID_B/worker/0.log" \
	"$LOG/containers/cart-5c4b_shop_worker-$ID_B.log"
REL_A=${CG_A#"$CG"} REL_B=${CG_B#"$CG"} REL_D=${CG_D#"$CG"} REL_E=${CG_E#"$CG"}

# in_cg CGROUP CMD...: CMD run in CGROUP from its first instruction, in place of the subshell
# in_cg must run in ("( in_cg ... )", or "in_cg ... &", whose $! is then CMD's pid).
in_cg() {
	local cg=$1
	shift
	exec sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# Connections to the server: from the Guaranteed pod's client, the Docker container's, and
# the third pod's, whose names the kubelet's logs give only after its first connections.
NB=25 ND=5 NE=3
NC=$((NB + ND + 2 * NE))
RUN=$TMP/run
LABEL=pods
next_port
PS=$P
next_port
PM=$P
start_tracer trace trace -j --wide --pods-dir "$LOG/pods" -w "$RUN.tdr" &&
	start_tracer text trace --wide --pods-dir "$LOG/pods" &&
	start_tracer serve serve --by pod --listen "127.0.0.1:$PM" \
		--pods-dir "$LOG/pods" --interval 100ms &&
	start_tracer held trace -j -w "$RUN.held.tdr" --pods-dir "$LOG/pods" || exit 1

in_cg "$CG_A" "$PP" server "$PS" "$NC" "$RUN.ready" "$RUN.gate" 2>"$RUN.server.err" &
SERVER=$!
BG+=("$SERVER")
wait_until 5 test -e "$RUN.ready" || not_ok "the server listens" "$(cat "$RUN.server.err")"
(in_cg "$CG_B" "$PP" client "$PS" "$NB") 2>"$RUN.client.err" ||
	not_ok "the pod's client connects" "$(cat "$RUN.client.err")"
(in_cg "$CG_D" "$PP" client "$PS" "$ND") 2>"$RUN.docker.err" ||
	not_ok "the Docker container's client connects" "$(cat "$RUN.docker.err")"
# A pod whose log directories appear after its first sockets (a pod just started): named by
# its uid and container id first, by its names on the records after the next walk, which
# comes at most once a second (CGROUPS_WALK_EVERY_NS) after the last one. Names are looked
# up as records are read, so the directories are made once the tracer has shown the first
# connections' records (up to FIN_WAIT2: the rest waits for the server's close).
(in_cg "$CG_E" "$PP" client "$PS" "$NE") 2>"$RUN.late.err" ||
	not_ok "the late pod's client connects" "$(cat "$RUN.late.err")"
late_shown() {
	[ "$(jq -c "select(.cgroup_path == \"$REL_E\" and .new == \"FIN_WAIT2\")" "$RUN.trace.json" |
		wc -l)" -ge "$NE" ]
}
wait_until 10 late_shown || not_ok "trace shows the late pod's first connections" \
	"$(jq -c "select(.cgroup_path == \"$REL_E\")" "$RUN.trace.json")"
mkdir -p "$LOG/pods/batch_report-x1_$UID_E/job"
ln -s "../pods/batch_report-x1_$UID_E/job/0.log" "$LOG/containers/report-x1_batch_job-$ID_E.log"
sleep 1.1
(in_cg "$CG_E" "$PP" client "$PS" "$NE") 2>>"$RUN.late.err" ||
	not_ok "the late pod's client connects again" "$(cat "$RUN.late.err")"
wait_until 10 test -e "$RUN.ready.held" || not_ok "the server holds $NC in CLOSE_WAIT" \
	"$(cat "$RUN.server.err")"
# A tracer started now finds the held sockets in the socket dump, their cgroup with them.
start_tracer seeded trace -j --pods-dir "$LOG/pods" || exit 1
# Held a while (doctor's CLOSE_WAIT threshold below is 100 ms), then the container ends while
# its sockets live on: its process moved out, its cgroup removed.
sleep 0.3
# A recording of the leak as it is: stopped while the server holds them.
kill -INT "$TRACER_held"
wait "$TRACER_held"
expect_eq "trace -w (the leak as it is) exits 0 on SIGINT" 0 $? "$(cat "$RUN.held.err")"
reaped "$TRACER_held"
TRACERS=(trace text serve seeded)
echo "$SERVER" >"$PARK/cgroup.procs"
if rmdir "$CG_A"; then ok "the server's container cgroup removed with its sockets open"; else
	not_ok "the server's container cgroup removed" "$(cat "$CG_A/cgroup.procs")"; fi
# A tracer started now meets sockets whose cgroup is gone (found at start, and their last
# records): it cannot name them, and shows them without names.
start_tracer gone trace -j -v --pods-dir "$LOG/pods" || exit 1
touch "$RUN.gate"
wait "$SERVER"
expect_eq "the server closed every socket" 0 $?
reaped "$SERVER"
# Every end's FIN_WAIT2 -> TIME_WAIT is in (the server closed last).
tw_seen() { [ "$(jq -c 'select(.new == "TIME_WAIT")' "$RUN.trace.json" | wc -l)" -ge "$NC" ]; }
wait_until 10 tw_seen
# The exporter publishes every 100 ms: wait for the publication with the last CLOSE_WAIT.
CW_SERIES="tcpdwell_state_dwell_seconds_count{state=\"close_wait\",namespace=\"payments\",pod=\"checkout-7d9f\"} $NC"
scraped() {
	curl -s --max-time 5 "http://127.0.0.1:$PM/metrics" >"$RUN.metrics" && grep -qF "$CW_SERIES" "$RUN.metrics"
}
wait_until 10 scraped
metrics=$(cat "$RUN.metrics")
stop_tracers

J=$RUN.trace.json
sel() { jq -c "select(.type == \"transition\") | $1" "$J"; }
SHORT_A=${ID_A:0:12} SHORT_B=${ID_B:0:12} SHORT_D=${ID_D:0:12}
expect_eq "server side: every transition in pod payments/checkout-7d9f, container app ($SHORT_A)" \
	"$((NC * 5 + 2)) 0" \
	"$(sel "select(.lport == $PS)" | wc -l) $(sel "select(.lport == $PS) |
		select(.pod != \"payments/checkout-7d9f\" or .container != \"app\" or
			.container_id != \"$SHORT_A\" or .cgroup_path != \"$REL_A\")" | wc -l)" \
	"$(sel "select(.lport == $PS)" | head -3)"
expect_eq "server side: after its cgroup was removed, CLOSE_WAIT -> LAST_ACK still names the pod" \
	"$NC" "$(sel "select(.lport == $PS and .old == \"CLOSE_WAIT\" and
		.pod == \"payments/checkout-7d9f\")" | wc -l)"
expect_eq "found at start (socket dump): the held sockets' CLOSE_WAIT -> LAST_ACK name the pod" \
	"$NC $NC" \
	"$(jq -c "select(.type == \"transition\" and .lport == $PS and .old == \"CLOSE_WAIT\")" \
		"$RUN.seeded.json" | wc -l) $(jq -c "select(.type == \"transition\" and .lport == $PS and
		.old == \"CLOSE_WAIT\" and .pod == \"payments/checkout-7d9f\" and .container == \"app\")" \
		"$RUN.seeded.json" | wc -l)" "$(head -c 2000 "$RUN.seeded.json")"
expect_eq "started after the cgroup was removed: its sockets' last transitions have no names" \
	"$NC 0" \
	"$(jq -c "select(.type == \"transition\" and .lport == $PS and .old == \"CLOSE_WAIT\")" \
		"$RUN.gone.json" | wc -l) $(jq -c "select(.type == \"transition\" and .lport == $PS and
		.cgroup_path != null)" "$RUN.gone.json" | wc -l)"
expect_eq "the pod's client: every transition in pod shop/cart-5c4b, container worker, TIME_WAIT too" \
	"$((NB * 5)) 0 $NB" \
	"$(sel "select(.rport == $PS and .cgroup_path == \"$REL_B\")" | wc -l) $(sel "select(.rport == $PS and
		.cgroup_path == \"$REL_B\") | select(.pod != \"shop/cart-5c4b\" or .container != \"worker\" or
			.container_id != \"$SHORT_B\")" | wc -l) $(sel "select(.rport == $PS and
		.pod == \"shop/cart-5c4b\" and .new == \"TIME_WAIT\")" | wc -l)" \
	"$(sel "select(.rport == $PS)" | head -3)"
expect_eq "the Docker client: its container id, no pod, no name" "$((ND * 5)) 0" \
	"$(sel "select(.cgroup_path == \"$REL_D\")" | wc -l) $(sel "select(.cgroup_path == \"$REL_D\") |
		select(.container_id != \"$SHORT_D\" or .pod != null or .container != null)" | wc -l)"
expect_eq "a pod named late: its first connections by uid and id, the later ones by name" \
	"$((NE * 4)) $((NE * 4))" \
	"$(sel "select(.cgroup_path == \"$REL_E\" and .pod == null and .container == null and
		.container_id == \"${ID_E:0:12}\" and .new != \"TIME_WAIT\")" | wc -l) $(sel "select(.cgroup_path == \"$REL_E\" and
		.pod == \"batch/report-x1\" and .container == \"job\" and .new != \"TIME_WAIT\")" | wc -l)" \
	"$(sel "select(.cgroup_path == \"$REL_E\")" | jq -c '{lport, old, new, pod, container}')"
expect_eq "the recording names it twice: by uid and id, then by name" " job" \
	"$("$OUTPUT/tests/tdrdump" "$RUN.tdr" | jq -r --arg p "$REL_E" 'select(.type == "cgroup" and .path == $p) | .container' | paste -sd ' ')"
expect_eq "trace --wide: the pod and container after each line" "$((NC * 5 + 2)) $((ND * 5))" \
	"$(grep -c "  pod payments/checkout-7d9f  container app ($SHORT_A)$" "$RUN.text.json") $(grep -c "  container $SHORT_D$" "$RUN.text.json")" \
	"$(head -3 "$RUN.text.json")"

# Filters, on replay of the recording (which carries the names).
"$TD" trace -j -i "$RUN.tdr" --pod shop/cart-5c4b >"$RUN.f1.json" 2>"$RUN.f1.err"
expect_eq "trace -i --pod shop/cart-5c4b: the pod's client alone" "$((NB * 5)) 0" \
	"$(jq -c 'select(.type == "transition")' "$RUN.f1.json" | wc -l) $(jq -c 'select(.type == "transition" and .pod != "shop/cart-5c4b")' "$RUN.f1.json" | wc -l)" \
	"$(cat "$RUN.f1.err")"
"$TD" trace -j -i "$RUN.tdr" --pod payments/ >"$RUN.f2.json" 2>"$RUN.f2.err"
expect_eq "trace -i --pod payments/: the namespace's pods" "$((NC * 5 + 2))" \
	"$(jq -c 'select(.type == "transition" and .pod == "payments/checkout-7d9f")' "$RUN.f2.json" | wc -l)"
"$TD" trace -j -i "$RUN.tdr" --container "${ID_D:0:8}" >"$RUN.f3.json" 2>"$RUN.f3.err"
expect_eq "trace -i --container ID-PREFIX: the Docker container alone" "$((ND * 5)) $((ND * 5))" \
	"$(jq -c 'select(.type == "transition")' "$RUN.f3.json" | wc -l) $(jq -c "select(.container_id == \"$SHORT_D\")" "$RUN.f3.json" | wc -l)"
"$TD" trace -j -i "$RUN.tdr" --container app >"$RUN.f4.json" 2>"$RUN.f4.err"
expect_eq "trace -i --container app: by name" "$((NC * 5 + 2))" \
	"$(jq -c 'select(.type == "transition" and .container == "app")' "$RUN.f4.json" | wc -l)"
"$TD" trace -j -i "$RUN.tdr" >"$RUN.replay.json" 2>/dev/null
expect_eq "trace -i: the recording replays the names byte for byte" \
	"$(jq -c 'select(.type == "transition")' "$J" | md5sum)" \
	"$(jq -c 'select(.type == "transition")' "$RUN.replay.json" | md5sum)"

"$TD" timeline -j -i "$RUN.tdr" >"$RUN.tl.json" 2>"$RUN.tl.err"
# The server's connections and its listener ended; the clients' are in TIME_WAIT still.
expect_eq "timeline -i: each finished connection's pod and container" "$((NC + 1)) 0" \
	"$(jq -c "select(.type == \"timeline\" and .lport == $PS)" "$RUN.tl.json" | wc -l) $(jq -c "select(.type == \"timeline\" and .lport == $PS) |
		select(.pod != \"payments/checkout-7d9f\" or .container != \"app\")" "$RUN.tl.json" | wc -l)" \
	"$(cat "$RUN.tl.err")"
"$TD" stat -i "$RUN.tdr" --by pod -j >"$RUN.st.json" 2>"$RUN.st.err"
expect_eq "stat -i --by pod: CLOSE_WAIT of the leaking pod, TIME_WAIT of none (it had not ended)" \
	"$NC" "$(jq -r 'select(.state == "CLOSE_WAIT" and .pod == "payments/checkout-7d9f") | .count' "$RUN.st.json")" \
	"$(cat "$RUN.st.json" "$RUN.st.err")"
"$TD" stat -i "$RUN.tdr" --by container >"$RUN.st.txt" 2>&1
# (Other keys are the host's own traffic, the scrape above among it: cgroup paths.)
expect_eq "stat -i --by container (text): namespace/pod/container keys, a short id without a name" \
	"$(printf '%s\n' "$SHORT_D" batch/report-x1/job payments/checkout-7d9f/app shop/cart-5c4b/worker |
		LC_ALL=C sort | paste -sd ' ')" \
	"$(awk -v d="$SHORT_D" 'NR > 1 && $2 == "ESTABLISHED" && ($1 ~ /^[a-z]+\// || $1 == d) { print $1 }' \
		"$RUN.st.txt" | LC_ALL=C sort | paste -sd ' ')" "$(cat "$RUN.st.txt")"
# Each finding on this run's connections alone: the host's TIME_WAIT sockets found at start
# (earlier runs' among them) would fill the top offenders.
"$TD" doctor -j -i "$RUN.tdr" -L "$PS" --threshold close-wait=100ms \
	>"$RUN.dr.json" 2>"$RUN.dr.err"
f=$(jq -c '.findings[] | select(.id == "close-wait")' "$RUN.dr.json")
expect_eq "doctor -i: the sockets closed late, by pod and container" "payments/checkout-7d9f app $NC" \
	"$(jq -r '.top[0] | "\(.pod) \(.container) \(.closed_late)"' <<<"$f")" \
	"$(cat "$RUN.dr.json" "$RUN.dr.err")"
"$TD" doctor -i "$RUN.held.tdr" -L "$PS" --threshold close-wait=100ms >"$RUN.drh.txt" 2>&1
expect_match "doctor -i (the leak as it was): the CLOSE_WAIT leak names its pod and container" \
	".*CLOSE_WAIT leak: pid $SERVER \(podpeer\) in pod payments/checkout-7d9f, container app holds $NC peer-closed sockets open.*" \
	"$(cat "$RUN.drh.txt")"

"$TD" doctor -j -i "$RUN.tdr" -R "$PS" --threshold tw-share=0.01,min-conns=1 \
	>"$RUN.drt.json" 2>"$RUN.drt.err"
f=$(jq -c '.findings[] | select(.id == "time-wait")' "$RUN.drt.json")
# One group per pod (and container) to the same endpoint: who uses its ephemeral ports up.
expect_eq "doctor -i: TIME_WAIT to the server's port, by the client's pod and container" \
	"127.0.0.1:$PS shop/cart-5c4b worker $NB; 127.0.0.1:$PS batch/report-x1 job $((2 * NE)); 127.0.0.1:$PS null $SHORT_D $ND" \
	"$(jq -r '.top[] | "\(.raddr):\(.rport) \(.pod) \(.container) \(.peak)"' <<<"$f" | paste -sd ';' | sed 's/;/; /g')" "$f"

# The exporter: the leaking pod's CLOSE_WAIT dwell, labelled.
expect_eq "serve --by pod: CLOSE_WAIT dwell of payments/checkout-7d9f" 1 \
	"$(grep -cxF "$CW_SERIES" <<<"$metrics")" "$(grep 'pod=' <<<"$metrics" | head -20)"
expect_match "serve --by pod: the pod's client, labelled" \
	".*namespace=\"shop\",pod=\"cart-5c4b\".*" "$metrics"

echo "pods: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
