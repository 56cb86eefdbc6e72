# SPDX-License-Identifier: GPL-2.0
# Connecting a device of the emulated TDISP platform through the emulated link
# TSM: tsm/ visibility, connect/disconnect, IDE stream accounting, the IDE keys
# at both ends of the stream, the DSM of each function, TDI binding, teardown
# by TSM unload and device removal, rollback from every fault point, and the
# errors of bad input; the MMIO a locked TDI accepts. Both module load orders.

BUS=tsm_emu_bus
LINK=tsm_emu_link
PF0=/sys/bus/pci/devices/10000:01:00.0
FN1=/sys/bus/pci/devices/10000:01:00.1
RP=/sys/bus/pci/devices/10000:00:01.0
HB=/sys/devices/faux/tsm_emu_bus/pci10000:00
CTL=/sys/devices/faux/tsm_emu_link
NL='
'

teardown_case() { modprobe -r $LINK; platform_down; }

streams() { cat $HB/available_secure_streams; }
stream_links() { ls $HB | grep '^stream' | tr '\n' ' ' | sed 's/ $//'; }

# The first Selective IDE Stream block's Control and Status registers: the
# Endpoint's IDE capability is at 0x120, the Root Port's at 0x100, each with
# one Link IDE block (8 bytes) after the 12-byte header.
EP_SEL_CTL=0x138
RP_SEL_CTL=0x118
# The platform's IDE key ports (drivers/virt/coco/tsm/emu/ide_keys.rs), after
# each port's IDE capability: Control +0x0c, Status +0x10 (bit 30: no key byte
# left), Key Status of entry 0 +0x20 (bit 31 in use, 23:16 slots in use, 15:8
# slots holding a key, 7:0 Stream ID).
EP_KEYS=0x174
RP_KEYS=0x1c4
# Link IDE Stream Control of traffic class 0 (Status follows it).
EP_LINK_CTL=0x12c
RP_LINK_CTL=0x10c
# Stream ID 0 keyed in the 6 slots of key set 0 (PR, NPR, CPL; RX and TX), all
# in use.
KEYED=80060600

load_both() {
	if [ "$1" = tsm-first ]; then
		load $LINK && platform_up
	else
		platform_up && load $LINK
	fi
}

connect() { expect_write $PF0/tsm/connect tsm0 OK; }

expect_connected() {
	expect_eq "$(cat $PF0/tsm/connect)" tsm0 "connect" || return 1
	expect_eq "$(streams)" 3 "available_secure_streams" || return 1
	expect_eq "$(stream_links)" stream0.0.0 "stream links" || return 1
	expect_eq "$(readlink -f $HB/stream0.0.0)" "$(readlink -f $PF0)" "stream link target" || return 1
	expect_eq "$(cat $PF0/tsm/dsm)" 10000:01:00.0 "dsm of function 0" || return 1
	expect_eq "$(cat $FN1/tsm/dsm)" 10000:01:00.0 "dsm of function 1" || return 1
	expect_eq "$(cat $PF0/authenticated)" tsm0 "authenticated" || return 1
	expect_eq "$(cat $FN1/authenticated)" tsm0 "authenticated of function 1" || return 1
	expect_keyed $PF0 $EP_KEYS Endpoint || return 1
	expect_keyed $RP $RP_KEYS "Root Port"
}

# expect_keyed DEV KEY_PORT WHAT: the port holds the stream's keys, in use.
expect_keyed() {
	expect_eq "$(cfg_read "$1" $(($2 + 0x20)))" $KEYED "$3 key status"
}

# expect_wiped DEV KEY_PORT WHAT: no key slot in use and no key byte left.
expect_wiped() {
	local status
	status=$(cfg_read "$1" $(($2 + 0x10)))
	[ $((0x$status & 0x40000000)) -ne 0 ] || fail "$3 key port status $status: keys left" || return 1
	expect_eq "$(cfg_read "$1" $(($2 + 0x20)))" 00000000 "$3 key status"
}

