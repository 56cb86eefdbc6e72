# SPDX-License-Identifier: GPL-2.0
# Helpers for the end-to-end suites: KTAP output, expectations, sysfs writes
# that report the errno, module loading.

# Runs one suite file in a subshell and prints it as a KTAP subtest.
run_suite() {
	local n=$1 name=$2 script=$3 cases c skip i=0 failed=0 t0 t1 s0
	cases=$(sed -n 's/^\(case_[a-z0-9_]*\)().*/\1/p' "$script")
	echo "    KTAP version 1"
	echo "    # Subtest: $name"
	echo "    1..$(echo "$cases" | wc -l)"
	s0=$(uptime_cs)
	for c in $cases; do
		i=$((i + 1))
		t0=$(uptime_cs)
		if (. "$script"; setup_suite 2>/dev/null; "$c") > /tmp/case.log 2>&1; then
			t1=$(uptime_cs)
			sed 's/^/    # /' /tmp/case.log
			echo "    # time: $(cs_seconds $((t1 - t0))) s"
			skip=$(sed -n 's/^SKIP: //p' /tmp/case.log | head -1)
			if [ -n "$skip" ]; then
				echo "    ok $i ${c#case_} # SKIP $skip"
			else
				echo "    ok $i ${c#case_}"
			fi
		else
			t1=$(uptime_cs)
			sed 's/^/    # /' /tmp/case.log
			echo "    # time: $(cs_seconds $((t1 - t0))) s"
			echo "    not ok $i ${c#case_}"
			failed=1
		fi
		(. "$script"; teardown_case 2>/dev/null) > /dev/null 2>&1
	done
	echo "    # $name: $(cs_seconds $(($(uptime_cs) - s0))) s"
	if [ $failed = 0 ]; then echo "ok $n $name"; else echo "not ok $n $name"; fi
}

# uptime_cs: the time since boot in hundredths of a second.
uptime_cs() {
	local up
	read -r up _ < /proc/uptime
	echo $((${up%.*} * 100 + 1${up#*.} - 100))
}

# cs_seconds CS: CS hundredths of a second as seconds with one decimal.
cs_seconds() { echo "$(($1 / 100)).$(($1 % 100 / 10))"; }

fail() { echo "FAIL: $*"; return 1; }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

expect_exists() { [ -e "$1" ] || [ -L "$1" ] || fail "$1 does not exist"; }
expect_absent() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "$1 exists"; }

# errno name of a failed write, from busybox's strerror text.
errno_of() {
	errno_set "$1"
	echo "$ERRNO"
}

# errno_set TEXT: sets ERRNO to errno_of TEXT, in this shell (no subshell:
# under TCG every process counts).
errno_set() {
	case $1 in
	*"Invalid argument"*) ERRNO=EINVAL;;
	*"Device or resource busy"*|*"Resource busy"*) ERRNO=EBUSY;;
	*"No such device or address"*) ERRNO=ENXIO;;
	*"No such device"*) ERRNO=ENODEV;;
	*"No such file or directory"*) ERRNO=ENOENT;;
	*"Permission denied"*) ERRNO=EACCES;;
	*"Operation not permitted"*) ERRNO=EPERM;;
	*"Interrupted system call"*) ERRNO=EINTR;;
	*"I/O error"*) ERRNO=EIO;;
	*"Input/output error"*) ERRNO=EIO;;
	*"Out of memory"*|*"Cannot allocate memory"*) ERRNO=ENOMEM;;
	*"Operation not supported"*|*"Not supported"*) ERRNO=EOPNOTSUPP;;
	*"Timer expired"*|*"timed out"*) ERRNO=ETIMEDOUT;;
	*"Argument list too long"*) ERRNO=E2BIG;;
	*"No space left on device"*) ERRNO=ENOSPC;;
	*"Protocol error"*) ERRNO=EPROTO;;
	*"Key was rejected by service"*) ERRNO=EKEYREJECTED;;
	*) ERRNO="unknown($1)";;
	esac
}

# platform_state: sets STATE to the emulated platform's state as the suites
# of bad input and allocation failures check it (45-privilege.sh's state):
# tsm/connect, tsm/bound and authenticated of function 0, tsm/dsm of function
# 1 and the host bridge's available_secure_streams, "|"-separated; read with
# builtins only.
platform_state() {
	local c b d a s
	read_attr c $PLATFORM_DSM/tsm/connect
	read_attr b $PLATFORM_DSM/tsm/bound
	read_attr d ${PLATFORM_DSM%.0}.1/tsm/dsm
	read_attr a $PLATFORM_DSM/authenticated
	read_attr s /sys/devices/faux/tsm_emu_bus/pci10000:00/available_secure_streams
	STATE="$c|$b|$d|$a|$s"
}

# write_quiet FILE DATA: writes DATA (no newline added) to FILE with a
# builtin, in this shell; only the exit status tells the result.
write_quiet() {
	{ echo -n "$2" > "$1"; } 2> /dev/null
}

