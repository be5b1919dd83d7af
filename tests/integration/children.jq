# Shared by tdlib.sh and run.sh (jq -L tests/integration, include "children").
#
# A duplicate child: when two CPUs complete one handshake at once (the ACK and the first data
# segment, seen under emulation on 6.1), each makes a child socket; the one that loses the race
# to the connection hash table is closed at once (tcp_v4_syn_recv_sock(): own_req false,
# tcp_done()). A real socket, traced as one, but not the connection a test plays: it is left
# out of a tuple's connections when another socket of that tuple reached ESTABLISHED, and only
# if all it did was LISTEN -> SYN_RECV -> CLOSE (or SYN_RECV -> CLOSE where the kernel reports
# the first with the listener's tuple).
#
# Input: an array of transition objects. Output: the cookies of that tuple's duplicate
# children, one by one.
def dup_children($f; $l; $r):
	. as $all |
	[$all[] | select(.family == $f and .lport == $l and .rport == $r)] as $rs |
	if any($rs[]; .old == "SYN_RECV" and .new == "ESTABLISHED") then
		[$rs[].cookie] | unique[] | . as $c |
		select([$all[] | select(.cookie == $c) | "\(.old)>\(.new)"] | join(" ") |
			. == "LISTEN>SYN_RECV SYN_RECV>CLOSE" or . == "SYN_RECV>CLOSE")
	else empty end;
