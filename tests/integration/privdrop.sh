#!/bin/bash
# tcpdwell's privilege drop as the kernel shows it. Every command (trace, timeline, stat, top on
# a tmux terminal and without one, record, doctor, serve), started as root with the default user
# (nobody) and with --user 12345:12345: once tracing, every thread of the process
# (/proc/PID/task/*/status) has that uid and gid (real, effective, saved, filesystem), no
# supplementary groups, no capability in any set (effective, permitted, inheritable, ambient,
# bounding) and no_new_privs; serve's HTTP thread included, and it still answers. The same with
# the DaemonSet's and the unit's grants read from deploy/, and where no user nobody exists
# (65534:65534, said with -v). Replay (-i)
# opens a root-only recording, drops, and only then maps it (strace shows the order). A drop
# that cannot happen (an unknown --user, no CAP_SETUID or CAP_SETGID) is fatal: exit 1, one line.
# With --user the loss counters are still read: a `lost` record under forced loss. And the
# kernel fact the later sock_diag work relies on: a netlink inet_diag dump as that user sees
# every TCP socket of its namespace. Needs root, setpriv, tmux, strace, ss.
# Usage: privdrop.sh [--keep]; OUTPUT=build by default.
# (SC2317: the conditions handed to wait_until are called from there; SC2154: set by tdlib.sh;
# SC2016: awk and jq programs in single quotes.)
# shellcheck disable=SC2317,SC2154,SC2016
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1 # read by tdlib.sh's cleanup
ME=privdrop
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh
STORM=$OUTPUT/storm
[ -x "$STORM" ] || { echo "$ME: $STORM missing: run make integration" >&2; exit 1; }
for c in setpriv tmux strace ss ip; do
	command -v $c >/dev/null || { echo "$ME: $c missing (make deps)" >&2; exit 1; }
done

NS=td-$ME-$$
SOCK=tdwell-$ME-$$ # a tmux server of our own
end_all() {
	tmux -L "$SOCK" kill-server 2>/dev/null
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	cleanup
}
trap end_all EXIT
if ! ip netns add "$NS" || ! ip netns exec "$NS" ip link set lo up; then
	echo "$ME: cannot create a network namespace" >&2
	exit 1
fi
INO=$(stat -L -c %i "/run/netns/$NS")
in_ns() { ip netns exec "$NS" "$@"; }

# The default user: nobody if this host names one, else the fallback ids.
if getent passwd nobody >/dev/null; then
	NOBODY_UID=$(getent passwd nobody | cut -d: -f3)
	NOBODY_GID=$(getent passwd nobody | cut -d: -f4)
else
	NOBODY_UID=65534 NOBODY_GID=65534
fi