# read_attr VAR FILE: sets VAR to the first line of FILE, empty if FILE is
# missing or empty (a builtin: no process, unlike $(cat FILE)).
read_attr() {
	eval "$1="
	{ read -r "$1" < "$2"; } 2> /dev/null
	return 0
}

# write_attr FILE DATA: writes DATA (no newline added) in one write; prints OK
# or the errno name. busybox's echo reports a failed write with its strerror
# text (its printf fails silently). Empty DATA makes no write at all.
write_attr() {
	local err
	if err=$( (echo -n "$2" > "$1") 2>&1 ); then echo OK; else errno_of "$err"; fi
}

# expect_write FILE DATA RESULT (OK or an errno name)
expect_write() {
	local got
	got=$(write_attr "$1" "$2")
	[ "$got" = "$3" ] || fail "write '$(printf '%.40s' "$2")' to $1: got $got, expected $3"
}

# tsm_of MODULE: the tsmN that MODULE's faux device (of the same name) provides.
tsm_of() { ls "/sys/devices/faux/$1/tsm" 2>/dev/null | head -n1; }

load() { modprobe "$@" || fail "modprobe $*"; }
unload() { modprobe -r "$@" || fail "modprobe -r $*"; }

# Core under test: "rs" (tsm-rs) or "c" (upstream), from tsm_rs.core= on the
# kernel command line.
core() {
	local arg
	for arg in $(cat /proc/cmdline); do
		case $arg in tsm_rs.core=*) echo "${arg#tsm_rs.core=}"; return;; esac
	done
	echo rs
}

# only_on_core CORE REASON: returns 1 (and marks the case skipped) elsewhere.
only_on_core() {
	[ "$(core)" = "$1" ] && return 0
	echo "SKIP: $2"
	return 1
}

# Uevents, as user space sees them: busybox's uevent applet logs
# "ACTION DEVPATH" lines to /tmp/uevents.
start_uevents() {
	: > /tmp/uevents
	uevent /e2e/uevent-log > /dev/null 2>&1 &
	echo $! > /tmp/uevent.pid
	sleep 0.2
}

stop_uevents() {
	[ -f /tmp/uevent.pid ] && kill "$(cat /tmp/uevent.pid)" 2> /dev/null
	rm -f /tmp/uevent.pid
}

expect_uevent() {
	grep -qx "$1" /tmp/uevents || fail "no uevent '$1'; saw: $(tr '\n' ';' < /tmp/uevents)"
}

# wait_uevent LINE: waits up to 5 s for LINE (helpers run asynchronously).
wait_uevent() {
	local i=0
	while [ $i -lt 50 ]; do
		grep -qx "$1" /tmp/uevents && return 0
		sleep 0.1
		i=$((i + 1))
	done
	expect_uevent "$1"
}

# cfg_write DEV OFFSET VALUE: writes a dword of DEV's configuration space
# (little endian) through sysfs.
cfg_write() {
	local v=$(($3)) i=0 bytes=
	while [ $i -lt 4 ]; do
		bytes="$bytes\\$(printf %03o $(( (v >> (8 * i)) & 255 )))"
		i=$((i + 1))
	done
	printf "$bytes" | dd of="$1/config" bs=4 seek=$(($2 / 4)) count=1 conv=notrunc 2>/dev/null
}

# cfg_read DEV OFFSET: a dword of DEV's configuration space, as 8 hex digits.
cfg_read() {
	dd if="$1/config" bs=4 skip=$(($2 / 4)) count=1 2>/dev/null | od -An -tx4 | tr -d ' \n'
}

# devmodel_dev NAME: the sysfs directory of the emulated NVMe function NAME
# (scripts/lib/devmodel.sh's devmodel_start; /devmodel/devices lists its root
# port), or nothing. Its device model's root certificate is /devmodel/NAME.pem.
devmodel_dev() {
	local name rp port d
	[ -f /devmodel/devices ] || return 1
	while read -r name rp port; do
		[ "$name" = "$1" ] || continue
		for d in /sys/bus/pci/devices/"$rp"/0000:*:00.0; do
			[ -e "$d" ] && { echo "/sys/bus/pci/devices/${d##*/}"; return 0; }
		done
	done < /devmodel/devices
	return 1
}

# The emulated platform with its device model. tsm_emu_bus relays the DSM's
# CMA mailbox (Endpoint function 0, or the switch's Upstream Port, both at
# 10000:01:00.0) through $PLATFORM_MBOX to /bin/tsm-devmodel running in the
# guest, which authenticates, keys IDE and runs TDISP for the emulated link TSM
# and for native CMA.
PLATFORM_DSM=/sys/bus/pci/devices/10000:01:00.0
PLATFORM_MBOX=/dev/tsm_emu_mbox0
PLATFORM_MODEL_PID=/tmp/platform-model.pid
PLATFORM_MODEL_LOG=/tmp/platform-model.log
# The chain make_initramfs generated for the platform's DSM (gen-certs): no
# chain is generated in the guest, where that takes seconds under TCG.
PLATFORM_CERTS=/devmodel/platform