# Nothing of a connection is left: no context, all streams back, no links.
expect_disconnected() {
	expect_eq "$(cat $PF0/tsm/connect)" "" "connect" || return 1
	expect_eq "$(cat $PF0/tsm/dsm)" "" "dsm" || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "bound" || return 1
	expect_eq "$(cat $PF0/authenticated)" "" "authenticated" || return 1
	expect_eq "$(streams)" 4 "available_secure_streams" || return 1
	expect_eq "$(stream_links)" "" "stream links" || return 1
	expect_absent $FN1/tsm || return 1
	expect_stream_idle $PF0 $EP_SEL_CTL Endpoint || return 1
	expect_stream_idle $RP $RP_SEL_CTL "Root Port" || return 1
	expect_wiped $PF0 $EP_KEYS Endpoint || return 1
	expect_wiped $RP $RP_KEYS "Root Port"
}

# expect_stream_idle DEV CTL_OFFSET WHAT: enable bit clear, state Insecure.
expect_stream_idle() {
	local ctl
	ctl=$(cfg_read "$1" "$2")
	[ $((0x$ctl & 1)) -eq 0 ] || fail "$3 stream enabled ($ctl)" || return 1
	expect_eq "$(cfg_read "$1" $(($2 + 4)))" 00000000 "$3 stream status"
}

connect_flow() {
	load_both "$1" || return 1
	expect_exists $PF0/tsm || return 1
	expect_absent $FN1/tsm || return 1
	expect_eq "$(streams)" 4 "streams before connect" || return 1
	expect_eq "$(cat $PF0/tsm/connect)" "" "connect before" || return 1
	expect_eq "$(cat $PF0/tsm/dsm)" "" "dsm before" || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "bound before" || return 1
	connect || return 1
	expect_connected || return 1
	expect_write $PF0/tsm/disconnect tsm0 OK || return 1
	expect_disconnected
}

case_connect_bus_first() { connect_flow bus-first; }
case_connect_tsm_first() { connect_flow tsm-first; }

case_tsm_dir_follows_link_tsm() {
	platform_up || return 1
	expect_absent $PF0/tsm || return 1
	expect_absent $PF0/authenticated || return 1
	load $LINK || return 1
	expect_exists $PF0/tsm/connect || return 1
	expect_exists $PF0/authenticated || return 1
	expect_absent $FN1/tsm || return 1
	expect_absent $RP/tsm || return 1
	unload $LINK || return 1
	expect_absent $PF0/tsm
}

case_ide_registers_follow_the_stream() {
	load_both bus-first || return 1
	# Idle blocks carry the reserved Stream ID 255 (set by the kernel at enumeration).
	expect_eq "$(cfg_read $PF0 $EP_SEL_CTL)" ff000000 "Endpoint stream control (idle)" || return 1
	expect_eq "$(cfg_read $RP $RP_SEL_CTL)" ff000000 "Root Port stream control (idle)" || return 1
	connect || return 1
	# Enable, TEE-limited, Stream ID 0; state Secure.
	expect_eq "$(cfg_read $PF0 $EP_SEL_CTL)" 00800001 "Endpoint stream control" || return 1
	expect_eq "$(cfg_read $PF0 $((EP_SEL_CTL + 4)))" 00000002 "Endpoint stream status" || return 1
	expect_eq "$(cfg_read $RP $RP_SEL_CTL)" 00800001 "Root Port stream control" || return 1
	expect_eq "$(cfg_read $RP $((RP_SEL_CTL + 4)))" 00000002 "Root Port stream status" || return 1
	# Root Port RID association: the Endpoint's functions 01:00.0 to 01:00.0.
	expect_eq "$(cfg_read $RP $((RP_SEL_CTL + 8)))" 00010000 "Root Port RID limit" || return 1
	expect_eq "$(cfg_read $RP $((RP_SEL_CTL + 12)))" 00010001 "Root Port RID base" || return 1
	expect_write $PF0/tsm/disconnect tsm0 OK || return 1
	expect_eq "$(cfg_read $PF0 $EP_SEL_CTL)" 00000000 "Endpoint stream control after teardown" || return 1
	expect_eq "$(cfg_read $PF0 $((EP_SEL_CTL + 4)))" 00000000 "Endpoint stream status after teardown"
}

