# SPDX-License-Identifier: GPL-2.0
# Privilege: every writable file of the tsm/ ABI and of the emulated
# platform's test controls refuses a writer that is not root, with EACCES
# from the file mode, and the state stays as it was. Both connect states.

BUS=tsm_emu_bus
LINK=tsm_emu_link
PF0=/sys/bus/pci/devices/10000:01:00.0
FN1=/sys/bus/pci/devices/10000:01:00.1
CTL=/sys/devices/faux/tsm_emu_link
BUSCTL=/sys/devices/faux/tsm_emu_bus
NOBODY=65534

teardown_case() { modprobe -r $LINK; platform_down; }

# An unprivileged account for su: the initramfs has no user database.
add_nobody() {
	mkdir -p /etc
	grep -q '^nobody:' /etc/passwd 2>/dev/null ||
		echo "nobody:x:$NOBODY:$NOBODY:nobody:/:/bin/sh" >> /etc/passwd
	grep -q '^nogroup:' /etc/group 2>/dev/null || echo "nogroup:x:$NOBODY:" >> /etc/group
}

# write_as_nobody FILE DATA: OK or the errno name of the write.
write_as_nobody() {
	local err
	if err=$(su -s /bin/sh nobody -c "echo -n '$2' > '$1'" 2>&1); then
		echo OK
	else
		errno_of "$err"
	fi
}

# The writable files below DIR (any write bit).
writable_files() {
	find "$1" -maxdepth 1 -type f -perm /222 2>/dev/null
}

# state: what a refused write must not change.
state() {
	printf '%s|%s|%s|%s|%s\n' "$(cat $PF0/tsm/connect)" "$(cat $PF0/tsm/bound)" \
		"$(cat $FN1/tsm/dsm 2>/dev/null)" "$(cat $PF0/authenticated)" \
		"$(cat $BUSCTL/pci10000:00/available_secure_streams)"
}

# expect_refused_for_nobody DIR DATA: every writable file of DIR.
expect_refused_for_nobody() {
	local f got n=0
	for f in $(writable_files "$1"); do
		n=$((n + 1))
		got=$(write_as_nobody "$f" "$2")
		[ "$got" = EACCES ] || fail "$f written by uid $NOBODY: got $got, expected EACCES" || return 1
	done
	[ $n -gt 0 ] || fail "no writable file in $1"
}

unprivileged_writes_change_nothing() {
	local before
	before=$(state)
	expect_refused_for_nobody $PF0/tsm tsm0 || return 1
	expect_refused_for_nobody $CTL 10000:01:00.0 || return 1
	expect_refused_for_nobody $BUSCTL 1 || return 1
	expect_eq "$(state)" "$before" "state after refused writes"
}

case_unprivileged_writers_are_refused() {
	add_nobody
	expect_eq "$(su -s /bin/sh nobody -c 'id -u')" $NOBODY "uid of the test account" || return 1
	platform_up && load $LINK || return 1
	unprivileged_writes_change_nothing || return 1
	expect_write $PF0/tsm/connect tsm0 OK || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	unprivileged_writes_change_nothing || return 1
	expect_eq "$(cat $PF0/tsm/connect)" tsm0 "still connected" || return 1
	expect_write $PF0/tsm/disconnect tsm0 OK
}
