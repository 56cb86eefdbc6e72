# SPDX-License-Identifier: GPL-2.0
# Allocation failures: connect, bind (tsm_emu_link's bind control, the
# pci_tsm_bind() path) and guest requests (pci_tsm_guest_req()) are written
# again and again with the Nth slab allocation of the writing task failing
# (failslab through /proc/self/fail-nth, which counts only that task's
# allocations), N = 1, 2, ... until a write completes without reaching the
# Nth allocation. Each write must fail with ENOMEM and leave the state as it
# was, or, when the failed allocation was one the path may do without,
# succeed with the complete result; the write after the sweep succeeds. The
# sweep over fail_page_alloc does the same for page allocations. Kmemleak then
# finds nothing new. kmemleak's own metadata allocations, which fall back to
# its pool when they fail, are left out of the count (a stack-trace filter).
#
# By default a sweep is short (every allocation up to EVERY, then a stride,
# MAX_N writes in all) so that the e2e boot stays quick;
# tsm_rs.failslab=full on the kernel command line (scripts/test
# --full-faults) tries every allocation.

LINK=tsm_emu_link
PF0=/sys/bus/pci/devices/10000:01:00.0
FN1=/sys/bus/pci/devices/10000:01:00.1
BUSCTL=/sys/devices/faux/tsm_emu_bus
CTL=/sys/devices/faux/tsm_emu_link
DBG=/sys/kernel/debug
# Writes one sweep tries: every allocation up to EVERY, then a stride that
# spreads the rest of MAX_N over the remaining allocations (a connect makes
# some 200, most in the SPDM exchange, and each write is a whole connect).
# tsm_rs.failslab=full on the kernel command line tries every allocation.
EVERY=10
MAX_N=25
if grep -qw tsm_rs.failslab=full /proc/cmdline; then
	EVERY=100000
	MAX_N=100000
fi
# Other errnos than ENOMEM an allocation failure may give, and another state
# a write that succeeds despite one may leave (see connect_sweep).
ALSO=
ALSO_AFTER=

# also_allowed ERRNO: ERRNO is one of $ALSO.
also_allowed() {
	local e
	for e in $ALSO; do [ "$e" = "$1" ] && return 0; done
	return 1
}

teardown_case() { modprobe -r $LINK; platform_down; }

# The state: lib.sh's platform_state (as 45-privilege.sh's state), which sets
# STATE; bound_state adds function 1's tsm/bound. Builtins only: every process
# of a sweep's write costs tens of milliseconds under TCG.
IDLE='||||4'
CONNECTED='tsm0||10000:01:00.0|tsm0|3'

bound_state() {
	local b
	platform_state
	read_attr b $FN1/tsm/bound
	STATE="$STATE|$b"
}

# The fault-injection controls: fail the Nth allocation of a task that asked
# for it (fail-nth), also allocations that may sleep, of any order, and
# quietly (no stack dump per injected failure).
setup_injection() {
	[ -d $DBG/failslab ] || mount -t debugfs none $DBG || fail "no debugfs" || return 1
	[ -d $DBG/failslab ] || fail "no failslab (CONFIG_FAILSLAB)" || return 1
	echo N > $DBG/failslab/ignore-gfp-wait
	echo N > $DBG/fail_page_alloc/ignore-gfp-wait
	echo 0 > $DBG/fail_page_alloc/min-order
	echo 0 > $DBG/failslab/verbose
	echo 0 > $DBG/fail_page_alloc/verbose
}

# kmemleak_text: prints the start and end of kmemleak's metadata allocation
# (__create_object and __alloc_object, next to each other in mm/kmemleak.c's
# text; /proc/kallsyms lists the kernel's symbols by address), or nothing
# without kmemleak or without addresses (kptr_restrict). Kept in /tmp for
# the boot: reading kallsyms takes seconds under TCG.
kmemleak_text() {
	[ -f /tmp/kmemleak.text ] ||
		awk '$3 == "__create_object" || $3 == "__alloc_object" { if (!s) s = $1; n = 1; next }
			n { e = $1; n = 0 }
			END { if (s != "" && e != "" && s !~ /^0+$/) print "0x" s, "0x" e }' \
			/proc/kallsyms > /tmp/kmemleak.text
	cat /tmp/kmemleak.text
}