case_bind_and_unbind() {
	load_both bus-first || return 1
	# No TSM context before connect: the core refuses the bind.
	expect_write $CTL/bind 10000:01:00.0 EINVAL || return 1
	connect || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "bound before bind" || return 1
	expect_eq "$(cat $FN1/tsm/bound)" "" "function 1 bound before bind" || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_eq "$(cat $PF0/tsm/bound)" tsm0 "bound" || return 1
	expect_eq "$(cat $FN1/tsm/bound)" tsm0 "function 1 bound" || return 1
	expect_write $CTL/unbind 10000:01:00.1 OK || return 1
	expect_eq "$(cat $FN1/tsm/bound)" "" "function 1 after unbind" || return 1
	expect_eq "$(cat $PF0/tsm/bound)" tsm0 "function 0 still bound" || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "function 0 after unbind" || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK
}

case_disconnect_unbinds() {
	load_both tsm-first || return 1
	connect || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_write $PF0/tsm/disconnect tsm0 OK || return 1
	expect_disconnected || return 1
	# Reconnecting starts unbound.
	connect || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "bound after reconnect" || return 1
	expect_eq "$(cat $FN1/tsm/bound)" "" "function 1 bound after reconnect"
}

# A TDI through TDISP: bind locks it (CONFIG_LOCKED) and reads its interface
# report, the guest reads the report and the state and starts it (RUN), and
# unbind stops it (CONFIG_UNLOCKED). Requests of the wrong scope or unknown
# are refused.
case_guest_request() {
	load_both bus-first || return 1
	connect || return 1
	expect_write $CTL/guest_request "10000:01:00.1 state" ENXIO || return 1
	dmesg -c > /dev/null
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	dmesg | grep -q 'TDI 0x101: CONFIG_LOCKED, interface report of [0-9]* bytes' ||
		fail "bind not logged: $(dmesg | tail -3)" || return 1
	expect_write $CTL/guest_request "10000:01:00.1 state" OK || return 1
	dmesg | grep -q 'guest request state answered: 1 bytes' ||
		fail "state not answered: $(dmesg | tail -3)" || return 1
	expect_write $CTL/guest_request "10000:01:00.1 report" OK || return 1
	dmesg | grep -q 'guest request report answered: [1-9][0-9]* bytes' ||
		fail "report not answered: $(dmesg | tail -3)" || return 1
	expect_write $CTL/guest_request "10000:01:00.1 start" OK || return 1
	dmesg | grep -q 'TDI 0x101: RUN' || fail "no RUN: $(dmesg | tail -3)" || return 1
	# RUN is not CONFIG_LOCKED: a second start is refused by the device.
	expect_write $CTL/guest_request "10000:01:00.1 start" EIO || return 1
	expect_write $CTL/guest_request "10000:01:00.1 hello" EINVAL || return 1
	expect_write $CTL/guest_request "10000:01:00.1" EINVAL || return 1
	expect_write $CTL/unbind 10000:01:00.1 OK || return 1
	dmesg | grep -q 'TDI 0x101: CONFIG_UNLOCKED' || fail "no unlock: $(dmesg | tail -3)"
}

# A write to a setting TDISP locks (function 0's BAR 0) while its TDI is
# CONFIG_LOCKED: the device (the model, told by the platform) moves the TDI to
# ERROR and the host sees it at its next state request; unbind (STOP_INTERFACE)
# returns it to CONFIG_UNLOCKED.
case_locked_config_write_is_an_error() {
	local bar
	load_both bus-first || return 1
	connect || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	dmesg -c > /dev/null
	expect_write $CTL/guest_request "10000:01:00.0 state" OK || return 1
	dmesg | grep -q 'TDI 0x100: CONFIG_LOCKED' || fail "not locked: $(dmesg | tail -3)" || return 1
	# Command with Memory Space still enabled changes nothing the lock covers.
	cfg_write $PF0 0x04 "0x$(cfg_read $PF0 0x04)"
	expect_write $CTL/guest_request "10000:01:00.0 state" OK || return 1
	bar=$(cfg_read $PF0 0x10)
	cfg_write $PF0 0x10 $((0x$bar + 0x200000))
	cfg_write $PF0 0x10 "0x$bar"
	dmesg -c > /dev/null
	expect_write $CTL/guest_request "10000:01:00.0 state" OK || return 1
	dmesg | grep -q 'TDI 0x100: ERROR' || fail "no ERROR: $(dmesg | tail -3)" || return 1
	# START needs CONFIG_LOCKED: the device refuses it in ERROR.
	expect_write $CTL/guest_request "10000:01:00.0 start" EIO || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	dmesg | grep -q 'TDI 0x100: CONFIG_UNLOCKED' || fail "no unlock: $(dmesg | tail -3)"
}

