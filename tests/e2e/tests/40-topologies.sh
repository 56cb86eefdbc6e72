# SPDX-License-Identifier: GPL-2.0
# DSM topologies beyond one multi-function Endpoint: SR-IOV VFs of Endpoint
# function 0 (tsm_emu_bus vfs=, enabled through pci-pf-stub and sriov_numvfs),
# managed by the connected function 0 whether they appear before or after the
# connect, and torn down by disconnect, VF removal and TSM unload; and a switch
# (tsm_emu_bus switch=) whose Upstream Port is the DSM of the Endpoints below
# its Downstream Ports.

BUS=tsm_emu_bus
LINK=tsm_emu_link
PF0=/sys/bus/pci/devices/10000:01:00.0
FN1=/sys/bus/pci/devices/10000:01:00.1
# First VF Offset 8, stride 1: the VFs are device 1 of the Endpoint's bus.
VF0=/sys/bus/pci/devices/10000:01:01.0
VF1=/sys/bus/pci/devices/10000:01:01.1
CTL=/sys/devices/faux/tsm_emu_link

teardown_case() {
	[ -e $PF0/sriov_numvfs ] && echo 0 > $PF0/sriov_numvfs
	modprobe -r $LINK
	platform_down
}

# load_vfs N: the platform with N VFs, function 0 bound to pci-pf-stub.
load_vfs() {
	platform_up vfs="$1" || return 1
	expect_write $PF0/driver_override pci-pf-stub OK || return 1
	expect_write /sys/bus/pci/drivers_probe 10000:01:00.0 OK || return 1
	expect_eq "$(basename "$(readlink $PF0/driver)")" pci-pf-stub "driver of function 0" || return 1
	expect_eq "$(cat $PF0/sriov_totalvfs)" "$1" "sriov_totalvfs"
}

set_vfs() { expect_write $PF0/sriov_numvfs "$1" OK; }
connect() { expect_write $PF0/tsm/connect tsm0 OK; }

# Function 0 connected with two VFs enabled.
connected_with_vfs() {
	load_vfs 2 && load $LINK || return 1
	set_vfs 2 && connect
}

# expect_managed VF...: each VF has a context under function 0.
expect_managed() {
	local vf
	for vf in "$@"; do
		expect_eq "$(cat $vf/tsm/dsm)" 10000:01:00.0 "dsm of $vf" || return 1
		expect_eq "$(cat $vf/authenticated)" tsm0 "authenticated of $vf" || return 1
		expect_eq "$(cat $vf/tsm/bound)" "" "bound of $vf" || return 1
	done
}

expect_unmanaged() {
	local vf
	for vf in "$@"; do
		expect_absent $vf/tsm || return 1
		expect_absent $vf/authenticated || return 1
	done
}

# no_splat: nothing the console checker would flag since the last dmesg -c.
no_splat() {
	! dmesg | grep -E 'BUG:|WARNING:|KASAN|locking' || fail "kernel splat"
}

case_vfs_enumerate() {
	load_vfs 3 || return 1
	expect_absent $VF0 || return 1
	set_vfs 2 || return 1
	expect_exists $VF0 || return 1
	expect_exists $VF1 || return 1
	expect_absent /sys/bus/pci/devices/10000:01:01.2 || return 1
	expect_eq "$(readlink -f $VF0/physfn)" "$(readlink -f $PF0)" "physfn" || return 1
	expect_eq "$(cat $VF0/device)" 0x0003 "VF device ID" || return 1
	# A VF's own Vendor ID register reads all ones.
	expect_eq "$(dd if=$VF0/config bs=2 count=1 2>/dev/null | od -An -tx2 | tr -d ' ')" ffff \
		"VF Vendor ID register" || return 1
	set_vfs 0 || return 1
	expect_absent $VF0
}

case_vfs_after_connect_are_managed() {
	load_vfs 2 && load $LINK || return 1
	connect || return 1
	set_vfs 2 || return 1
	expect_managed $VF0 $VF1 || return 1
	expect_eq "$(cat $FN1/tsm/dsm)" 10000:01:00.0 "dsm of function 1"
}

case_vfs_before_connect_are_managed_after_it() {
	load $LINK && load_vfs 2 || return 1
	set_vfs 2 || return 1
	expect_unmanaged $VF0 $VF1 || return 1
	connect || return 1
	expect_managed $VF0 $VF1
}

case_bind_and_unbind_a_vf() {
	connected_with_vfs || return 1
	expect_write $CTL/bind 10000:01:01.1 OK || return 1
	expect_eq "$(cat $VF1/tsm/bound)" tsm0 "bound" || return 1
	expect_eq "$(cat $VF0/tsm/bound)" "" "other VF bound" || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "function 0 bound" || return 1
	expect_write $CTL/unbind 10000:01:01.1 OK || return 1
	expect_eq "$(cat $VF1/tsm/bound)" "" "bound after unbind"
}

case_disconnect_removes_vf_contexts() {
	connected_with_vfs || return 1
	expect_write $CTL/bind 10000:01:01.0 OK || return 1
	expect_write $PF0/tsm/disconnect tsm0 OK || return 1
	expect_unmanaged $VF0 $VF1 || return 1
	expect_eq "$(cat $PF0/tsm/connect)" "" "connect" || return 1
	# Reconnecting manages them again, unbound.
	connect || return 1
	expect_managed $VF0 $VF1
}