# select_kind WHICH: only allocations of kind WHICH (failslab or
# fail_page_alloc) count for fail-nth, which counts every should_fail() call
# the task reaches: the other kind's stack-trace filter gets an empty
# required range; and of WHICH not those kmemleak makes for its metadata
# (every other slab allocation otherwise, and failing it changes nothing:
# kmemleak falls back to its pool), which the filter rejects.
select_kind() {
	local other=failslab
	[ "$1" = failslab ] && other=fail_page_alloc
	echo 1 > $DBG/$other/stacktrace-depth
	echo 0 > $DBG/$other/require-end
	echo 0 > $DBG/$1/require-start
	echo 18446744073709551615 > $DBG/$1/require-end
	set -- "$1" $(kmemleak_text)
	if [ $# = 3 ]; then
		echo "$2" > $DBG/$1/reject-start
		echo "$3" > $DBG/$1/reject-end
		echo 32 > $DBG/$1/stacktrace-depth
	else
		echo 0 > $DBG/$1/stacktrace-depth
	fi
}

# fail_nth N FILE DATA: writes DATA to FILE from a task whose Nth
# allocation (of the kind select_kind chose) fails, and prints the write's
# exit status and what fail-nth reads after it: 0 once the fault was
# injected, else N minus the allocations made. One shell process, builtins
# only, fail-nth held open on fd 3 (its read and write allocate nothing):
# from the write to fail-nth to its read, only the opening of FILE and the
# write to it allocate (and the shell's own page faults, for page
# allocations). The write's error message goes to /tmp/inject.err.
fail_nth() {
	(
		exec 3<> /proc/self/fail-nth
		echo "$1" >&3
		echo -n "$3" > "$2"
		rc=$?
		read -r left <&3
		echo 0 >&3
		echo "$rc $left"
	) 2> /tmp/inject.err
}

# inject N FILE DATA: the write with its Nth allocation failing; sets RES to
# its result (OK or the errno name) and INJ to whether the fault was injected
# (yes/no).
inject() {
	local err= line
	set -- $(fail_nth "$@")
	if [ "$1" = 0 ]; then
		RES=OK
	else
		while read -r line; do err="$err$line "; done < /tmp/inject.err
		errno_set "$err"
		RES=$ERRNO
	fi
	if [ "$2" = 0 ]; then INJ=yes; else INJ=no; fi
}

# calls FILE DATA: how many allocations the write makes (fail-nth set so
# high that it never fires).
calls() {
	set -- $(fail_nth 1000000 "$@")
	echo $((1000000 - $2))
}

# sweep WHICH NAME FILE DATA STATE BEFORE AFTER UNDO: N = 1, 2, ...: the write
# with its Nth allocation failing gives ENOMEM and the STATE the command STATE
# sets is BEFORE, or it gives OK and STATE is AFTER (then UNDO runs). Up to
# the first EVERY allocations every one fails in turn; beyond, a stride keeps
# the sweep within MAX_N writes. Ends when the write no longer reaches the
# Nth allocation; that write, without a fault, must succeed. ALSO lists more
# errnos an allocation failure may give (with the state BEFORE).
sweep() {
	local which=$1 name=$2 file=$3 data=$4 st=$5 before=$6 after=$7 undo=$8
	local n=1 step=1 total res inj s enomem=0 also=0 ok=0 tried=0 unmanaged=0
	$st
	expect_eq "$STATE" "$before" "$name: state before" || return 1
	select_kind "$which"
	total=$(calls "$file" "$data")
	$undo || return 1
	$st
	expect_eq "$STATE" "$before" "$name: state after the counting write" || return 1
	while [ $tried -lt $MAX_N ]; do
		# An odd stride (in case kmemleak's metadata allocations count, every
		# other one), with room for a few more allocations than counted.
		[ $n -gt $EVERY ] &&
			step=$(( ((total - EVERY + MAX_N - EVERY - 4) / (MAX_N - EVERY - 3)) | 1 ))
		inject $n "$file" "$data"
		res=$RES
		inj=$INJ
		tried=$((tried + 1))
		$st
		s=$STATE
		case $res/$inj in
		OK/*)
			if [ "$inj" = yes ] && [ -n "$ALSO_AFTER" ] && [ "$s" = "$ALSO_AFTER" ]; then
				unmanaged=$((unmanaged + 1))
			else
				expect_eq "$s" "$after" "$name, allocation $n failed, write OK: state" || return 1
			fi
			[ "$inj" = no ] || ok=$((ok + 1))
			$undo || return 1
			$st
			expect_eq "$STATE" "$before" "$name: state after undoing" || return 1;;
		*/yes)
			[ "$res" = ENOMEM ] || also_allowed "$res" ||
				fail "$name, allocation $n of the write failed: got $res" || return 1
			expect_eq "$s" "$before" "$name, allocation $n failed ($res): state" || return 1
			if [ "$res" = ENOMEM ]; then enomem=$((enomem + 1)); else also=$((also + 1)); fi;;
		*)
			fail "$name, allocation $n of the write failed: got $res (injected: $inj)" || return 1;;
		esac
		if [ "$inj" = no ]; then
			echo "$name ($which): about $total allocations, $tried writes: $enomem failed with ENOMEM, $also with one of: ${ALSO:-none}, $ok succeeded without the failed allocation ($unmanaged of them in state ${ALSO_AFTER:-none})"
			[ "$res" = OK ] || fail "$name without a fault: $res" || return 1
			# The last write was undone: once more, for the state after.
			expect_write "$file" "$data" OK || return 1
			$st
			expect_eq "$STATE" "$after" "$name: state after the write without fault"
			return
		fi
		n=$((n + step))
	done
	fail "$name: still allocating after $MAX_N writes (about $total allocations, stride $step)"
}

