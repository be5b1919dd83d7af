#!/bin/bash
# Kernel paths: the same real connections traced through each path tcpdwell can take (tp_btf
# with the ring buffer, the classic tracepoints, the perf buffer), in network namespaces of the
# test's own. Per path:
#  - --cgroup: tests/integration/twend makes one client socket inside a fresh cgroup v2
#    directory and one outside; `trace -C` and `timeline -C` must show the inside client's
#    connection only, all of it (CLOSE>SYN_SENT .. TIME_WAIT>CLOSE), and nothing of the other
#    sockets (the listener and the accepted socket are outside too);
#  - a TIME_WAIT killed by an RST (crafted on a raw socket with the right sequence number): the
#    TIME_WAIT>CLOSE record and the timeline say end "reset";
#  - a TIME_WAIT torn down by netns exit (ip netns del): end "killed";
#  - an accept() that comes before anything else the tracer sees of its socket (connected
#    before tracing began, --no-seed): with -L its port must select it, and its owner must name
#    the ESTABLISHED>CLOSE_WAIT that the peer's close then makes in softirq.
# And once: the accept() programs are loaded by the commands that show or select owners, and
# not by plain stat and serve.
# Needs root. Usage: kernel_paths.sh [--keep]; OUTPUT=build by default.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
ME=kernel_paths
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh
TWEND=$OUTPUT/tests/twend
CWHOLD=$OUTPUT/tests/cwhold
for b in "$TWEND" "$CWHOLD"; do
	[ -x "$b" ] || { echo "$ME: $b missing: run make first" >&2; exit 1; }
done

NSES=()
CGDIR=
CGMOUNT=
kp_cleanup() {
	local ns
	for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
	[ -n "$CGDIR" ] && rmdir "$CGDIR" 2>/dev/null
	[ -n "$CGMOUNT" ] && umount "$CGMOUNT" 2>/dev/null && rmdir "$CGMOUNT"
	cleanup
}
trap kp_cleanup EXIT

# A network namespace of our own, lo up; sets NS and NSINO (its inode, as tcpdwell reports).
new_netns() {
	NS=tdkp-$$-$RANDOM
	ip netns add "$NS" || return 1
	NSES+=("$NS")
	ip -n "$NS" link set lo up || return 1
	NSINO=$(stat -L -c %i "/run/netns/$NS")
}

# The cgroup v2 hierarchy, mounted here: `ip netns exec` mounts a sysfs of the namespace on
# /sys, where the host's mount under /sys/fs/cgroup is not.
CGMOUNT=$TMP/cgroup2
mkdir -p "$CGMOUNT" && mount -t cgroup2 none "$CGMOUNT" || {
	echo "$ME: cannot mount the cgroup v2 hierarchy" >&2
	exit 1
}
CGROOT=$CGMOUNT
CGDIR=$CGROOT/tdwell-kp.$$
mkdir "$CGDIR" || { echo "$ME: cannot make $CGDIR" >&2; exit 1; }
CGID=$(stat -c %i "$CGDIR")

# trans FILE NETNS LPORT: "OLD>NEW[:END]" of the client connection from LPORT in that netns
# (its CLOSE>SYN_SENT, reported with lport 0, by the key of its later records: the cookie, or
# on the classic path tuple and order, as tdlib.sh's keyed gives them).
trans() {
	grep -F '"type":"transition"' "$1" | awk "$AWK_KEYED" | jq -R -r -s --argjson n "$2" \
		--argjson l "$3" '[split("\n")[] | fromjson? | select(.netns == $n)] as $rs |
		[$rs[] | select(.lport == $l) | .cookie] as $ck |
		$rs[] | select(.cookie as $c | $ck | index($c)) |
		"\(.old)>\(.new)" + (if .end then ":\(.end)" else "" end)' | paste -sd' '
}
# tw_end FILE NETNS LPORT: the end of that client's TIME_WAIT, once reported.
tw_end() {
	jq -R -r --argjson n "$2" --argjson l "$3" 'fromjson? | select(.type == "transition" and
		.netns == $n and .lport == $l and .old == "TIME_WAIT") | .end' "$1" | head -1
}
CLIENT_LIFE='CLOSE>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>TIME_WAIT'