# The memory requests of tsm_emu_bus' mmio_probe: the platform decodes them
# with the function's BARs ("unclaimed" when none does), the device model
# completes them ("completed") or answers Unsupported Request ("refused").
PROBE=/sys/devices/faux/tsm_emu_bus/mmio_probe

# expect_probe DEV ADDRESS ACCESS VERDICT (ACCESS empty: the default, r4)
expect_probe() {
	expect_write $PROBE "${1##*/} $(printf 0x%x "$2")${3:+ $3}" OK || return 1
	expect_eq "$(cat $PROBE)" "$4" "$3 at $(printf 0x%x "$2") of ${1##*/}"
}

# The address of function 0's BAR 0 (64-bit, 2 MiB), from its registers.
bar0() {
	echo $(( (0x$(cfg_read $PF0 0x14) << 32) | (0x$(cfg_read $PF0 0x10) & ~0xf) ))
}

# set_memory_space DEV 0|1: Memory Space Enable in DEV's Command register.
set_memory_space() {
	local command=$((0x$(cfg_read "$1" 0x04) & 0xffff))
	if [ "$2" = 1 ]; then command=$((command | 2)); else command=$((command & ~2)); fi
	cfg_write "$1" 0x04 $command
}

# expect_confined BASE STATE: the TDI of function 0 completes only requests
# within its report's ranges (4 register pages and the MSI-X table page at
# the start of BAR 0); the rest of BAR 0 is refused.
expect_confined() {
	expect_probe $PF0 "$1" r4 completed || return 1
	expect_probe $PF0 $(($1 + 0x3ffc)) w4 completed || return 1
	expect_probe $PF0 $(($1 + 0x4ff8)) w8 completed || return 1
	expect_probe $PF0 $(($1 + 0x5000)) r4 refused || return 1
	expect_probe $PF0 $(($1 + 0x4ffc)) r8 refused || return 1
	expect_probe $PF0 $(($1 + 0x100000)) w4 refused
}

# TDISP confines a locked TDI to the MMIO ranges of its interface report
# (PCIe r7.0 section 11.3.11): while function 0's TDI is CONFIG_LOCKED or RUN,
# memory requests to BAR 0 outside the ranges the report lists (derived from
# the BAR at the lock) are refused; unlocked, before bind and after unbind,
# the whole BAR is decoded and nothing is filtered. Addresses past BAR 0, or
# with Memory Space disabled, never reach the device.
case_mmio_outside_the_report_is_refused_while_locked() {
	local base
	load_both bus-first || return 1
	connect || return 1
	base=$(bar0)
	[ $((base)) -ne 0 ] || fail "BAR 0 is not assigned" || return 1
	set_memory_space $PF0 0
	expect_probe $PF0 $base r4 unclaimed || return 1
	set_memory_space $PF0 1
	expect_probe $PF0 $base r4 completed || return 1
	expect_probe $PF0 $((base + 0x100000)) w4 completed || return 1
	expect_probe $PF0 $((base + 0x1ffffc)) r8 unclaimed || return 1
	expect_probe $PF0 $((base + 0x200000)) r4 unclaimed || return 1
	expect_probe $FN1 $base r4 unclaimed || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_confined $base || return 1
	dmesg -c > /dev/null
	expect_write $CTL/guest_request "10000:01:00.0 start" OK || return 1
	dmesg | grep -q 'TDI 0x100: RUN' || fail "no RUN: $(dmesg | tail -3)" || return 1
	expect_confined $base || return 1
	expect_probe $PF0 $((base + 0x200000)) r4 unclaimed || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	expect_probe $PF0 $((base + 0x100000)) w4 completed || return 1
	expect_probe $PF0 $((base + 0x5000)) r4 completed
}