# The operations and how to undo them.
do_disconnect() { write_quiet $PF0/tsm/disconnect tsm0 || fail "disconnect"; }
do_unbind() { write_quiet $CTL/unbind 10000:01:00.1 || fail "unbind"; }
nothing() { :; }

# A connect leaves function 0 connected and function 1 managed, or nothing.
# Two allocation failures have another errno, on both cores, because a C API
# returns NULL for more than one reason: a TSM's probe() returns a context or
# NULL (struct pci_tsm_ops in 7.3 has no errno for it), so a link TSM that
# cannot allocate its context is one that declines the device, ENXIO as
# documented for connect; pci_ide_stream_alloc() returns NULL both when no
# IDE stream is free and when an allocation fails, which
# kernel::pci::ide::Stream::alloc() reports as ENOSPC. For the same reason a
# managed function whose context the TSM cannot allocate is one it declines:
# the connect succeeds and function 1 stays unmanaged (no tsm/dsm).
connect_sweep() {
	setup_injection || return 1
	platform_up && load $LINK || return 1
	ALSO="ENXIO ENOSPC"
	ALSO_AFTER='tsm0|||tsm0|3'
	sweep "$1" connect $PF0/tsm/connect tsm0 platform_state "$IDLE" "$CONNECTED" do_disconnect
}

case_connect_failslab() { connect_sweep failslab; }
case_connect_fail_page_alloc() { connect_sweep fail_page_alloc; }

bind_sweep() {
	setup_injection || return 1
	platform_up && load $LINK || return 1
	expect_write $PF0/tsm/connect tsm0 OK || return 1
	sweep "$1" bind $CTL/bind 10000:01:00.1 bound_state "$CONNECTED|" "$CONNECTED|tsm0" do_unbind
}

case_bind_failslab() { bind_sweep failslab; }
case_bind_fail_page_alloc() { bind_sweep fail_page_alloc; }

# A guest request ("state": GET_DEVICE_INTERFACE_STATE in the DSM's SPDM
# session) changes no state: each either fails with ENOMEM or is answered.
guest_request_sweep() {
	setup_injection || return 1
	platform_up && load $LINK || return 1
	expect_write $PF0/tsm/connect tsm0 OK || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	sweep "$1" guest_request $CTL/guest_request "10000:01:00.1 state" bound_state \
		"$CONNECTED|tsm0" "$CONNECTED|tsm0" nothing
}

case_guest_request_failslab() { guest_request_sweep failslab; }
case_guest_request_fail_page_alloc() { guest_request_sweep fail_page_alloc; }

# kmemleak: nothing the sweeps (or the suites before) left unreferenced
# (kmemleak_report in lib.sh). Scanned twice: a scan reports an object only
# if it is older than 5 s and its contents did not change since the scan
# before.
case_no_leaks() {
	local new
	[ -d $DBG/failslab ] || mount -t debugfs none $DBG
	if [ ! -e $DBG/kmemleak ]; then
		echo "SKIP: no kmemleak (CONFIG_DEBUG_KMEMLEAK)"
		return 0
	fi
	# Off unless booted with kmemleak=on (scripts/test --full-faults): a scan is refused.
	if ! write_quiet $DBG/kmemleak scan; then
		echo "SKIP: kmemleak is off (kmemleak=on on the kernel command line turns it on)"
		return 0
	fi
	sleep 5
	echo scan > $DBG/kmemleak
	kmemleak_report > /tmp/leaks
	new=$(grep -c . /tmp/leaks)
	echo "kmemleak: $new unreferenced objects"
	[ "$new" = 0 ] || { head -n 20 /tmp/leaks; fail "kmemleak: $new unreferenced objects"; }
}
