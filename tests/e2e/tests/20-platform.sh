# SPDX-License-Identifier: GPL-2.0
# The emulated TDISP platform (tsm_emu_bus): an emulated host bridge with a
# Root Port and a two-function TDISP Endpoint, as the PCI core enumerates it
# (and platforms=N copies of it, one PCI domain each).

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

case_streams_parameter() {
	load $BUS streams=2 || return 1
	expect_eq "$(cat /sys/devices/faux/tsm_emu_bus/pci10000:00/available_secure_streams)" 2 "streams" || return 1
	unload $BUS || return 1
	modprobe $BUS streams=0 2>/dev/null && fail "streams=0 loaded"
	expect_absent /sys/devices/faux/tsm_emu_bus
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

case_platforms_parameter() {
	local d
	load $BUS platforms=3 relay=1 || return 1
	for d in 10000 10001 10002; do
		expect_exists /sys/devices/faux/tsm_emu_bus/pci$d:00 || return 1
		expect_eq "$(cat /sys/bus/pci/devices/$d:01:00.0/class)" 0x120000 "DSM of $d" || return 1
	done
	expect_absent /sys/bus/pci/devices/10003:01:00.0 || return 1
	for d in 0 1 2; do expect_exists /dev/tsm_emu_mbox$d || return 1; done
	expect_absent /dev/tsm_emu_mbox3 || return 1
	unload $BUS || return 1
	expect_absent /dev/tsm_emu_mbox2 || return 1
	expect_absent /sys/bus/pci/devices/10001:01:00.0 || return 1
	modprobe $BUS platforms=0 2>/dev/null && fail "platforms=0 loaded"
	modprobe $BUS platforms=513 2>/dev/null && fail "platforms=513 loaded"
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

# Function 0's DOE capability is at 0x100: Control 0x108, Status 0x10c,
# Write Data Mailbox 0x110, Read Data Mailbox 0x114.
DOE_CTRL=0x108
DOE_STATUS=0x10c
DOE_WRITE=0x110
DOE_READ=0x114

# doe_read_ack: prints the current Read Data Mailbox dword and acknowledges it.
doe_read_ack() { cfg_read $PF0 $DOE_READ; cfg_write $PF0 $DOE_READ 0; }

case_doe_mailbox_registers() {
	load $BUS || return 1
	expect_eq "$(cfg_read $PF0 0x100)" 1202002e "DOE capability header" || return 1
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 00000000 "idle status" || return 1
	# Discovery, index 1: PCI-SIG vendor, type 0, three dwords.
	cfg_write $PF0 $DOE_WRITE 0x00000001
	cfg_write $PF0 $DOE_WRITE 0x00000003
	cfg_write $PF0 $DOE_WRITE 0x00000001
	cfg_write $PF0 $DOE_CTRL 0x80000000
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 80000000 "Data Object Ready" || return 1
	expect_eq "$(doe_read_ack)" 00000001 "response header 1" || return 1
	expect_eq "$(doe_read_ack)" 00000003 "response header 2" || return 1
	# Entry 1: CMA (vendor 0001, type 01), next index 2.
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 80000000 "ready before the last dword" || return 1
	expect_eq "$(doe_read_ack)" 02010001 "discovery entry 1" || return 1
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 00000000 "status after the response" || return 1
	# An object type the device does not support sets Error; Abort clears it.
	cfg_write $PF0 $DOE_WRITE 0x00050001
	cfg_write $PF0 $DOE_WRITE 0x00000002
	cfg_write $PF0 $DOE_CTRL 0x80000000
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 00000004 "Error" || return 1
	cfg_write $PF0 $DOE_CTRL 0x00000001
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 00000000 "status after Abort" || return 1
	# Injected timeout: Busy, never Data Object Ready, until Abort.
	expect_write /sys/devices/faux/tsm_emu_bus/doe_fault timeout OK || return 1
	cfg_write $PF0 $DOE_WRITE 0x00000001
	cfg_write $PF0 $DOE_WRITE 0x00000003
	cfg_write $PF0 $DOE_WRITE 0x00000000
	cfg_write $PF0 $DOE_CTRL 0x80000000
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 00000001 "Busy" || return 1
	cfg_write $PF0 $DOE_CTRL 0x00000001
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 00000000 "status after Abort" || return 1
	expect_write /sys/devices/faux/tsm_emu_bus/doe_fault bogus EINVAL || return 1
	expect_write /sys/devices/faux/tsm_emu_bus/doe_fault none OK
}
