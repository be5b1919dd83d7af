#!/bin/bash
# Multi-kernel test: boots Debian's cloud kernels (the newest 6.1 and 6.12 the archive lists) under
# qemu-system-x86_64 (TCG) from an initramfs holding build/tcpdwell, its libraries, busybox, bash,
# jq and the tests; tests/vm/init runs tests/vm/guest.sh (or -c CMD) inside. One console log per
# kernel in build/vm/, a pass/fail line per kernel, exit 1 when any kernel failed. Needs root.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

usage() {
	cat <<EOF
usage: $0 [-k "SERIES..."] [-t SECONDS] [-c COMMAND] [--no-suite] [--offline] [-v]
  -k, --kernels    kernel series to boot (default "${VM_KERNELS:-6.1 6.12}"; env VM_KERNELS)
  -t, --timeout    seconds allowed per kernel, boot to power-off (default 1500; env VM_TIMEOUT)
  -c, --cmd        command run inside (from the tree's root) instead of tests/vm/guest.sh
      --no-suite   skip tests/integration/run.sh (check and smoke test only)
      --offline    no apt: use the packages already in build/vm/cache
  -v, --verbose    stream each console to the terminal as well
Env: OUTPUT (default build), VM_TOOLS (more host commands to copy in), VM_APPEND (kernel args),
  VM_TCG_THREAD (single, the default, or multi: qemu's -accel tcg,thread=),
  VM_KCONFIG=0 (no /boot/config-VERSION in the VM).
EOF
}

KERNELS=${VM_KERNELS:-6.1 6.12}
TIMEOUT=${VM_TIMEOUT:-1500}
CMD=${VM_CMD:-}
SUITE=${VMTEST_SUITE:-1}
OFFLINE=${VM_OFFLINE:-0}
VERBOSE=${VM_VERBOSE:-0}
while [ $# -gt 0 ]; do
	case $1 in
	-k | --kernels) KERNELS=${2:?}; shift 2 ;;
	-t | --timeout) TIMEOUT=${2:?}; shift 2 ;;
	-c | --cmd) CMD=${2:?}; shift 2 ;;
	--no-suite) SUITE=0; shift ;;
	--offline) OFFLINE=1; shift ;;
	-v | --verbose) VERBOSE=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "vmtest: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || { echo "vmtest: bad timeout '$TIMEOUT'" >&2; exit 2; }

OUTPUT=${OUTPUT:-build}
VM_DIR=build/vm
CACHE=$VM_DIR/cache
STAGE=$VM_DIR/root
# Host commands copied into the VM with their libraries (busybox provides the rest). The
# coreutils ones are there because busybox's differ (date has no %N).
TOOLS="bash jq ss ip tc curl date stat sort mktemp seq paste timeout setpriv capsh ${VM_TOOLS:-}"
# Kernel options that must be built in: a missing one is reported (the guest shows the effect).
NEED_CONFIG="BPF_SYSCALL DEBUG_INFO_BTF BPF_EVENTS TRACING FTRACE_SYSCALLS BLK_DEV_INITRD
	DEVTMPFS SERIAL_8250_CONSOLE NET_NS INET"
# Options that may be modules, and the module that provides each: packed and loaded when =m.
MOD_CONFIG="IPV6:ipv6 INET_DIAG:inet_diag INET_TCP_DIAG:tcp_diag INET_UDP_DIAG:udp_diag
	VETH:veth NET_SCH_NETEM:sch_netem"
HOST_PKGS="qemu-system-x86 busybox-static cpio jq iproute2 xz-utils kmod"