# creds PID: one line per thread of PID, its ids, groups, capability sets and no_new_privs.
creds() {
	local t
	for t in /proc/"$1"/task/*; do
		awk '$1 ~ /^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):$/ {
			printf "%s", $1; for (i = 2; i <= NF; i++) printf " %s", $i; printf ";" }
			END { print "" }' "$t/status"
	done
}
# want_creds UID GID [BOUNDING]: the line creds prints for a thread that dropped everything to
# UID:GID (its bounding set BOUNDING, empty by default).
want_creds() {
	printf 'Uid: %s %s %s %s;Gid: %s %s %s %s;Groups:;CapInh: %s;CapPrm: %s;CapEff: %s;' \
		"$1" "$1" "$1" "$1" "$2" "$2" "$2" "$2" 0000000000000000 0000000000000000 \
		0000000000000000
	printf 'CapBnd: %s;CapAmb: %s;NoNewPrivs: 1;\n' "${3:-0000000000000000}" 0000000000000000
}
# expect_creds TAG PID UID GID MIN_THREADS [BOUNDING]: every thread dropped to UID:GID, and at
# least MIN_THREADS of them.
expect_creds() {
	local got n bad
	got=$(creds "$2")
	n=$(grep -c . <<<"$got")
	bad=$(grep -vxF "$(want_creds "$3" "$4" "${6:-}")" <<<"$got")
	if [ -z "$bad" ] && [ "$n" -ge "$5" ]; then
		ok "$1: $n threads, each uid $3 gid $4, no groups, no capabilities, no_new_privs"
	else
		not_ok "$1: every thread dropped to $3:$4 (at least $5 threads)" \
			"want: $(want_creds "$3" "$4" "${6:-}")" "got ($n threads):" "$got"
	fi
}

# expect_private TAG PID UID GID: another process of the same user cannot open tcpdwell's
# /proc/PID/fd (not dumpable: no ptrace either), where its BPF descriptors are.
expect_private() {
	local out
	if out=$(setpriv --reuid="$3" --regid="$4" --clear-groups --inh-caps=-all \
		--bounding-set=-all ls "/proc/$2/fd" 2>&1); then
		not_ok "$1: the same user cannot open /proc/PID/fd" "$out"
	else
		ok "$1: the same user cannot open /proc/PID/fd"
	fi
}
# run_bg NAME ARGS...: tcpdwell ARGS in the background (stdout $RUN.NAME.out, stderr
# $RUN.NAME.err), under the command in WRAP if set (setpriv: it execs, so PID is tcpdwell's);
# sets PID; 1 unless it says it is tracing or recording within 10 s.
WRAP=()
run_bg() {
	local name=$1
	shift
	: >"$RUN.$name.out"
	: >"$RUN.$name.err"
	"${WRAP[@]}" "$TD" "$@" >"$RUN.$name.out" 2>"$RUN.$name.err" &
	PID=$!
	BG+=("$PID")
	if ! wait_until 10 grep -qs "TCP state changes" "$RUN.$name.err"; then
		not_ok "$name: starts within 10 s" "stderr: $(cat "$RUN.$name.err")"
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
		reaped "$PID"
		return 1
	fi
}
# stop_bg NAME: SIGINT, then exit 0 within 10 s.
stop_bg() {
	local rc
	kill -INT "$PID" 2>/dev/null
	if wait_until 10 eval "! kill -0 $PID 2>/dev/null"; then
		wait "$PID"
		rc=$?
	else
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
		rc=timeout
	fi
	reaped "$PID"
	expect_eq "$1: exit 0 on SIGINT" 0 "$rc" "$(cat "$RUN.$1.err")"
}

# ================================================================================================
# Live commands, as root: the default user and --user 12345:12345.
# ================================================================================================
RUN=$TMP/live
next_port
SERVE_PORT=$P
for who in default user; do
	if [ $who = default ]; then
		U=$NOBODY_UID G=$NOBODY_GID extra=()
	else
		U=12345 G=12345 extra=(--user 12345:12345)
	fi
	for cmd in "trace -j" "timeline -j" "stat -j" "top" "record -o $TMP/rec-$who.td" \
		"doctor -j" "serve --listen 127.0.0.1:$SERVE_PORT"; do
		name="${cmd%% *}-$who"
		read -r -a args <<<"$cmd"
		seed=(--no-seed)
		# One command with the socket dump: the drop comes after it.
		[ "${args[0]}" = serve ] && seed=()
		run_bg "$name" "${args[@]}" -N "$INO" "${seed[@]}" "${extra[@]}" || continue
		threads=1
		[ "${args[0]}" = serve ] && threads=2 # main and the HTTP thread
		expect_creds "$name" "$PID" "$U" "$G" "$threads"
		[ "${args[0]}" = trace ] && expect_private "$name" "$PID" "$U" "$G"
		if [ "${args[0]}" = serve ]; then
			expect_match "$name: the HTTP thread serves as the dropped user" \
				'.*tcpdwell_lost_records_total\{reason="ringbuf"\} 0.*' \
				"$(curl -s --max-time 5 "http://127.0.0.1:$SERVE_PORT/metrics" |
					tr '\n' ' ')"
		fi
		stop_bg "$name"
	done
done
expect_eq "record: the recording is made by root before the drop (owner)" "0 0" \
	"$(stat -c '%u %g' "$TMP/rec-user.td")"

# top on a terminal (ncurses set up before the drop), in a tmux pane: the pane's process.
tmux -L "$SOCK" -f /dev/null new-session -d -x 120 -y 40 \
	"exec $TD top -N $INO --no-seed --user 12345:12345 2>$RUN.toptty.err"
tpid=$(tmux -L "$SOCK" list-panes -F '#{pane_pid}' | head -1)
if wait_until 10 grep -qs "TCP state changes" "$RUN.toptty.err" ||
	wait_until 10 eval "tmux -L $SOCK capture-pane -p | grep -q STATE"; then
	expect_creds "top on a terminal" "$tpid" 12345 12345 1
else
	not_ok "top on a terminal: starts within 10 s" "$(tmux -L "$SOCK" capture-pane -p)"
fi
tmux -L "$SOCK" send-keys q
if wait_until 10 eval "! kill -0 $tpid 2>/dev/null"; then
	ok "top on a terminal: q ends it"
else
	not_ok "top on a terminal: q ends it within 10 s"
fi
tmux -L "$SOCK" kill-server 2>/dev/null

# ================================================================================================
# The deployments' own grants, read from deploy/: the DaemonSet (uid 0, its capabilities, no
# privilege escalation) drops to nobody; the systemd unit (a dynamic user with ambient
# capabilities, NoNewPrivileges) keeps its uid and loses every capability; without CAP_SETPCAP
# its bounding set stays the unit's.
# ================================================================================================
RUN=$TMP/deploy
# caps_of LIST: "BPF", "PERFMON" or CAP_BPF CAP_PERFMON as setpriv's +bpf,+perfmon.
caps_of() {
	local w out=()
	for w in ${1//,/ }; do
		w=${w//[\"\[\]]/}
		[ -n "$w" ] && out+=("+${w#CAP_}")
	done
	local IFS=,
	echo "${out[*],,}"
}
DS_CAPS=$(caps_of "$(sed -n 's/^ *add: *\[\(.*\)\]/\1/p' deploy/daemonset.yaml)")
UNIT_CAPS=$(caps_of "$(sed -n 's/^AmbientCapabilities=//p' deploy/tcpdwell.service)")
expect_match "deploy: the DaemonSet grants CAP_SETUID and CAP_SETGID" '.*\+setuid.*\+setgid.*' \
	"$DS_CAPS"
WRAP=(setpriv --inh-caps=-all --bounding-set="-all,$DS_CAPS" --no-new-privs)
# Without CAP_SETPCAP the bounding set stays the container's (moot: nothing is executed).
ds_bnd=$("${WRAP[@]}" awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
next_port
if run_bg daemonset serve -N "$INO" --listen "127.0.0.1:$P"; then
	expect_creds "deploy: DaemonSet's capabilities ($DS_CAPS)" "$PID" "$NOBODY_UID" \
		"$NOBODY_GID" 2 "$ds_bnd"
	stop_bg daemonset
fi
WRAP=()
unit=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="-all,$UNIT_CAPS"
	--ambient-caps="$UNIT_CAPS" --bounding-set="-all,$UNIT_CAPS" --no-new-privs)
unit_bnd=$("${unit[@]}" awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
# Runnable by 65534? (The tree may sit in a directory only root can enter.)
UTD=$TD
if ! "${unit[@]}" test -x "$TD"; then
	install -d -m 0755 "$TMP/bin" && chmod 0711 "$TMP" && cp "$TD" "$TMP/bin/" &&
		UTD=$TMP/bin/tcpdwell
fi
next_port
: >"$RUN.unit.err"
"${unit[@]}" "$UTD" serve -N "$INO" --listen "127.0.0.1:$P" >/dev/null 2>"$RUN.unit.err" &
PID=$!
BG+=("$PID")
if wait_until 10 grep -qs "TCP state changes" "$RUN.unit.err"; then
	expect_creds "deploy: the unit's dynamic user with $UNIT_CAPS" "$PID" 65534 65534 2 \
		"$unit_bnd"
	expect_private "deploy: the unit's dynamic user" "$PID" 65534 65534
	stop_bg unit
else
	not_ok "deploy: the unit's serve starts within 10 s" "$(cat "$RUN.unit.err")"
fi

# ================================================================================================
# An image without a passwd file: no user nobody (an empty /etc/passwd and files-only NSS,
# bind-mounted in a mount namespace of its own): 65534:65534, and -v says so.
# ================================================================================================
RUN=$TMP/nopasswd
: >"$TMP/passwd.empty"
printf 'passwd: files\ngroup: files\n' >"$TMP/nsswitch.files"
WRAP=(unshare -m sh -c 'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/nsswitch.conf &&
	shift 2 && exec "$@"' sh "$TMP/passwd.empty" "$TMP/nsswitch.files")
if run_bg nopasswd trace -v -N "$INO" --no-seed; then
	expect_eq "no passwd entry for nobody: -v says the fallback" \
		"tcpdwell: no user 'nobody' on this host: using 65534:65534" \
		"$(grep "no user" "$RUN.nopasswd.err")"
	expect_creds "no passwd entry for nobody" "$PID" 65534 65534 1
	stop_bg nopasswd
fi
WRAP=()

# ================================================================================================
# Replay: a root-only recording is opened, the drop comes before its first byte is read.
# ================================================================================================
RUN=$TMP/replay
REC=$TMP/root-only.td
cp "$TMP/rec-default.td" "$REC" && chown 0:0 "$REC" && chmod 0600 "$REC"
chmod 0711 "$TMP"
for cmd in trace timeline stat doctor top; do
	# LeakSanitizer cannot run under ptrace (a SANITIZE=1 build): off for the strace run only.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -o "$RUN.$cmd.strace" -e trace=openat,read,pread64,mmap,setresuid \
		"$TD" "$cmd" -i "$REC" --user 12345:12345 >"$RUN.$cmd.out" 2>"$RUN.$cmd.err"
	expect_eq "$cmd -i ROOT-ONLY --user 12345:12345: exit 0" 0 $? "$(cat "$RUN.$cmd.err")"
	# The recording's descriptor, then where it is first read or mapped, and the drop.
	opened=$(grep -n "^openat(AT_FDCWD, \"$REC\", " "$RUN.$cmd.strace" | head -1 | cut -d: -f1)
	fd=$(sed -n "${opened:-1}s|.*) = \([0-9]*\)$|\1|p" "$RUN.$cmd.strace")
	first_read=$(awk -v o="${opened:-0}" -v fd="${fd:-x}" 'NR > o &&
		($0 ~ "^(read|pread64)\\(" fd "," || $0 ~ "^mmap\\(.*, " fd ", ") { print NR; exit }' \
		"$RUN.$cmd.strace")
	drop=$(grep -n -E '^setresuid\(12345, 12345, 12345\) += 0$' "$RUN.$cmd.strace" | head -1 |
		cut -d: -f1)
	if [ -n "$fd" ] && [ -n "$first_read" ] && [ -n "$drop" ] && [ "$drop" -lt "$first_read" ]
	then
		ok "$cmd -i: the recording (fd $fd) is first read after the drop"
	else
		not_ok "$cmd -i: the recording is first read after the drop" \
			"fd '$fd', drop at line '$drop', first read at line '$first_read'" \
			"$(head -c 3000 "$RUN.$cmd.strace")"
	fi
done
# Every thread of a replay: top -i on a terminal holds its last screen until q.
tmux -L "$SOCK" -f /dev/null new-session -d -x 120 -y 40 \
	"exec $TD top -i $REC 2>$RUN.toptty.err"
tpid=$(tmux -L "$SOCK" list-panes -F '#{pane_pid}' | head -1)
if wait_until 10 eval "tmux -L $SOCK capture-pane -p | grep -q STATE"; then
	expect_creds "top -i on a terminal (default user)" "$tpid" "$NOBODY_UID" "$NOBODY_GID" 1
else
	not_ok "top -i on a terminal: shows its screen within 10 s" \
		"$(tmux -L "$SOCK" capture-pane -p)" "$(cat "$RUN.toptty.err")"
fi
tmux -L "$SOCK" send-keys q
wait_until 10 eval "! kill -0 $tpid 2>/dev/null" || not_ok "top -i: q ends it within 10 s"
tmux -L "$SOCK" kill-server 2>/dev/null

# ================================================================================================
# A drop that cannot happen is fatal: exit 1, one line, nothing traced or read.
# ================================================================================================
RUN=$TMP/fail
# expect_fatal TAG REGEX CMD...: CMD exits 1 with exactly one stderr line matching REGEX (a
# tcpdwell that goes on tracing instead is ended after 10 s: status 124).
expect_fatal() {
	local tag=$1 re=$2 rc
	shift 2
	timeout 10 "$@" >"$RUN.out" 2>"$RUN.err"
	rc=$?
	expect_eq "$tag: exit 1" 1 "$rc" "$(cat "$RUN.err")"
	expect_match "$tag: one line" "$re" "$(cat "$RUN.err")"
}
expect_fatal "unknown --user" "tcpdwell: invalid user 'no-such-user-$$' in --user: no such user" \
	"$TD" trace -N "$INO" --no-seed --user "no-such-user-$$"
expect_eq "unknown --user: nothing traced" "" "$(cat "$RUN.out")"
expect_fatal "--user root" "tcpdwell: invalid user 'root' in --user: it is root \(uid 0, gid 0\)" \
	"$TD" trace -N "$INO" --no-seed --user root
expect_fatal "no CAP_SETUID" \
	"tcpdwell: cannot drop privileges: setresuid\($NOBODY_UID\) \(needs CAP_SETUID\): .*" \
	setpriv --inh-caps=-all --bounding-set=-setuid "$TD" trace -N "$INO" --no-seed
expect_fatal "no CAP_SETGID" \
	"tcpdwell: cannot drop privileges: setgroups\(0\) \(needs CAP_SETGID\): .*" \
	setpriv --inh-caps=-all --bounding-set=-setgid "$TD" serve -N "$INO" --no-seed \
	--listen "127.0.0.1:$SERVE_PORT"
expect_fatal "no CAP_SETUID, -j" \
	"tcpdwell: cannot drop privileges: setresuid\(12345\) \(needs CAP_SETUID\): .*" \
	setpriv --inh-caps=-all --bounding-set=-setuid "$TD" trace -j -N "$INO" --no-seed \
	--user 12345:12345
expect_eq "no CAP_SETUID, -j: the JSON stream says it too" \
	"$(sed 's/^tcpdwell: //' "$RUN.err")" "$(jq -r 'select(.type == "error") | .message' \
	"$RUN.out")"
expect_fatal "replay, no CAP_SETUID" \
	"tcpdwell: cannot drop privileges: setresuid\(12345\) \(needs CAP_SETUID\): .*" \
	setpriv --inh-caps=-all --bounding-set=-setuid "$TD" stat -i "$REC" --user 12345:12345
expect_eq "replay, no CAP_SETUID: nothing read" "" "$(cat "$RUN.out")"

# ================================================================================================
# Loss counters as 12345:12345: a tiny buffer under a storm loses records, and says so.
# ================================================================================================
RUN=$TMP/lost
if run_bg lost trace -j -v -N "$INO" --no-seed --ringbuf-size 4K --user 12345:12345; then
	expect_match "lost: nothing kept to read the counters on this kernel" \
		'.*privileges: running as 12345:12345, no supplementary groups; capabilities: none;.*' \
		"$(grep privileges: "$RUN.lost.err")"
	in_ns timeout 30 "$STORM" -d 1 -p 9970 -P 4 >/dev/null 2>"$RUN.storm.err"
	lost_seen() { jq -R -e 'fromjson? | select(.type == "lost" and .ringbuf > 0)' \
		"$RUN.lost.out" >/dev/null; }
	wait_until 10 lost_seen
	expect_match "lost: a lost record with the ring buffer's count, read as 12345" \
		'\{"type":"lost".*"ringbuf":[1-9][0-9]*.*' \
		"$(jq -R -c 'fromjson? | select(.type == "lost")' "$RUN.lost.out" | tail -1)" \
		"$(cat "$RUN.storm.err")"
	expect_eq "lost: no error record" "" \
		"$(jq -R -c 'fromjson? | select(.type == "error")' "$RUN.lost.out")"
	stop_bg lost
fi

# ================================================================================================
# sock_diag as the dropped user: a netlink inet_diag dump of its own namespace sees every TCP
# socket, other users' included (what timewait lookups and reconciling will ask).
# ================================================================================================
RUN=$TMP/diag
next_port
ip netns exec "$NS" "$STORM" --hold 20 -p "$P" >"$RUN.hold.json" 2>"$RUN.hold.err" &
HOLD=$!
BG+=("$HOLD")
wait_until 10 test -s "$RUN.hold.json"
as_user=(setpriv --reuid=12345 --regid=12345 --clear-groups --inh-caps=-all --bounding-set=-all
	--no-new-privs)
root_n=$(in_ns ss -Htan | wc -l)
user_n=$(in_ns "${as_user[@]}" ss -Htan | wc -l)
expect_range "sock_diag: root sees the held sockets" 41 100000 "$root_n"
expect_eq "sock_diag: 12345 without capabilities sees the same sockets" "$root_n" "$user_n"
# (strace's output on stderr: 12345 cannot create files in $TMP.)
in_ns "${as_user[@]}" strace -f -e trace=socket,openat ss -Htan >/dev/null 2>"$RUN.ss.strace"
expect_match "sock_diag: through netlink (NETLINK_SOCK_DIAG), not /proc/net/tcp" \
	'socket\(AF_NETLINK, .*NETLINK_SOCK_DIAG\) = [0-9]+' \
	"$(grep -o 'socket(AF_NETLINK.*' "$RUN.ss.strace" | head -1)" \
	"$(grep /proc/net "$RUN.ss.strace")"
kill -TERM "$HOLD"
wait "$HOLD" 2>/dev/null
reaped "$HOLD"

echo "$ME: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