# A TDI in ERROR (BAR 0 moved while locked) completes no memory request, not
# even within its reported ranges, until unbind (STOP_INTERFACE) unlocks it.
case_mmio_of_a_tdi_in_error_is_refused() {
	local base
	load_both bus-first || return 1
	connect || return 1
	base=$(bar0)
	set_memory_space $PF0 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_probe $PF0 $base r4 completed || return 1
	cfg_write $PF0 0x10 $(( (base & 0xffffffff) + 0x200000 ))
	cfg_write $PF0 0x10 $(( (base & 0xffffffff) | 0xc ))
	dmesg -c > /dev/null
	expect_write $CTL/guest_request "10000:01:00.0 state" OK || return 1
	dmesg | grep -q 'TDI 0x100: ERROR' || fail "no ERROR: $(dmesg | tail -3)" || return 1
	expect_probe $PF0 $base r4 refused || return 1
	expect_probe $PF0 $((base + 0x4ff8)) w8 refused || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	expect_probe $PF0 $base r4 completed || return 1
	expect_probe $PF0 $((base + 0x100000)) r4 completed
}

# mmio_probe's errors: malformed input, foreign devices, and a device model
# that does not answer.
case_mmio_probe_bad_input() {
	local base
	platform_up || return 1
	base=$(bar0)
	set_memory_space $PF0 1
	expect_write $PROBE "10000:01:00.0" EINVAL || return 1
	expect_write $PROBE "10000:01:00.0 banana" EINVAL || return 1
	expect_write $PROBE "10000:01:00.0 $base r9" EINVAL || return 1
	expect_write $PROBE "10000:01:00.0 $base x4" EINVAL || return 1
	expect_write $PROBE "10000:01:00.0 $base r4 more" EINVAL || return 1
	expect_write $PROBE "10000:01:07.0 $base" ENODEV || return 1
	expect_write $PROBE "0000:00:00.0 0" ENXIO || return 1
	expect_probe $PF0 $base "" completed || return 1
	model_stop || return 1
	expect_write $PROBE "10000:01:00.0 $base" ETIMEDOUT
}

# tsm/connect_mode and tsmN/pci/ (seed RFC, tsm-rs additions): the emulated
# TSM declares Link IDE and 4 streams; in link mode a connect sets up keyed
# Link IDE (traffic class 0, Stream ID 0) between the Endpoint and its Root
# Port instead of a Selective IDE Stream. The mode changes only while
# disconnected.
case_connect_mode_link() {
	only_on_core rs "tsm/connect_mode and tsmN/pci/ are tsm-rs additions" || return 0
	load_both bus-first || return 1
	expect_eq "$(cat /sys/class/tsm/tsm0/pci/link_capable)" 1 "link_capable" || return 1
	expect_eq "$(cat /sys/class/tsm/tsm0/pci/selective_streams)" 4 "selective_streams" || return 1
	expect_eq "$(cat $PF0/tsm/connect_mode)" "link [selective]" "default mode" || return 1
	expect_write $PF0/tsm/connect_mode bogus EINVAL || return 1
	expect_write $PF0/tsm/connect_mode "link " EINVAL || return 1
	expect_write $PF0/tsm/connect_mode link OK || return 1
	expect_eq "$(cat $PF0/tsm/connect_mode)" "[link] selective" "mode" || return 1
	connect || return 1
	expect_write $PF0/tsm/connect_mode selective EBUSY || return 1
	dmesg | grep -q "connected: Link IDE, Stream ID 0" || fail "no Link IDE: $(dmesg | tail -3)" ||
		return 1
	# No Selective IDE Stream; Link IDE enabled with Stream ID 0 and Secure at both ends.
	expect_eq "$(streams)" 4 "available_secure_streams" || return 1
	expect_eq "$(cfg_read $PF0 $EP_LINK_CTL)" 00000001 "Endpoint Link IDE control" || return 1
	expect_eq "$(cfg_read $PF0 $((EP_LINK_CTL + 4)))" 00000002 "Endpoint Link IDE status" ||
		return 1
	expect_eq "$(cfg_read $RP $((RP_LINK_CTL + 4)))" 00000002 "Root Port Link IDE status" ||
		return 1
	expect_keyed $PF0 $EP_KEYS Endpoint || return 1
	expect_keyed $RP $RP_KEYS "Root Port" || return 1
	expect_write $PF0/tsm/disconnect tsm0 OK || return 1
	expect_eq "$(cfg_read $PF0 $EP_LINK_CTL)" 00000000 "Endpoint Link IDE control after" ||
		return 1
	expect_disconnected || return 1
	expect_write $PF0/tsm/connect_mode "selective$NL" OK || return 1
	expect_eq "$(cat $PF0/tsm/connect_mode)" "link [selective]" "mode again" || return 1
	connect || return 1
	expect_connected
}