say() { printf 'vmtest: %s\n' "$*" >&2; }	# stderr: also used inside $(...)
die() { printf 'vmtest: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/./}"; }	# microseconds
secs() { printf '%d.%01d' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }

mkdir -p "$CACHE" || die "cannot create $CACHE"
[ -x "$OUTPUT/tcpdwell" ] || die "$OUTPUT/tcpdwell missing: run 'make vmtest' (it builds first)"

# --- host packages and the package lists ------------------------------------------------------
APT_UPDATED=0
apt_update() {	# once per run, and only when the lists are missing or older than 6 hours
	[ "$APT_UPDATED" = 1 ] && return 0
	APT_UPDATED=1
	if [ "${1:-}" != force ] && [ -n "$(find "$CACHE/.apt-updated" -mmin -360 2>/dev/null)" ]; then
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		say "not root: package lists not updated (the current ones are used)"
		return 0
	fi
	say "apt-get update"
	apt-get update -qq >"$CACHE/apt-update.log" 2>&1 ||
		{ cat "$CACHE/apt-update.log" >&2; die "apt-get update failed"; }
	touch "$CACHE/.apt-updated"
}

install_host_pkgs() {
	local p missing=
	for p in $HOST_PKGS; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *" ok installed" ]] ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$OFFLINE" = 1 ] && die "missing host packages:$missing (offline: install them first)"
	[ "$(id -u)" = 0 ] || die "missing host packages:$missing (run as root to install them)"
	say "installing:$missing"
	APT_UPDATED=0
	apt_update force
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
		>"$CACHE/apt-install.log" 2>&1 ||
		{ tail -20 "$CACHE/apt-install.log" >&2; die "apt-get install$missing failed"; }
}

# Add the Debian backports suite (the line Debian documents) when the archive answers for it.
enable_backports() {
	local id='' codename='' suite line tmp
	# shellcheck disable=SC1091
	id=$(. /etc/os-release && echo "${ID:-}") && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ "$id" = debian ] && [ -n "$codename" ] || return 1
	suite=$codename-backports
	grep -rqs -- "$suite" /etc/apt/sources.list /etc/apt/sources.list.d/ && return 1
	[ "$(id -u)" = 0 ] || return 1
	line="deb http://deb.debian.org/debian $suite main"
	tmp=$(mktemp -d)
	echo "$line" >"$tmp/probe.list"
	mkdir "$tmp/parts"
	if apt-get update -qq --error-on=any -o Dir::Etc::SourceList="$tmp/probe.list" \
		-o Dir::Etc::SourceParts="$tmp/parts" -o APT::Get::List-Cleanup=0 >/dev/null 2>&1; then
		say "adding $suite: $line > /etc/apt/sources.list.d/$suite.list"
		echo "$line" >"/etc/apt/sources.list.d/$suite.list"
		rm -rf "$tmp"
		APT_UPDATED=0
		apt_update force
		return 0
	fi
	rm -rf "$tmp"
	say "$suite is not reachable: not adding it"
	return 1
}