all_ended() {
	[ -n "$(tw_end "$RUN.all.json" "$NSINO" "$IN_CP")" ] &&
		[ -n "$(tw_end "$RUN.all.json" "$NSINO" "$OUT_CP")" ] &&
		[ -n "$(tw_end "$RUN.all.json" "$NS2INO" "$GONE_CP")" ] &&
		[ -n "$(tw_end "$RUN.cg.json" "$NSINO" "$IN_CP")" ] &&
		[ -n "$(timelines "$RUN.cgtl.json" 4 "$IN_CP" "$IN_P")" ]
}
tw_entered() {
	[ -n "$(jq -R -r --argjson n "$NS2INO" --argjson l "$GONE_CP" 'fromjson? | select(.type ==
		"transition" and .netns == $n and .lport == $l and .new == "TIME_WAIT")' \
		"$RUN.all.json")" ]
}

acc_made() {
	ip netns exec "$NS" ss -Htn state established "dport = :$ACC_P" | grep -q .
}
acc_closed() {
	grep -F '"type":"transition"' "$RUN.acc.json" | grep -qF '"old":"CLOSE_WAIT"'
}

# path NAME TCPDWELL_ARGS...: one pass over every test through that kernel path.
path() {
	local name=$1 tl got others lost acc_pid spid
	shift
	LABEL=$name
	RUN=$TMP/$name
	TRACERS=()
	new_netns || { not_ok "$LABEL: make a network namespace"; return; }
	local ns1=$NS
	NSINO1=$NSINO
	new_netns || { not_ok "$LABEL: make a second network namespace"; return; }
	NS2=$NS
	NS2INO=$NSINO
	NS=$ns1
	NSINO=$NSINO1

	# The accept() first: cwhold connects, then waits for the gate file to accept.
	next_port
	ACC_P=$P
	ip netns exec "$NS" "$CWHOLD" "$ACC_P" 1 200 "$RUN.gate" >"$RUN.acc.out" 2>&1 &
	acc_pid=$!
	BG+=("$acc_pid")
	wait_until 10 acc_made ||
		not_ok "$LABEL: cwhold's connection established within 10 s" "$(cat "$RUN.acc.out")"
	start_tracer acc trace -j --no-seed -N "$NSINO" -L "$ACC_P" "$@" || return
	touch "$RUN.gate"
	wait_until 10 acc_closed
	if wait "$acc_pid"; then ok "$LABEL: cwhold accepted after the tracer started"; else
		not_ok "$LABEL: cwhold accepted after the tracer started" "$(cat "$RUN.acc.out")"; fi

	start_tracer all trace -j "$@" || return
	start_tracer cg trace -j -C "$CGDIR" "$@" || { stop_tracers; return; }
	start_tracer cgtl timeline -j -C "$CGDIR" "$@" || { stop_tracers; return; }

	next_port
	IN_P=$P
	ip netns exec "$NS" "$TWEND" -C "$CGDIR" "$CGROOT" "$IN_P" rst >"$RUN.in" 2>&1 ||
		not_ok "$LABEL: twend in the cgroup" "$(cat "$RUN.in")"
	next_port
	OUT_P=$P
	ip netns exec "$NS" "$TWEND" "$OUT_P" rst >"$RUN.out" 2>&1 ||
		not_ok "$LABEL: twend outside the cgroup" "$(cat "$RUN.out")"
	next_port
	GONE_P=$P
	ip netns exec "$NS2" "$TWEND" "$GONE_P" stay >"$RUN.gone" 2>&1 ||
		not_ok "$LABEL: twend in the namespace to delete" "$(cat "$RUN.gone")"
	IN_CP=$(jq -r .lport "$RUN.in" 2>/dev/null)
	OUT_CP=$(jq -r .lport "$RUN.out" 2>/dev/null)
	GONE_CP=$(jq -r .lport "$RUN.gone" 2>/dev/null)
	: "${IN_CP:=0}" "${OUT_CP:=0}" "${GONE_CP:=0}"
	# Delete the namespace once its TIME_WAIT is in view; the kernel then purges it.
	wait_until 10 tw_entered
	ip netns del "$NS2"
	wait_until 20 all_ended
	stop_tracers
	ip netns del "$NS"

	spid=$(head -1 "$RUN.acc.out" | jq -r .server_pid 2>/dev/null)
	expect_eq "$LABEL: -L, accept() first: the owner of its ESTABLISHED>CLOSE_WAIT" \
		"${spid:-?} cwhold" "$(jq -R -r --argjson p "$ACC_P" 'fromjson? | select(.type ==
			"transition" and .lport == $p and .new == "CLOSE_WAIT") | "\(.pid) \(.comm)"' \
			"$RUN.acc.json")" "$(cat "$RUN.acc.json")"
	expect_eq "$LABEL: unfiltered: inside client, RST in TIME_WAIT: end reset" \
		"$CLIENT_LIFE TIME_WAIT>CLOSE:reset" "$(trans "$RUN.all.json" "$NSINO" "$IN_CP")" \
		"$(port_records "$RUN.all.json" "$IN_P")"
	expect_eq "$LABEL: unfiltered: outside client, RST in TIME_WAIT: end reset" \
		"$CLIENT_LIFE TIME_WAIT>CLOSE:reset" "$(trans "$RUN.all.json" "$NSINO" "$OUT_CP")" \
		"$(port_records "$RUN.all.json" "$OUT_P")"
	expect_range "$LABEL: TIME_WAIT ended by the RST within 1 s (ns)" 0 1000000000 \
		"$(jq -R -r --argjson n "$NSINO" --argjson l "$IN_CP" 'fromjson? | select(.type ==
			"transition" and .netns == $n and .lport == $l and .old == "TIME_WAIT") |
			.dwell_ns' "$RUN.all.json" | head -1)"
	expect_eq "$LABEL: unfiltered: netns deleted in TIME_WAIT: end killed" \
		"$CLIENT_LIFE TIME_WAIT>CLOSE:killed" "$(trans "$RUN.all.json" "$NS2INO" "$GONE_CP")" \
		"$(port_records "$RUN.all.json" "$GONE_P")"
	expect_eq "$LABEL: unfiltered: the inside client's records carry the cgroup's id" \
		"$CGID" "$(jq -R -r --argjson n "$NSINO" --argjson l "$IN_CP" 'fromjson? | select(
			.type == "transition" and .netns == $n and .lport == $l) | .cgroup' \
			"$RUN.all.json" | sort -u | paste -sd' ')"

	expect_eq "$LABEL: -C: the inside client's whole connection" \
		"$CLIENT_LIFE TIME_WAIT>CLOSE:reset" "$(trans "$RUN.cg.json" "$NSINO" "$IN_CP")" \
		"$(port_records "$RUN.cg.json" "$IN_P")"
	others=$(jq -R -c --argjson n "$NSINO" --argjson l "$IN_CP" --argjson p "$IN_P" 'fromjson? |
		select(.type == "transition" and .rport != $p) | {netns, lport, rport, old, new,
		cgroup, end: .end}' "$RUN.cg.json")
	expect_eq "$LABEL: -C: nothing else (no listener, accepted socket, other cgroup)" "" \
		"$others" "$(jq -R -c --argjson p "$IN_P" 'fromjson? | select(.type ==
			"transition" and .lport == $p)' "$RUN.cg.json")"
	expect_eq "$LABEL: -C: every record of it has the cgroup's id" "$CGID" \
		"$(jq -R -r 'fromjson? | select(.type == "transition") | .cgroup' "$RUN.cg.json" |
			sort -u | paste -sd' ')"
	tl=$(jq -R -r 'fromjson? | select(.type == "timeline") |
		"\(.lport)>\(.rport) \(.role) \([.states[].state] | join(" ")) end=\(.end)"' \
		"$RUN.cgtl.json")
	expect_eq "$LABEL: -C timeline: the inside client's only, TIME_WAIT included" \
		"$IN_CP>$IN_P active SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT end=reset" "$tl"
	# Complete, unless the tracer reported lost records: then every live connection may have
	# missed one and is marked incomplete (a run the kernel skipped that the catcher could not
	# record either: both busy on the same CPU).
	got=$(timelines "$RUN.cgtl.json" 4 "$IN_CP" "$IN_P" | jq -r .complete)
	lost=$(jq -R -c 'fromjson? | select(.type == "lost" and .ringbuf + .recursion > 0)' \
		"$RUN.cgtl.json" | tail -1)
	[ -n "$lost" ] && [ "$got" = false ] && got="true (or false after $lost)"
	expect_eq "$LABEL: -C timeline is complete" true "${got%% (*}" "${lost:-no loss reported}"
}