# A corrupted key fails Link IDE too, and the connect rolls back.
case_connect_mode_link_needs_matching_keys() {
	only_on_core rs "tsm/connect_mode is a tsm-rs addition" || return 0
	load_both bus-first || return 1
	expect_write $PF0/tsm/connect_mode link OK || return 1
	cfg_write $RP $((RP_KEYS + 0x0c)) 0x100
	expect_write $PF0/tsm/connect tsm0 ENXIO || return 1
	expect_eq "$(cfg_read $PF0 $EP_LINK_CTL)" 00000000 "Endpoint Link IDE control" || return 1
	expect_disconnected
}

case_controls_refuse_foreign_devices() {
	load_both bus-first || return 1
	connect || return 1
	expect_write $CTL/bind 0000:00:00.0 ENXIO || return 1
	expect_write $CTL/unbind 0000:00:00.0 ENXIO || return 1
	expect_write $CTL/guest_request "0000:00:00.0 state" ENXIO || return 1
	expect_write $CTL/bind 10000:01:00.7 ENODEV || return 1
	expect_write $CTL/bind "$NL" ENODEV || return 1
	expect_write $CTL/fail_connect bogus EINVAL || return 1
	expect_write $CTL/busy maybe EINVAL
}

case_unload_tsm_while_connected() {
	load_both bus-first || return 1
	connect || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	unload $LINK || return 1
	expect_absent $PF0/tsm || return 1
	expect_absent $FN1/tsm || return 1
	expect_eq "$(streams)" 4 "streams after TSM unload" || return 1
	expect_eq "$(stream_links)" "" "stream links after TSM unload" || return 1
	load $LINK || return 1
	connect || return 1
	expect_connected
}

case_unload_bus_while_connected() {
	load_both bus-first || return 1
	connect || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	platform_down || return 1
	expect_absent $PF0 || return 1
	platform_up || return 1
	expect_eq "$(cat $PF0/tsm/connect)" "" "connect after bus reload" || return 1
	connect || return 1
	expect_connected
}

case_remove_function0_while_connected() {
	load_both bus-first || return 1
	connect || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_write $PF0/remove 1 OK || return 1
	expect_absent $PF0 || return 1
	expect_absent $FN1/tsm || return 1
	expect_eq "$(streams)" 4 "streams after removal" || return 1
	expect_eq "$(stream_links)" "" "stream links after removal" || return 1
	expect_write /sys/bus/pci/rescan 1 OK || return 1
	expect_exists $PF0/tsm || return 1
	expect_eq "$(cat $PF0/tsm/connect)" "" "connect after rescan" || return 1
	connect || return 1
	expect_connected
}

case_connect_bad_input() {
	load_both bus-first || return 1
	expect_write $PF0/tsm/connect "$NL" EINVAL || return 1
	expect_write $PF0/tsm/connect " " EINVAL || return 1
	expect_write $PF0/tsm/connect tsm EINVAL || return 1
	expect_write $PF0/tsm/connect tsm1 ENXIO || return 1
	expect_write $PF0/tsm/disconnect tsm0 ENXIO || return 1
	expect_disconnected || return 1
	connect || return 1
	expect_write $PF0/tsm/connect tsm0 EBUSY || return 1
	expect_write $PF0/tsm/disconnect "$NL" EINVAL || return 1
	expect_write $PF0/tsm/disconnect " " EINVAL || return 1
	expect_write $PF0/tsm/disconnect tsm1 EINVAL || return 1
	expect_write $PF0/tsm/disconnect tsm0garbage EINVAL || return 1
	expect_connected || return 1
	expect_write $PF0/tsm/disconnect "tsm0$NL" OK
}