# --- kernels ------------------------------------------------------------------------------------
# newest_listed SERIES: the newest linux-image-SERIES.*-cloud-amd64 with an installable candidate.
newest_listed() {
	local re p
	re="^linux-image-${1//./\\.}\\.[0-9]+(-[0-9]+|\\+deb[0-9]+)-cloud-amd64\$"
	for p in $(apt-cache pkgnames "linux-image-$1." 2>/dev/null | grep -E "$re" | sort -rV); do
		# captured, not piped into grep -q: with pipefail the producer's SIGPIPE would fail it
		if [[ $(apt-cache policy "$p" 2>/dev/null) =~ Candidate:\ [0-9] ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
# newest_cached SERIES: the newest such package already downloaded.
newest_cached() {
	local re
	re="^linux-image-${1//./\\.}\\.[0-9]+(-[0-9]+|\\+deb[0-9]+)-cloud-amd64\$"
	find "$CACHE" -maxdepth 1 -name 'linux-image-*.deb' -printf '%f\n' | sed 's/_.*//' |
		grep -E "$re" | sort -rV | awk 'NR == 1 { print; found = 1 } END { exit !found }'
}
pick_kernel() {
	local p
	if [ "$OFFLINE" = 1 ]; then
		newest_cached "$1" && return 0
		return 1
	fi
	apt_update
	newest_listed "$1" && return 0
	APT_UPDATED=0
	apt_update force
	newest_listed "$1" && return 0
	if enable_backports; then newest_listed "$1" && return 0; fi
	p=$(newest_cached "$1") && { say "$1: not listed by apt; using cached $p"; echo "$p"; }
}

# fetch_kernel PKG SERIES: download (once) and unpack (once) into $CACHE/PKG; prints that
# directory. Older downloads of SERIES are removed.
fetch_kernel() {
	local pkg=$1 deb dir=$CACHE/$1
	deb=$(find "$CACHE" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -1)
	if [ -z "$deb" ]; then
		[ "$OFFLINE" = 1 ] && die "$pkg not in $CACHE (offline)"
		say "downloading $pkg"
		(cd "$CACHE" && apt-get download -qq -o APT::Sandbox::User=root "$pkg") >&2 ||
			die "apt-get download $pkg failed"
		deb=$(find "$CACHE" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -1)
		[ -n "$deb" ] || die "apt-get download $pkg left no .deb in $CACHE"
		# a newer kernel of the series replaces the older ones in the cache
		find "$CACHE" -maxdepth 1 -name "linux-image-${2:-}*" ! -name "${pkg}_*.deb" \
			! -name "$pkg" -exec rm -rf {} +
	fi
	if [ ! -e "$dir/.unpacked" ] || [ "$deb" -nt "$dir/.unpacked" ]; then
		rm -rf "$dir" "$dir.tmp"
		if ! { mkdir -p "$dir.tmp" && dpkg-deb -x "$deb" "$dir.tmp" && mv "$dir.tmp" "$dir"; }; then
			die "cannot unpack $deb"
		fi
		touch "$dir/.unpacked"
	fi
	echo "$dir"
}

# --- initramfs ----------------------------------------------------------------------------------
# copy_libs FILE...: every shared library (and the loader) the ELF files need, at the same path.
copy_libs() {
	local lib
	for lib in $(ldd "$@" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }' | sort -u); do
		[ -e "$STAGE$lib" ] && continue
		mkdir -p "$STAGE$(dirname "$lib")"
		cp -L "$lib" "$STAGE$lib" || die "cannot copy $lib"
	done
}
is_elf() { [ "$(head -c4 "$1" 2>/dev/null | od -An -c | tr -d ' \n')" = '177ELF' ]; }

build_base() {
	local t path elfs=() f a
	rm -rf "$STAGE"
	mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,var/tmp,tdwell}
	mkdir -p "$STAGE"/tdwell/{build,tests}
	# busybox-static, every applet a link in /bin
	path=$(dpkg -L busybox-static 2>/dev/null | grep '/busybox$')
	path=${path%%$'\n'*}
	[ -n "$path" ] || path=$(command -v busybox)
	[ -x "$path" ] || die "busybox missing (apt-get install busybox-static)"
	cp -L "$path" "$STAGE/bin/busybox"
	elfs+=("$STAGE/bin/busybox")
	for a in $("$STAGE/bin/busybox" --list); do
		[ -e "$STAGE/bin/$a" ] || ln -s busybox "$STAGE/bin/$a"
	done
	for t in $TOOLS; do
		if ! path=$(command -v "$t"); then
			case $t in bash | jq) die "$t missing on this host (apt-get install $t)" ;; esac
			say "note: $t not on this host, not in the VM"
			continue
		fi
		cp -L "$path" "$STAGE/usr/bin/$t"
		elfs+=("$STAGE/usr/bin/$t")
	done
	ln -sf /usr/bin/bash "$STAGE/bin/bash"
	[ -e "$STAGE/usr/bin/env" ] || ln -s /bin/busybox "$STAGE/usr/bin/env"
	# the tool and the tests, at /tdwell as in the tree (OUTPUT=build inside)
	cp -L "$OUTPUT/tcpdwell" "$STAGE/tdwell/build/tcpdwell"
	elfs+=("$STAGE/tdwell/build/tcpdwell")
	if [ -d "$OUTPUT/tests" ]; then
		cp -a "$OUTPUT/tests" "$STAGE/tdwell/build/tests"
		for f in "$STAGE"/tdwell/build/tests/*; do
			[ -f "$f" ] && [ -x "$f" ] && is_elf "$f" && elfs+=("$f")
		done
	fi
	[ -d tests/integration ] && cp -a tests/integration "$STAGE/tdwell/tests/"
	cp -a tests/vm "$STAGE/tdwell/tests/"
	copy_libs "${elfs[@]}"
	install -m 0755 tests/vm/init "$STAGE/init"
	# just enough /etc for names, users and the loader
	printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		>"$STAGE/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$STAGE/etc/group"
	printf '127.0.0.1\tlocalhost tdvm\n::1\tlocalhost ip6-localhost\n' >"$STAGE/etc/hosts"
	printf 'passwd: files\ngroup: files\nhosts: files\n' >"$STAGE/etc/nsswitch.conf"
	find "$STAGE" -name '*.so*' -printf '%h\n' | sed "s|^$STAGE||" | sort -u >"$STAGE/etc/ld.so.conf"
	ldconfig -r "$STAGE" 2>/dev/null || say "note: ldconfig -r failed (the loader's defaults apply)"
	[ "$(id -u)" = 0 ] && mknod -m 600 "$STAGE/dev/console" c 5 1
	(cd "$STAGE" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$VM_DIR/base.cpio" ||
		die "cpio failed"
}

# pack_modules KDIR KVER CONFIG OUT: a cpio holding the modules the MOD_CONFIG options need when
# built as modules (with their dependencies, decompressed), their load order and the config;
# prints the modules.
pack_modules() {
	local kdir=$1 kver=$2 config=$3 out=$4 stage=$VM_DIR/mods-$2 moddir ent opt mod
	rm -rf "$stage"
	moddir=$stage/lib/modules/$kver
	mkdir -p "$moddir"
	: >"$moddir/load-order"
	add_module() {	# MOD: dependencies first
		local m=${1//-/_} file dep
		grep -qx "$m" "$moddir/load-order" && return 0
		file=$(find "$kdir/lib/modules/$kver" -regextype posix-extended \
			-regex ".*/(${m}|${m//_/-})\\.ko(\\.xz|\\.zst|\\.gz)?" | head -1)
		[ -n "$file" ] || { say "note: $kver: module $m not in the package"; return 0; }
		for dep in $(modinfo -F depends "$file" 2>/dev/null | tr ',' ' '); do
			add_module "$dep"
		done
		case $file in
		*.xz) xz -dc "$file" ;;
		*.zst) zstd -dc "$file" ;;
		*.gz) gzip -dc "$file" ;;
		*) cat "$file" ;;
		esac >"$moddir/$m.ko" || die "cannot decompress $file"
		echo "$m" >>"$moddir/load-order"
	}
	for ent in $MOD_CONFIG; do
		opt=${ent%%:*}
		mod=${ent#*:}
		grep -qx "CONFIG_$opt=m" "$config" && add_module "$mod"
	done
	# As on an installed system: libbpf reads /boot/config-$(uname -r) for __kconfig externs
	# (Debian's kernels have no /proc/config.gz). VM_KCONFIG=0 leaves it out.
	if [ "${VM_KCONFIG:-1}" = 1 ] && [ -s "$config" ]; then
		mkdir -p "$stage/boot"
		cp "$config" "$stage/boot/config-$kver"
	fi
	(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$out" ||
		die "cpio failed"
	paste -sd' ' "$moddir/load-order"
}

# --- one kernel ---------------------------------------------------------------------------------
RESULTS=()
FAILED=0
run_kernel() {
	local series=$1 pkg kdir vmlinuz kver config opt missing='' mods initrd log append
	local t0 tboot='' qpid rc status deadline tailpid='' steps
	pkg=$(pick_kernel "$series") || {
		say "$series: no linux-image-$series.*-cloud-amd64 in the package lists or the cache"
		RESULTS+=("$series  FAIL  no kernel package found")
		FAILED=1
		return
	}
	kdir=$(fetch_kernel "$pkg" "$series.") || exit 1
	vmlinuz=$(find "$kdir/boot" -name 'vmlinuz-*' | head -1)
	[ -n "$vmlinuz" ] || die "$pkg: no vmlinuz in the package"
	kver=${vmlinuz##*/vmlinuz-}
	config=$kdir/boot/config-$kver
	if [ -f "$config" ]; then
		for opt in $NEED_CONFIG; do
			grep -qx "CONFIG_$opt=y" "$config" || missing="$missing $opt"
		done
		[ -z "$missing" ] || say "$kver: WARNING: not built in:$missing"
	else
		say "$kver: no config in the package; modules not checked"
		config=/dev/null
	fi
	mods=$(pack_modules "$kdir" "$kver" "$config" "$VM_DIR/mods-$kver.cpio")
	initrd=$VM_DIR/initrd-$kver.cpio
	cat "$VM_DIR/base.cpio" "$VM_DIR/mods-$kver.cpio" >"$initrd"
	log=$VM_DIR/$kver.log
	append="console=ttyS0 panic=-1 quiet VMTEST_SUITE=$SUITE ${VM_APPEND:-}"
	[ -n "$CMD" ] && append="$append tdvm_cmd=$(printf '%s' "$CMD" | base64 -w0)"
	say "$kver ($pkg): booting, modules: ${mods:-none}, log $log"

	t0=$(now)
	# One host thread for both vCPUs (VM_TCG_THREAD=multi for one each): with a thread per
	# vCPU, the kernel's own code patching (int3-based text_poke, when tracepoints are
	# enabled and disabled) raced with emulated execution on the other vCPU and the 6.12
	# guest died twice of an "Oops: int3" in code the BPF programs never touch.
	qemu-system-x86_64 -machine pc -accel "tcg,thread=${VM_TCG_THREAD:-single}" -cpu max \
		-m 1G -smp 2 \
		-nographic -no-reboot -nic none -kernel "$vmlinuz" -initrd "$initrd" \
		-append "$append" </dev/null >"$log" 2>&1 &
	qpid=$!
	if [ "$VERBOSE" = 1 ]; then
		tail -n +1 -f --pid="$qpid" "$log" &
		tailpid=$!
	fi
	deadline=$((t0 + TIMEOUT * 1000000))
	status=
	while kill -0 "$qpid" 2>/dev/null; do
		if [ -z "$tboot" ] && grep -q VMTEST-BOOTED "$log"; then tboot=$(now); fi
		if [ "$(now)" -ge "$deadline" ]; then
			status=TIMEOUT
			kill -TERM "$qpid" 2>/dev/null
			sleep 2
			kill -KILL "$qpid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$qpid"
	rc=$?
	[ -n "$tailpid" ] && wait "$tailpid" 2>/dev/null
	[ -z "$tboot" ] && grep -q VMTEST-BOOTED "$log" && tboot=$(now)
	# plain text: no CR line ends, no firmware screen escapes
	sed -i -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' "$log"
	local total boot guest_boot
	total=$(secs $(($(now) - t0)))
	boot=$([ -n "$tboot" ] && secs $((tboot - t0)) || echo '-')
	guest_boot=$(sed -n 's/.*VMTEST-BOOTED uptime=\([0-9.]*\).*/\1/p' "$log" | sed -n 1p)
	steps=$(sed -n 's/^VMTEST-STEP \([a-z_-]*\) \(rc=[0-9]*\|absent\|skipped\).*/\1:\2/p' "$log" |
		paste -sd' ')
	if [ -z "$status" ]; then
		if grep -q '^VMTEST-RESULT: PASS' "$log"; then
			status=PASS
		elif grep -q '^VMTEST-RESULT: FAIL' "$log"; then
			status=FAIL
		else
			status="FAIL (no result: qemu exit $rc; kernel panic or crash?)"
		fi
	fi
	RESULTS+=("$kver  $status  boot ${boot}s (guest uptime ${guest_boot:-?}s)  total ${total}s  $steps")
	# Each failed check with the first lines of its detail, so that the summary at the very
	# end says what failed.
	local bad
	while IFS= read -r bad; do
		RESULTS+=("    $kver: $bad")
	done < <(awk '/^not ok / { n = 4 } n > 0 && /^(not ok |#)/ { print substr($0, 1, 300); n-- }
		/^ok / { n = 0 }' "$log" | head -n 40)
	say "$kver: $status in ${total}s (boot ${boot}s) $steps"
	if [ "$status" != PASS ]; then
		FAILED=1
		echo "---- last lines of $log ----"
		tail -n 40 "$log"
		echo "----"
	fi
}

install_host_pkgs
[ "$OFFLINE" = 1 ] || apt_update
build_base
say "initramfs base: $(du -h "$VM_DIR/base.cpio" | cut -f1)"
for series in $KERNELS; do
	run_kernel "$series"
done
echo "vmtest results:"
for r in "${RESULTS[@]}"; do echo "  $r"; done
exit "$FAILED"