# progs_of PID: the names of the BPF programs that process holds, sorted, on one line.
progs_of() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd")" = anon_inode:bpf-prog ] || continue
		bpftool prog show id "$(awk '$1 == "prog_id:" { print $2 }' \
			"/proc/$1/fdinfo/${fd##*/}")" -j | jq -r .name
	done | sort | paste -sd' '
}

owner_programs() {
	local c cmd want have got
	LABEL=owners
	RUN=$TMP/owners
	have=$("$TD" check 2>&1 | sed -n 's/^accept tracepoints: *\([a-z]*\).*/\1/p')
	next_port
	for c in "stat|no" "stat --by comm|yes" "stat -c cwhold|yes" "stat -w $RUN.td|yes" \
		"serve --listen 127.0.0.1:$P|no" "serve -p 1 --listen 127.0.0.1:$P|yes" "trace -j|yes" \
		"doctor|yes"; do
		cmd=${c%|*}
		want=${c#*|}
		[ "$have" = yes ] || want=no
		TRACERS=()
		# shellcheck disable=SC2086 # the command's words
		start_tracer o $cmd --no-seed || continue
		got=$(progs_of "$TRACER_o")
		expect_eq "owners: tcpdwell $cmd loads the accept programs: $want" "$want" \
			"$(grep -qw td_accept4 <<<"$got" && echo yes || echo no)" "programs: $got"
		stop_tracers
	done
}

# When tp_btf does not load, the classic tracepoints are tried from the full choice again: the
# accept programs and the slot rings that the tp_btf attempts gave up on the way down are
# loaded (TCPDWELL_TEST_NO_TP_BTF=1 fails every tp_btf load, as a kernel without it would).
fallback() {
	local have out got
	LABEL=fallback
	RUN=$TMP/fallback
	TRACERS=()
	have=$("$TD" check 2>&1 | sed -n 's/^accept tracepoints: *\([a-z]*\).*/\1/p')
	out=$(TCPDWELL_TEST_NO_TP_BTF=1 "$TD" check 2>&1)
	expect_eq "fallback: check will use the tracepoint backend with accept owners $have" \
		"tracepoint backend, slots buffer, accept owners $have" \
		"$(sed -n 's/^will use: *\([a-z]* backend, [a-z]* buffer\),.*\(accept owners [a-z]*\).*/\1, \2/p' <<<"$out")" \
		"$out"
	export TCPDWELL_TEST_NO_TP_BTF=1
	start_tracer f trace -j --no-seed
	unset TCPDWELL_TEST_NO_TP_BTF
	[ -n "${TRACER_f:-}" ] || return
	got=$(progs_of "$TRACER_f")
	expect_eq "fallback: trace loads the classic state program and the accept programs" \
		"td_state_tp yes" \
		"$(grep -ow td_state_tp <<<"$got") $(grep -qw td_accept4 <<<"$got" && echo yes || echo no)" \
		"programs: $got"
	expect_match "fallback: the start line says tracepoint, slots, accept owners" \
		".*\(tracepoint, slots buffer, TIME_WAIT, accept owners\)\. Ctrl-C to end\." \
		"$(cat "$RUN.f.err")"
	stop_tracers
}

# `tcpdwell check` says what this kernel has; each line must agree with what really happens.
check_lines() {
	local out tp ck tf tb ev d
	out=$("$TD" check 2>&1)
	LABEL=check
	tp=$(sed -n 's/^tp_btf programs: *\([a-z]*\).*/\1/p' <<<"$out")
	ck=$(sed -n 's/^socket cookie helper: *\([a-z]*\).*/\1/p' <<<"$out")
	tf=$(sed -n 's/^timer tracepoints: *tp_btf [a-z]*, tracefs \([a-z]*\).*/\1/p' <<<"$out")
	expect_eq "check: tp_btf line agrees with a tp_btf trace starting" \
		"$(timeout 30 "$TD" trace --backend tp_btf --no-seed -d 100ms >/dev/null 2>&1 && echo yes ||
			echo no)" "$tp" "$out"
	expect_eq "check: cookie helper line agrees with the path it will use" \
		"$(grep -q 'cookie from the helper' <<<"$out" && echo yes || echo no)" "$ck" "$out"
	ev=no
	for d in /sys/kernel/tracing/events /sys/kernel/debug/tracing/events; do
		[ -e "$d/timer/timer_start" ] && [ -e "$d/timer/timer_cancel" ] && ev=yes
	done
	expect_eq "check: timer tracepoints line agrees with tracefs" "$ev" "$tf" "$out"
	tb=$(sed -n 's/^timer tracepoints: *tp_btf \([a-z]*\),.*/\1/p' <<<"$out")
	ev=no
	if command -v bpftool >/dev/null; then
		[ "$(bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null |
			grep -cE "TYPEDEF 'btf_trace_timer_(start|cancel)'")" = 2 ] && ev=yes
		expect_eq "check: timer tracepoints tp_btf agrees with the kernel's BTF" "$ev" "$tb" \
			"$out"
	fi
}
# --no-timewait: no timer program is loaded, and TIME_WAIT shows as the kernel reports it: the
# client's FIN_WAIT2>CLOSE (the socket handed to its timewait socket), and a timeline that ends
# in FIN_WAIT2, complete.
nt_closed() {
	[ -n "$(timelines "$RUN.ntl.json" 4 "$NT_CP" "$NT_P")" ]
}
no_timewait() {
	local got tl
	LABEL=no-timewait
	RUN=$TMP/no-timewait
	TRACERS=()
	new_netns || { not_ok "$LABEL: make a network namespace"; return; }
	start_tracer nt trace -j -N "$NSINO" --no-timewait || return
	start_tracer ntl timeline -j -N "$NSINO" --no-timewait || { stop_tracers; return; }
	got="$(progs_of "$TRACER_nt") / $(progs_of "$TRACER_ntl")"
	expect_eq "$LABEL: no timer program loaded" "" "$(grep -o 'td_tw[a-z_]*' <<<"$got")" \
		"programs: $got"
	expect_eq "$LABEL: the start line says no TIME_WAIT" "yes" \
		"$(grep -q ', no TIME_WAIT' "$RUN.nt.err" && echo yes || echo no)" "$(cat "$RUN.nt.err")"
	next_port
	NT_P=$P
	ip netns exec "$NS" "$TWEND" "$NT_P" stay >"$RUN.tw" 2>&1 ||
		not_ok "$LABEL: twend" "$(cat "$RUN.tw")"
	NT_CP=$(jq -r .lport "$RUN.tw" 2>/dev/null)
	: "${NT_CP:=0}"
	wait_until 10 nt_closed
	stop_tracers
	expect_eq "$LABEL: the client's life ends FIN_WAIT2>CLOSE" \
		"${CLIENT_LIFE% *} FIN_WAIT2>CLOSE" "$(trans "$RUN.nt.json" "$NSINO" "$NT_CP")" \
		"$(port_records "$RUN.nt.json" "$NT_P")"
	tl=$(timelines "$RUN.ntl.json" 4 "$NT_CP" "$NT_P" |
		jq -r '"\([.states[].state] | join(" ")) complete=\(.complete)"')
	expect_eq "$LABEL: the timeline ends in FIN_WAIT2" \
		"SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 complete=true" "$tl"
	ip netns del "$NS"
}

check_lines
owner_programs
no_timewait
fallback

path tp_btf --backend tp_btf
path tracepoint --backend tracepoint
path ring --buffer ring
path perf --buffer perf

echo "$ME: $((N - FAILED)) passed, $FAILED failed"
[ $FAILED = 0 ]