# Every writable file of the ABI and of the test controls refuses malformed
# input with its errno and leaves the state as it was.
case_bad_input_changes_nothing() {
	local overlong non_utf8
	overlong=$(head -c 5000 /dev/zero | tr '\0' a)
	non_utf8=$(printf '\377\376')
	load_both bus-first || return 1
	expect_write $PF0/tsm/connect "$overlong" EINVAL || return 1
	expect_write $PF0/tsm/connect "$non_utf8" EINVAL || return 1
	expect_write $PF0/tsm/disconnect "$overlong" ENXIO || return 1
	expect_write $PF0/tsm/disconnect "$non_utf8" ENXIO || return 1
	expect_write $CTL/fail_connect "$non_utf8" EINVAL || return 1
	expect_write $CTL/busy maybe EINVAL || return 1
	expect_write $CTL/bind "$NL" ENODEV || return 1
	expect_write $CTL/bind "$non_utf8" ENODEV || return 1
	expect_disconnected || return 1
	connect || return 1
	expect_write $PF0/tsm/connect "$overlong" EINVAL || return 1
	expect_write $PF0/tsm/connect "$non_utf8" EINVAL || return 1
	expect_write $PF0/tsm/disconnect "$overlong" EINVAL || return 1
	expect_write $PF0/tsm/disconnect "$non_utf8" EINVAL || return 1
	expect_write $CTL/unbind "$overlong" ENODEV || return 1
	expect_connected
}

case_connect_rejects_trailing_garbage() {
	only_on_core rs "upstream's core parses connect with sscanf(\"tsm%d\")" || return 0
	load_both bus-first || return 1
	expect_write $PF0/tsm/connect tsm0garbage EINVAL || return 1
	expect_write $PF0/tsm/connect "tsm 0" EINVAL || return 1
	expect_write $PF0/tsm/connect tsm+0 EINVAL || return 1
	expect_write $PF0/tsm/connect "$(printf 'tsm0\377')" EINVAL || return 1
	expect_write $PF0/tsm/connect tsm2147483648 EINVAL || return 1
	expect_disconnected
}

case_connect_accepts_trailing_garbage_upstream() {
	only_on_core c "tsm-rs accepts only tsmN" || return 0
	load_both bus-first || return 1
	expect_write $PF0/tsm/connect tsm0garbage OK || return 1
	expect_connected
}

# fault_rolls_back STEP: a connect failing at STEP leaves nothing behind, and
# the next connect succeeds once the fault is gone.
fault_rolls_back() {
	load_both bus-first || return 1
	expect_write $CTL/fail_connect "$1" OK || return 1
	expect_write $PF0/tsm/connect tsm0 EIO || return 1
	expect_disconnected || return 1
	expect_write $CTL/fail_connect none OK || return 1
	connect || return 1
	expect_connected
}

case_fail_at_doe() { fault_rolls_back doe; }
case_fail_at_session() { fault_rolls_back session; }
case_fail_at_stream_alloc() { fault_rolls_back stream_alloc; }
case_fail_at_stream_register() { fault_rolls_back stream_register; }
case_fail_at_stream_setup() { fault_rolls_back stream_setup; }
# The device holds its keys, the Root Port none yet.
case_fail_at_key_prog() { fault_rolls_back key_prog; }
# Both ends hold their keys, none in use.
case_fail_at_key_set_go() { fault_rolls_back key_set_go; }
# Both ends have their keys in use.
case_fail_at_stream_enable() { fault_rolls_back stream_enable; }

# corrupt_rolls_back DEV KEY_PORT: a bit of the next key DEV is given flips
# (the key port's Corrupt Next Key control): the keys differ, the end that is
# enabled first reads Insecure with "IDE Fail Message received", the IDE
# library refuses the stream (ENXIO), and the connect rolls back. The next
# connect, with intact keys, succeeds.
corrupt_rolls_back() {
	load_both bus-first || return 1
	cfg_write "$1" $(($2 + 0x0c)) 0x100
	dmesg -c > /dev/null
	expect_write $PF0/tsm/connect tsm0 ENXIO || return 1
	dmesg | grep -q "Endpoint stream enable failed: ENXIO" ||
		fail "no refused stream enable in the log: $(dmesg | tail -n 3)" || return 1
	expect_disconnected || return 1
	connect || return 1
	expect_connected
}