case_vf_removal_while_connected() {
	connected_with_vfs || return 1
	expect_write $CTL/bind 10000:01:01.1 OK || return 1
	dmesg -c > /dev/null
	set_vfs 0 || return 1
	expect_absent $VF0 || return 1
	expect_absent $VF1 || return 1
	no_splat || return 1
	expect_eq "$(cat $PF0/tsm/connect)" tsm0 "function 0 still connected" || return 1
	# New VFs join the connection.
	set_vfs 1 || return 1
	expect_managed $VF0
}

case_unload_tsm_with_vfs_connected() {
	connected_with_vfs || return 1
	expect_write $CTL/bind 10000:01:01.0 OK || return 1
	dmesg -c > /dev/null
	unload $LINK || return 1
	no_splat || return 1
	expect_absent $VF0/tsm || return 1
	expect_absent $PF0/tsm || return 1
	expect_absent $VF0/authenticated
}

# The switch (tsm_emu_bus switch=2): Upstream Port 01:00.0 (the DSM: TEE-IO,
# DOE, IDE), Downstream Ports 02:00.0 and 02:01.0, a plain Endpoint below each.
USP=/sys/bus/pci/devices/10000:01:00.0
DSP0=/sys/bus/pci/devices/10000:02:00.0
DSP1=/sys/bus/pci/devices/10000:02:01.0
EP0=/sys/bus/pci/devices/10000:03:00.0
EP1=/sys/bus/pci/devices/10000:04:00.0
HB=/sys/devices/faux/tsm_emu_bus/pci10000:00

case_switch_enumerates() {
	platform_up switch=2 || return 1
	expect_eq "$(cat $USP/class)" 0x060400 "upstream port class" || return 1
	expect_eq "$(cat $DSP1/class)" 0x060400 "downstream port class" || return 1
	expect_eq "$(cat $EP0/device)" 0x0006 "endpoint 0" || return 1
	expect_eq "$(cat $EP1/device)" 0x0006 "endpoint 1" || return 1
	expect_exists $USP/doe_features/0001:01 || return 1
	expect_absent /sys/bus/pci/devices/10000:05:00.0
}

# 7.3's disconnect of an Upstream Port DSM unbinds each function below it
# under pci_bus_sem (pci_walk_bus_reverse) taking the DSM lock, the reverse of
# connect's order: lockdep reports a circular dependency (pci_tsm_rwsem keeps
# the two paths apart, but the report fails a lockdep kernel). Every way out of
# a connected Upstream Port (disconnect, TSM unload, device removal) runs it.
USP_C_SKIP="7.3's Upstream Port DSM disconnect trips lockdep (pci_bus_sem vs DSM lock)"

case_switch_upstream_port_connects() {
	only_on_core rs "$USP_C_SKIP" || return 0
	platform_up switch=2 && load $LINK || return 1
	expect_eq "$(cat $USP/tsm/connect)" "" "connect before" || return 1
	expect_absent $EP0/tsm || return 1
	expect_write $USP/tsm/connect tsm0 OK || return 1
	expect_eq "$(cat $USP/tsm/dsm)" 10000:01:00.0 "dsm of the upstream port" || return 1
	expect_eq "$(cat $EP0/tsm/dsm)" 10000:01:00.0 "dsm of endpoint 0" || return 1
	expect_eq "$(cat $EP1/tsm/dsm)" 10000:01:00.0 "dsm of endpoint 1" || return 1
	expect_eq "$(cat $EP1/authenticated)" tsm0 "authenticated of endpoint 1" || return 1
	# A Downstream Port is not two levels below the Upstream Port: no DSM.
	expect_absent $DSP0/tsm || return 1
	# No IDE stream for an Upstream Port DSM.
	expect_eq "$(cat $HB/available_secure_streams)" 4 "streams" || return 1
	expect_write $CTL/bind 10000:04:00.0 OK || return 1
	expect_eq "$(cat $EP1/tsm/bound)" tsm0 "bound" || return 1
	expect_write $USP/tsm/disconnect tsm0 OK || return 1
	expect_absent $EP0/tsm || return 1
	expect_absent $EP1/tsm || return 1
	expect_eq "$(cat $USP/tsm/connect)" "" "connect after disconnect"
}

# Link IDE is set up to Endpoints only: a switch Upstream Port DSM in link
# mode is refused at connect, and nothing is left behind.
case_connect_mode_link_to_a_switch_is_refused() {
	only_on_core rs "tsm/connect_mode is a tsm-rs addition" || return 0
	platform_up switch=2 && load $LINK || return 1
	expect_eq "$(cat $USP/tsm/connect_mode)" "link [selective]" "mode" || return 1
	expect_write $USP/tsm/connect_mode link OK || return 1
	expect_write $USP/tsm/connect tsm0 EOPNOTSUPP || return 1
	expect_eq "$(cat $USP/tsm/connect)" "" "connect" || return 1
	expect_absent $EP0/tsm || return 1
	expect_write $USP/tsm/connect_mode selective OK
}

case_unload_tsm_with_switch_connected() {
	only_on_core rs "$USP_C_SKIP" || return 0
	platform_up switch=2 && load $LINK || return 1
	expect_write $USP/tsm/connect tsm0 OK || return 1
	expect_write $CTL/bind 10000:03:00.0 OK || return 1
	dmesg -c > /dev/null
	unload $LINK || return 1
	no_splat || return 1
	expect_absent $EP0/tsm || return 1
	expect_absent $USP/tsm
}
