# SPDX-License-Identifier: GPL-2.0
# Helpers for the end-to-end suites: KTAP output, expectations, sysfs writes
# that report the errno, module loading.

# Runs one suite file in a subshell and prints it as a KTAP subtest.
run_suite() {
	local n=$1 name=$2 script=$3 cases c skip i=0 failed=0
	cases=$(sed -n 's/^\(case_[a-z0-9_]*\)().*/\1/p' "$script")
	echo "    KTAP version 1"
	echo "    # Subtest: $name"
	echo "    1..$(echo "$cases" | wc -l)"
	for c in $cases; do
		i=$((i + 1))
		if (. "$script"; setup_suite 2>/dev/null; "$c") > /tmp/case.log 2>&1; then
			sed 's/^/    # /' /tmp/case.log
			skip=$(sed -n 's/^SKIP: //p' /tmp/case.log | head -1)
			if [ -n "$skip" ]; then
				echo "    ok $i ${c#case_} # SKIP $skip"
			else
				echo "    ok $i ${c#case_}"
			fi
		else
			sed 's/^/    # /' /tmp/case.log
			echo "    not ok $i ${c#case_}"
			failed=1
		fi
		(. "$script"; teardown_case 2>/dev/null) > /dev/null 2>&1
	done
	if [ $failed = 0 ]; then echo "ok $n $name"; else echo "not ok $n $name"; fi
}

fail() { echo "FAIL: $*"; return 1; }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

expect_exists() { [ -e "$1" ] || [ -L "$1" ] || fail "$1 does not exist"; }
expect_absent() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "$1 exists"; }

# errno name of a failed write, from busybox's strerror text.
errno_of() {
	case $1 in
	*"Invalid argument"*) echo EINVAL;;
	*"Device or resource busy"*|*"Resource busy"*) echo EBUSY;;
	*"No such device or address"*) echo ENXIO;;
	*"No such device"*) echo ENODEV;;
	*"No such file or directory"*) echo ENOENT;;
	*"Permission denied"*) echo EACCES;;
	*"Operation not permitted"*) echo EPERM;;
	*"Interrupted system call"*) echo EINTR;;
	*"I/O error"*) echo EIO;;
	*"Input/output error"*) echo EIO;;
	*"Out of memory"*|*"Cannot allocate memory"*) echo ENOMEM;;
	*"Operation not supported"*|*"Not supported"*) echo EOPNOTSUPP;;
	*"Timer expired"*|*"timed out"*) echo ETIMEDOUT;;
	*"Argument list too long"*) echo E2BIG;;
	*"Protocol error"*) echo EPROTO;;
	*"Key was rejected by service"*) echo EKEYREJECTED;;
	*) echo "unknown($1)";;
	esac
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