case_corrupt_root_port_key() { corrupt_rolls_back $RP $RP_KEYS; }
case_corrupt_device_key() { corrupt_rolls_back $PF0 $EP_KEYS; }

# Secure needs matching keys in use at both ends: stopping one of the Root
# Port's keys behind the TSM's back (a K_SET_STOP through its key port) turns
# both ends Insecure, with "IDE Fail Message received".
case_secure_needs_both_keys() {
	load_both bus-first || return 1
	connect || return 1
	# K_SET_STOP (ObjectID 5) of stream 0, key set 0, RX, PR; 7 bytes.
	cfg_write $RP $((RP_KEYS + 0x0c)) 2
	cfg_write $RP $((RP_KEYS + 0x14)) 0x00000005
	cfg_write $RP $((RP_KEYS + 0x14)) 0x00000000
	cfg_write $RP $((RP_KEYS + 0x0c)) 0x00070001
	expect_eq "$(cfg_read $RP $((RP_KEYS + 0x10)))" 80000000 "key port status" || return 1
	expect_eq "$(cfg_read $PF0 $((EP_SEL_CTL + 4)))" 80000000 "Endpoint stream status" || return 1
	expect_eq "$(cfg_read $RP $((RP_SEL_CTL + 4)))" 80000000 "Root Port stream status" || return 1
	expect_write $PF0/tsm/disconnect tsm0 OK || return 1
	expect_disconnected
}

# model_fault_rolls_back ERRNO FAULT: the device model injects FAULT into its
# first SPDM connection; the connect fails with ERRNO and rolls back (the
# device wipes the keys of a session it lost); the next connect succeeds.
model_fault_rolls_back() {
	load $LINK && platform_up -- "$2" || return 1
	expect_write $PF0/tsm/connect tsm0 "$1" || return 1
	expect_disconnected || return 1
	connect || return 1
	expect_connected
}

# The session fails: KEY_EXCHANGE answered with an SPDM ERROR.
case_device_refuses_the_session() { model_fault_rolls_back EPROTO 'error-response@key-exchange*1'; }
# IDE_KM refused: every vendor-defined request answered with an SPDM ERROR.
case_device_refuses_ide_km() { model_fault_rolls_back EPROTO 'error-response@vendor*1'; }
# The device drops the session after FINISH, QUERY and its six KEY_PROGs: the
# first K_SET_GO gets no answer (DOE timeout).
case_device_drops_the_session() { model_fault_rolls_back EIO 'drop-session-after=8*1'; }
# A device reset in the middle of key programming: after FINISH, QUERY and two
# KEY_PROGs the device loses its session, its keys and its TDI state (what
# the model's connection reset does), so the third KEY_PROG gets no answer.
case_device_resets_during_key_programming() { model_fault_rolls_back EIO 'drop-session-after=4*1'; }
# A vendor-defined answer never comes (DOE timeout).
case_device_times_out_in_ide_km() { model_fault_rolls_back EIO 'no-answer@vendor*1'; }

case_busy_tsm() {
	load_both bus-first || return 1
	expect_write $CTL/busy 1 OK || return 1
	expect_write $PF0/tsm/connect tsm0 EBUSY || return 1
	expect_disconnected || return 1
	expect_write $CTL/busy 0 OK || return 1
	connect
}

# doe_fault_rolls_back FAULT: the device's DOE mailbox fails the SPDM exchange.
doe_fault_rolls_back() {
	load_both bus-first || return 1
	expect_write /sys/devices/faux/tsm_emu_bus/doe_fault "$1" OK || return 1
	expect_write $PF0/tsm/connect tsm0 EIO || return 1
	expect_disconnected || return 1
	expect_write /sys/devices/faux/tsm_emu_bus/doe_fault none OK || return 1
	connect || return 1
	expect_connected
}

case_doe_error() { doe_fault_rolls_back error; }
case_doe_timeout() { doe_fault_rolls_back timeout; }