# pci_identity DEV: VENDOR:DEVICE:CLASS:REV:SSVID:SSID of DEV, as the model's
# --pci-id takes it.
pci_identity() {
	printf '%04x:%04x:%06x:%02x:%04x:%04x' "$(cat "$1/vendor")" "$(cat "$1/device")" \
		"$(cat "$1/class")" "$(cat "$1/revision")" "$(cat "$1/subsystem_vendor")" \
		"$(cat "$1/subsystem_device")"
}

# model_holds_mailbox: waits up to 20 s until the model holds $PLATFORM_MBOX
# open (a request nobody reads times out after 1 s).
model_holds_mailbox() {
	local i=0 pid
	pid=$(cat $PLATFORM_MODEL_PID)
	while [ $i -lt 200 ]; do
		ls -l /proc/"$pid"/fd 2> /dev/null | grep -q "$PLATFORM_MBOX" && return 0
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	fail "the model does not open $PLATFORM_MBOX: $(tail -n 3 $PLATFORM_MODEL_LOG)"
}

# model_start [FAULT|--OPTION...]: the device model of the platform's DSM on
# the relay, in the background. A word starting with -- is passed as it is
# (--suite=p256), any other one as a --fault.
model_start() {
	local a args="" rid certs=
	expect_exists $PLATFORM_MBOX || return 1
	rid=${PLATFORM_DSM##*/}
	rid=${rid#*:}
	rid=$((0x${rid%%:*} << 8))
	[ -d $PLATFORM_CERTS ] && certs="--certs $PLATFORM_CERTS"
	for a in "$@"; do
		case $a in
		--*) args="$args $a"; certs=;;
		*) args="$args --fault $a";;
		esac
	done
	# shellcheck disable=SC2086 # the words have no spaces.
	tsm-devmodel serve --device $PLATFORM_MBOX --rid $rid \
		--pci-id "$(pci_identity $PLATFORM_DSM)" $certs -v $args \
		> $PLATFORM_MODEL_LOG 2>&1 < /dev/null &
	echo $! > $PLATFORM_MODEL_PID
	model_holds_mailbox
}

# model_stop: ends the model model_start started and waits until it is gone
# (the relay takes one opener at a time, and holds tsm_emu_bus while open).
model_stop() {
	local pid i=0
	[ -f $PLATFORM_MODEL_PID ] || return 0
	pid=$(cat $PLATFORM_MODEL_PID)
	rm -f $PLATFORM_MODEL_PID
	kill "$pid" 2> /dev/null
	while kill -0 "$pid" 2> /dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! kill -0 "$pid" 2> /dev/null || fail "device model $pid does not stop"
}

# platform_up [PARAM=VALUE...] [-- MODEL_ARG...]: loads tsm_emu_bus in relay
# mode with the module parameters given and starts the DSM's device model with
# the model arguments (model_start).
platform_up() {
	local params=""
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		params="$params $1"
		shift
	done
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086 # parameters have no spaces.
	load tsm_emu_bus relay=1 $params || return 1
	model_start "$@"
}

# platform_down: stops the model and unloads tsm_emu_bus.
platform_down() {
	model_stop
	modprobe -r tsm_emu_bus
}

# kmemleak_report: one line per unreferenced object kmemleak reports, its
# backtrace joined with spaces. Every one is a finding: unloading tsm_emu_bus
# frees its whole hierarchy, the host bridge included, also with VFs enabled.
kmemleak_report() {
	awk '/^unreferenced object/ { if (bt != "") print bt; bt = "" ; next }
		/^  backtrace/ { inbt = 1; next }
		inbt && /^    / { bt = bt " " $1; next }
		{ inbt = 0 }
		END { if (bt != "") print bt }' /sys/kernel/debug/kmemleak
}

# For the demos: register values as a user would read them.
# key_status DEV OFFSET WHAT: the key port's Key Status of entry 0, as counts.
key_status() {
	local v
	v=$((0x$(cfg_read "$1" $(($2 + 0x20)))))
	if [ $((v >> 31)) -eq 0 ]; then
		echo "  $3: no keys"
	else
		echo "  $3: Stream ID $((v & 255)), $(((v >> 8) & 255)) key slots programmed," \
			"$(((v >> 16) & 255)) in use (key bytes are never readable)"
	fi
}
# stream_state DEV OFFSET WHAT: a Selective IDE Stream Status register.
stream_state() {
	local v
	v=$((0x$(cfg_read "$1" "$2")))
	case $((v & 15)) in 2) echo "  $3 stream: Secure";; *) echo "  $3 stream: Insecure";; esac
}
