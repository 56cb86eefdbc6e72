# SPDX-License-Identifier: GPL-2.0
# The emulated TDISP platform (tsm_emu_bus): an emulated host bridge with a
# Root Port and a two-function TDISP Endpoint, as the PCI core enumerates it.

BUS=tsm_emu_bus
RP=/sys/bus/pci/devices/10000:00:01.0
PF0=/sys/bus/pci/devices/10000:01:00.0
FN1=/sys/bus/pci/devices/10000:01:00.1

teardown_case() { modprobe -r $BUS; }

case_devices_enumerate() {
	load $BUS || return 1
	expect_exists $RP || return 1
	expect_exists $PF0 || return 1
	expect_exists $FN1 || return 1
	expect_absent /sys/bus/pci/devices/10000:01:00.2 || return 1
	expect_eq "$(cat $PF0/vendor)" 0xfffe "vendor" || return 1
	expect_eq "$(cat $PF0/class)" 0x120000 "class" || return 1
	expect_eq "$(cat $RP/class)" 0x060400 "root port class"
}

case_host_bridge_under_faux_device() {
	load $BUS || return 1
	expect_eq "$(readlink -f /sys/class/pci_bus/10000:00/device)" \
		/sys/devices/faux/tsm_emu_bus/pci10000:00 "host bridge" || return 1
	expect_eq "$(cat /sys/devices/faux/tsm_emu_bus/pci10000:00/available_secure_streams)" 4 "streams"
}

case_bar0_is_assigned() {
	load $BUS || return 1
	cat $PF0/resource | head -2
	set -- $(head -1 $PF0/resource)
	# start, end, flags: 2 MiB, 64-bit prefetchable memory
	expect_eq $(( $2 - $1 + 1 )) $((2 << 20)) "BAR 0 size" || return 1
	[ $(( $3 & 0x2000 )) -ne 0 ] || fail "BAR 0 not prefetchable ($3)"
}

case_doe_features() {
	load $BUS || return 1
	ls $PF0/doe_features
	expect_eq "$(cat $PF0/doe_features/doe_discovery)" 0001:00 "discovery" || return 1
	expect_exists $PF0/doe_features/0001:01 || return 1
	expect_exists $PF0/doe_features/0001:02 || return 1
	expect_absent $FN1/doe_features
}

case_functions_parameter() {
	load $BUS functions=3 || return 1
	expect_exists /sys/bus/pci/devices/10000:01:00.2 || return 1
	unload $BUS || return 1
	load $BUS functions=1 || return 1
	expect_absent $FN1 || return 1
	unload $BUS || return 1
	modprobe $BUS functions=9 2>/dev/null && fail "functions=9 loaded"
	expect_absent /sys/devices/faux/tsm_emu_bus
}

case_unload_removes_everything() {
	load $BUS || return 1
	unload $BUS || return 1
	expect_absent $PF0 || return 1
	expect_absent /sys/devices/faux/tsm_emu_bus || return 1
	expect_absent /sys/class/pci_bus/10000:00 || return 1
	# The domain number is free again: a reload gets 10000 once more.
	load $BUS || return 1
	expect_exists $PF0
}
