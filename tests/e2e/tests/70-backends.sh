# SPDX-License-Identifier: GPL-2.0
# Vendor backends against their firmware models: the AMD SEV-TIO backend
# (tsm_sev_tio) drives the SEV-TIO firmware model of the emulated platform
# (model=1), which runs SPDM, IDE_KM and the Root Port keys through the
# backend's relay loop against the device model. Connect, disconnect, evidence,
# the PSP transport without hardware, the one-owner rule, and rollback from a
# fault in every command and in the middle of the relay. Then the same for the
# Intel TDX Connect backend (tsm_tdx_connect) on its TDX module model: the
# SEAMCALL transport without hardware, resumable calls, the key-refresh-required
# status, and rollback from a fault in every leaf. The RISC-V CoVE-IO backend
# (tsm_cove_io) likewise drives the CoVE-IO firmware model (model=1): COVH
# connect_device/disconnect_device and the interface functions (regions,
# bind_interface/unbind_interface) with the requests relayed through the
# pending-request buffer.

SEV=tsm_sev_tio
TDX=tsm_tdx_connect
COVE=tsm_cove_io
LINK=tsm_emu_link
PF0=/sys/bus/pci/devices/10000:01:00.0
FN1=/sys/bus/pci/devices/10000:01:00.1
RP=/sys/bus/pci/devices/10000:00:01.0
# tsm_emu_link's test controls (bind, unbind, guest_request) stand in for the
# VFIO/KVM callers 7.3 lacks; they reach whichever TSM the device is connected to.
CTL=/sys/devices/faux/tsm_emu_link
HB=/sys/devices/faux/tsm_emu_bus/pci10000:00
# Key ports and stream registers of the platform (see 30-connect.sh).
EP_KEYS=0x174
RP_KEYS=0x1c4
EP_SEL_CTL=0x138
RP_SEL_CTL=0x118
KEYED=80060600

# Only one link TSM can own a device: both backends go at the end of a case.
teardown_case() {
	modprobe -r $SEV; modprobe -r $TDX; modprobe -r $COVE; modprobe -r $LINK; platform_down
}

streams() { cat $HB/available_secure_streams; }

# sev_up [PARAM=VALUE...]: the platform with its device model, then the
# backend on its firmware model with the fault parameters given.
sev_up() {
	platform_up || return 1
	load $SEV model=1 "$@"
}

sev_tsm() { tsm_of $SEV; }

expect_keyed() { expect_eq "$(cfg_read "$1" $(($2 + 0x20)))" $KEYED "$3 key status"; }

expect_wiped() {
	expect_eq "$(cfg_read "$1" $(($2 + 0x20)))" 00000000 "$3 key status"
}

expect_stream_secure() {
	# Selective IDE Stream Status, bits 3:0: 2 = Secure.
	expect_eq $((0x$(cfg_read "$1" $(($2 + 4))) & 0xf)) 2 "$3 stream state"
}

expect_connected() {
	local tsm
	tsm=${1:-$(sev_tsm)}
	expect_eq "$(cat $PF0/tsm/connect)" "$tsm" "connect" || return 1
	expect_eq "$(cat $PF0/authenticated)" "$tsm" "authenticated" || return 1
	expect_eq "$(cat $FN1/tsm/dsm)" 10000:01:00.0 "dsm of function 1" || return 1
	expect_eq "$(streams)" 3 "available_secure_streams" || return 1
	expect_keyed $PF0 $EP_KEYS Endpoint || return 1
	expect_keyed $RP $RP_KEYS "Root Port" || return 1
	expect_stream_secure $PF0 $EP_SEL_CTL Endpoint || return 1
	expect_stream_secure $RP $RP_SEL_CTL "Root Port"
}

expect_disconnected() {
	expect_eq "$(cat $PF0/tsm/connect)" "" "connect" || return 1
	expect_eq "$(cat $PF0/authenticated)" "" "authenticated" || return 1
	expect_eq "$(streams)" 4 "available_secure_streams" || return 1
	expect_absent $FN1/tsm || return 1
	expect_wiped $PF0 $EP_KEYS Endpoint || return 1
	expect_wiped $RP $RP_KEYS "Root Port"
}

case_sev_tio_psp_needs_hardware() {
	# No PSP here: TIO_STATUS cannot be issued, the module does not load.
	modprobe $SEV 2> /dev/null && fail "loaded without a PSP"
	expect_absent /sys/devices/faux/$SEV
}

case_sev_tio_connects_through_the_model() {
	sev_up || return 1
	dmesg -c > /dev/null
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_connected || return 1
	dmesg | grep -q "SEV-TIO: connected, IDE Stream ID 0 keyed by the firmware, Secure" ||
		fail "no connect message: $(dmesg | tail -n 3)" || return 1
	expect_write $PF0/tsm/disconnect "$(sev_tsm)" OK || return 1
	expect_disconnected || return 1
	# The device context was reclaimed: the next connect starts afresh.
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_connected
}

case_sev_tio_evidence() {
	only_on_core rs "the pci-tsm evidence family exists with tsm-rs only" || return 0
	sev_up || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	rm -rf /tmp/ev
	tsm evidence 10000:01:00.0 --out /tmp/ev > /tmp/ev.log 2>&1 ||
		fail "tsm evidence: $(tail -n 3 /tmp/ev.log)" || return 1
	[ -s /tmp/ev/cert0.bin ] || fail "no certificate chain" || return 1
	[ -s /tmp/ev/measurements.bin ] || fail "no measurements" || return 1
	# A nonce: TIO_DEV_MEASUREMENTS in the session, relayed again.
	tsm evidence 10000:01:00.0 --nonce random --out /tmp/ev > /tmp/ev.log 2>&1 ||
		fail "tsm evidence --nonce: $(tail -n 3 /tmp/ev.log)" || return 1
	expect_write $PF0/tsm/disconnect "$(sev_tsm)" OK || return 1
	! tsm evidence 10000:01:00.0 --out /tmp/ev > /dev/null 2>&1 ||
		fail "evidence left after disconnect"
}

case_sev_tio_one_owner() {
	sev_up || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_write $PF0/tsm/connect "$(tsm_of $LINK)" EBUSY || return 1
	expect_write $PF0/tsm/disconnect "$(sev_tsm)" OK || return 1
	expect_write $PF0/tsm/connect "$(tsm_of $LINK)" OK || return 1
	expect_write $PF0/tsm/disconnect "$(tsm_of $LINK)" OK
}

case_sev_tio_unload_disconnects() {
	sev_up || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	unload $SEV || return 1
	expect_disconnected
}

# TDISP through the firmware: TIO_TDI_CREATE and TIO_TDI_BIND lock the TDI
# and read its report, the guest's requests go through TIO_GUEST_REQUEST, and
# TIO_TDI_UNBIND and TIO_TDI_RECLAIM undo it.
case_sev_tio_tdi_bind_guest_unbind() {
	sev_up || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	dmesg -c > /dev/null
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_eq "$(cat $FN1/tsm/bound)" "$(sev_tsm)" "function 1 bound" || return 1
	dmesg | grep -q 'SEV-TIO: TDI 0x101 bound, CONFIG_LOCKED' ||
		fail "bind not logged: $(dmesg | tail -n 3)" || return 1
	guest_state CONFIG_LOCKED || return 1
	expect_write $CTL/guest_request "10000:01:00.1 report" OK || return 1
	dmesg | grep -q 'guest request report answered: [1-9][0-9]* bytes' ||
		fail "report not answered: $(dmesg | tail -n 3)" || return 1
	expect_write $CTL/guest_request "10000:01:00.1 start" OK || return 1
	guest_state RUN || return 1
	# RUN is not CONFIG_LOCKED: the device refuses a second start.
	expect_write $CTL/guest_request "10000:01:00.1 start" EIO || return 1
	expect_write $CTL/unbind 10000:01:00.1 OK || return 1
	expect_eq "$(cat $FN1/tsm/bound)" "" "function 1 after unbind" || return 1
	dmesg | grep -q 'SEV-TIO: TDI 0x101 unbound' ||
		fail "unbind not logged: $(dmesg | tail -n 3)" || return 1
	# Bound again (the context was reclaimed), then disconnected while bound.
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $PF0/tsm/disconnect "$(sev_tsm)" OK || return 1
	expect_eq "$(cat $PF0/tsm/bound)$(cat $FN1/tsm/bound)" "" "bound after disconnect" || return 1
	expect_disconnected
}

# guest_state STATE: a guest request for the TDI state of function 1 answers STATE.
guest_state() {
	dmesg -c > /dev/null
	expect_write $CTL/guest_request "10000:01:00.1 state" OK || return 1
	dmesg | grep -q "guest request state answered: 1 bytes, TSM code 0, TDI state $1\$" ||
		fail "state $1 not answered: $(dmesg | tail -n 3)"
}

case_sev_tio_tdi_report_is_evidence() {
	only_on_core rs "the pci-tsm evidence family exists with tsm-rs only" || return 0
	sev_up || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	rm -rf /tmp/ev
	tsm evidence 10000:01:00.0 --out /tmp/ev > /tmp/ev.log 2>&1 ||
		fail "tsm evidence: $(tail -n 3 /tmp/ev.log)" || return 1
	[ -s /tmp/ev/report.bin ] || fail "no interface report" || return 1
	[ -s /tmp/ev/cert0.bin ] || fail "no certificate chain beside the report" || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	rm -rf /tmp/ev
	tsm evidence 10000:01:00.0 --out /tmp/ev > /dev/null 2>&1 ||
		fail "no evidence after unbind" || return 1
	[ ! -e /tmp/ev/report.bin ] || fail "the report outlived the binding"
}

# A TDI command that fails: nothing is left in the firmware, which a plain
# disconnect (refused while a TDI context exists) shows.
case_fail_tdi_bind() {
	sev_up fail_cmd=0xdc || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.1 EIO || return 1
	expect_eq "$(cat $FN1/tsm/bound)" "" "bound" || return 1
	dmesg -c > /dev/null
	expect_write $PF0/tsm/disconnect "$(sev_tsm)" OK || return 1
	! dmesg | grep -q 'TIO_DEV_DISCONNECT: PSP status' ||
		fail "disconnect refused: $(dmesg | tail -n 3)" || return 1
	expect_disconnected
}

case_fail_guest_request() {
	sev_up fail_cmd=0xe0 || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_write $CTL/guest_request "10000:01:00.1 start" EIO || return 1
	expect_write $CTL/unbind 10000:01:00.1 OK || return 1
	expect_write $PF0/tsm/disconnect "$(sev_tsm)" OK || return 1
	expect_disconnected
}

# An unbind the firmware refuses even forced leaves the TDI context; the
# disconnect after it is forced and takes the TDIs with it.
case_fail_tdi_unbind() {
	sev_up fail_cmd=0xdd || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_write $CTL/unbind 10000:01:00.1 OK || return 1
	expect_eq "$(cat $FN1/tsm/bound)" "" "bound" || return 1
	expect_write $PF0/tsm/disconnect "$(sev_tsm)" OK || return 1
	expect_disconnected
}

# fault_rolls_back PARAM=VALUE: a connect failing there leaves nothing behind.
fault_rolls_back() {
	sev_up "$1" || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" EIO || return 1
	expect_disconnected || return 1
	# The same fault-free.
	unload $SEV || return 1
	load $SEV model=1 || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_connected
}

case_fail_dev_create() { fault_rolls_back fail_cmd=0xd2; }
case_fail_dev_connect() { fault_rolls_back fail_cmd=0xd4; }
case_fail_dev_certificates() { fault_rolls_back fail_cmd=0xd8; }
case_fail_dev_measurements() { fault_rolls_back fail_cmd=0xd7; }
# One exchange of TIO_DEV_CONNECT fails, as a device error would: in VCA (the
# third), and in the session among the device's KEY_PROGs (the twelfth).
case_fail_relay_early() { fault_rolls_back fail_relay=3; }
case_fail_relay_in_session() { fault_rolls_back fail_relay=12; }
# The device holds its keys, the Root Port none yet; then both, none in use.
case_fail_key_prog() { fault_rolls_back fail_key=1; }
case_fail_key_set_go() { fault_rolls_back fail_key=2; }

case_fail_tio_init() {
	platform_up || return 1
	modprobe $SEV model=1 fail_cmd=0xd1 2> /dev/null && fail "loaded with TIO_INIT failing"
	expect_absent /sys/devices/faux/$SEV
}

# A disconnect the firmware refuses is forced: nothing is left either way.
case_fail_dev_disconnect() {
	sev_up fail_cmd=0xd5 fail_status=0x33 || return 1
	expect_write $PF0/tsm/connect "$(sev_tsm)" OK || return 1
	expect_write $PF0/tsm/disconnect "$(sev_tsm)" OK || return 1
	expect_eq "$(cat $PF0/tsm/connect)" "" "connect" || return 1
	expect_eq "$(streams)" 4 "available_secure_streams"
}

# --- Intel TDX Connect ---

tdx_up() {
	platform_up || return 1
	load $TDX model=1 "$@"
}

tdx_tsm() { tsm_of $TDX; }

# model_answered REQUEST: how many secured REQUESTs (e.g. HEARTBEAT) the
# platform's device model answered since platform_up started it.
model_answered() { grep -c "secured $1 answered" $PLATFORM_MODEL_LOG; }

case_tdx_seamcall_needs_hardware() {
	# No TDX Module Extension in 7.3: the module does not load, with ENODEV.
	local msg
	msg=$(modprobe $TDX 2>&1) && fail "loaded without a TDX module"
	expect_absent /sys/devices/faux/$TDX || return 1
	case $msg in
	*"No such device"*) ;;
	*) fail "expected ENODEV: $msg" ;;
	esac
}

case_tdx_connects_through_the_model() {
	tdx_up || return 1
	dmesg -c > /dev/null
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	expect_connected "$(tdx_tsm)" || return 1
	dmesg | grep -q "TDX Connect: connected, IDE Stream ID 0 keyed by the TDX module, Secure" ||
		fail "no connect message: $(dmesg | tail -n 3)" || return 1
	expect_write $PF0/tsm/disconnect "$(tdx_tsm)" OK || return 1
	expect_disconnected || return 1
	# The SPDM object and the stream were deleted: the next connect starts afresh.
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	expect_connected "$(tdx_tsm)"
}

case_tdx_evidence() {
	only_on_core rs "the pci-tsm evidence family exists with tsm-rs only" || return 0
	tdx_up refresh_keys=1 || return 1
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	rm -rf /tmp/ev
	tsm evidence 10000:01:00.0 --out /tmp/ev > /tmp/ev.log 2>&1 ||
		fail "tsm evidence: $(tail -n 3 /tmp/ev.log)" || return 1
	[ -s /tmp/ev/cert0.bin ] || fail "no certificate chain" || return 1
	[ -s /tmp/ev/vca.bin ] || fail "no VCA" || return 1
	[ -s /tmp/ev/measurements.bin ] || fail "no measurements" || return 1
	expect_eq "$(model_answered HEARTBEAT)" 0 "HEARTBEATs before a nonce" || return 1
	# A nonce: HEARTBEAT, KM REFRESH, DEV_INFO_RECOLLECT, relayed again.
	tsm evidence 10000:01:00.0 --nonce random --out /tmp/ev > /tmp/ev.log 2>&1 ||
		fail "tsm evidence --nonce: $(tail -n 3 /tmp/ev.log)" || return 1
	# TDH.SPDM.MNG HEARTBEAT sent a real SPDM HEARTBEAT, which the device answered.
	expect_eq "$(model_answered HEARTBEAT)" 1 "HEARTBEATs the device answered" || return 1
	# The refreshed keys are in use at both ends.
	expect_connected "$(tdx_tsm)" || return 1
	expect_write $PF0/tsm/disconnect "$(tdx_tsm)" OK || return 1
	! tsm evidence 10000:01:00.0 --out /tmp/ev > /dev/null 2>&1 ||
		fail "evidence left after disconnect"
}

case_tdx_unload_disconnects() {
	tdx_up || return 1
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	unload $TDX || return 1
	expect_disconnected
}

# Every other call is interrupted (TDX_INTERRUPTED_RESUMABLE): reissued as is.
case_tdx_resumable_calls() {
	tdx_up interrupt=2 || return 1
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	expect_connected "$(tdx_tsm)" || return 1
	expect_write $PF0/tsm/disconnect "$(tdx_tsm)" OK || return 1
	expect_disconnected
}

# KM SETUP finds the session keys needing a refresh: KEY_UPDATE, then again.
case_tdx_session_key_refresh() {
	tdx_up key_refresh=135 || return 1
	dmesg -c > /dev/null
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	dmesg | grep -q "TDH.IDE.STREAM.KM SETUP: session KEY_UPDATE" ||
		fail "no KEY_UPDATE: $(dmesg | tail -n 3)" || return 1
	# TDH.SPDM.MNG KEY_UPDATE sent SPDM KEY_UPDATE (UpdateAllKeys, then
	# VerifyNewKey under the new keys), and the session went on under them.
	expect_eq "$(model_answered KEY_UPDATE)" 2 "KEY_UPDATEs the device answered" || return 1
	expect_connected "$(tdx_tsm)"
}

# tdx_fault_rolls_back PARAM=VALUE: a connect failing there leaves nothing
# behind, in the kernel or the module (the model's faults fire once: the next
# connect would meet any SPDM object or stream left over).
tdx_fault_rolls_back() {
	tdx_up "$1" || return 1
	expect_write $PF0/tsm/connect "$(tdx_tsm)" EIO || return 1
	expect_disconnected || return 1
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	expect_connected "$(tdx_tsm)"
}

case_tdx_fail_spdm_create() { tdx_fault_rolls_back fail_leaf=130; }
case_tdx_fail_spdm_connect() { tdx_fault_rolls_back fail_leaf=142; }
case_tdx_fail_stream_create() { tdx_fault_rolls_back fail_leaf=132; }
case_tdx_fail_stream_km_setup() { tdx_fault_rolls_back fail_leaf=135; }
case_tdx_fail_relay_early() { tdx_fault_rolls_back fail_relay=3; }
# In the session handshake (KEY_EXCHANGE or FINISH).
case_tdx_fail_relay_late() { tdx_fault_rolls_back fail_relay=9; }
case_tdx_fail_key_prog() { tdx_fault_rolls_back fail_key=1; }
case_tdx_fail_key_set_go() { tdx_fault_rolls_back fail_key=2; }

# tdx_teardown_fault LEAF: a teardown leaf that fails once is issued again:
# nothing is left, and the device connects again.
tdx_teardown_fault() {
	tdx_up fail_leaf="$1" || return 1
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	expect_write $PF0/tsm/disconnect "$(tdx_tsm)" OK || return 1
	expect_disconnected || return 1
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	expect_connected "$(tdx_tsm)"
}

case_tdx_fail_spdm_delete() { tdx_teardown_fault 131; }
case_tdx_fail_stream_block() { tdx_teardown_fault 133; }
case_tdx_fail_stream_delete() { tdx_teardown_fault 134; }
case_tdx_fail_spdm_disconnect() { tdx_teardown_fault 143; }

# A failing TDH.SPDM.MNG fails the evidence refresh; the device stays connected.
case_tdx_fail_spdm_mng() {
	only_on_core rs "the pci-tsm evidence family exists with tsm-rs only" || return 0
	tdx_up fail_leaf=144 || return 1
	expect_write $PF0/tsm/connect "$(tdx_tsm)" OK || return 1
	! tsm evidence 10000:01:00.0 --nonce random --out /tmp/ev > /dev/null 2>&1 ||
		fail "evidence refreshed with TDH.SPDM.MNG failing" || return 1
	expect_connected "$(tdx_tsm)" || return 1
	tsm evidence 10000:01:00.0 --nonce random --out /tmp/ev > /tmp/ev.log 2>&1 ||
		fail "tsm evidence --nonce: $(tail -n 3 /tmp/ev.log)"
}

# --- RISC-V CoVE-IO (tsm_cove_io) ---

# cove_up [PARAM=VALUE...]: the platform with its device model, then the
# backend on its firmware model with the fault parameters given.
cove_up() {
	platform_up || return 1
	load $COVE model=1 "$@"
}

cove_tsm() { tsm_of $COVE; }

case_cove_io_sbi_needs_riscv() {
	# The hardware transport is riscv64's SBI: without model=1 there is no TSM
	# to call here, the module does not load.
	modprobe $COVE 2> /dev/null && fail "loaded without a CoVE TSM"
	expect_absent /sys/devices/faux/$COVE
}

case_cove_io_connects_through_the_model() {
	cove_up || return 1
	dmesg -c > /dev/null
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_connected "$(cove_tsm)" || return 1
	dmesg | grep -q "CoVE-IO: connected, IDE Stream ID 0 keyed by the TSM, Secure" ||
		fail "no connect message: $(dmesg | tail -n 3)" || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_disconnected || return 1
	# The TSM kept nothing: the next connect starts afresh.
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_connected "$(cove_tsm)"
}

case_cove_io_evidence() {
	only_on_core rs "the pci-tsm evidence family exists with tsm-rs only" || return 0
	cove_up || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	rm -rf /tmp/ev
	tsm evidence 10000:01:00.0 --out /tmp/ev > /tmp/ev.log 2>&1 ||
		fail "tsm evidence: $(tail -n 3 /tmp/ev.log)" || return 1
	# The connection transcript: chain, VCA, signed measurements.
	[ -s /tmp/ev/cert0.bin ] || fail "no certificate chain" || return 1
	[ -s /tmp/ev/vca.bin ] || fail "no VCA" || return 1
	[ -s /tmp/ev/measurements.bin ] || fail "no measurements" || return 1
	# COVH has no measurement function: a nonce cannot be honoured.
	! tsm evidence 10000:01:00.0 --nonce random --out /tmp/ev > /dev/null 2>&1 ||
		fail "a nonce read succeeded" || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	! tsm evidence 10000:01:00.0 --out /tmp/ev > /dev/null 2>&1 ||
		fail "evidence left after disconnect"
}

case_cove_io_one_owner() {
	cove_up || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_write $PF0/tsm/connect "$(tsm_of $LINK)" EBUSY || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_write $PF0/tsm/connect "$(tsm_of $LINK)" OK || return 1
	expect_write $PF0/tsm/disconnect "$(tsm_of $LINK)" OK
}

case_cove_io_unload_disconnects() {
	cove_up || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	unload $COVE || return 1
	expect_disconnected
}

# Interfaces: bind gives the TVM the function's memory BARs and has the TSM
# lock the interface, whose report it checks against them; unbind stops it
# and takes the regions back. A region left with the TSM would refuse the next
# bind (EBUSY), so binding again shows that nothing was left.
case_cove_io_tdi_bind_unbind() {
	cove_up || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	dmesg -c > /dev/null
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $CTL/bind 10000:01:00.1 OK || return 1
	expect_eq "$(cat $PF0/tsm/bound)$(cat $FN1/tsm/bound)" "$(cove_tsm)$(cove_tsm)" \
		"bound" || return 1
	dmesg | grep -q 'CoVE-IO: TDI 0x100 bound to TVM 0x1, 1 MMIO regions, CONFIG_LOCKED' ||
		fail "bind of function 0 not logged: $(dmesg | tail -n 3)" || return 1
	# Function 1 has no BAR: no region, and a report without MMIO.
	dmesg | grep -q 'CoVE-IO: TDI 0x101 bound to TVM 0x1, 0 MMIO regions' ||
		fail "bind of function 1 not logged: $(dmesg | tail -n 3)" || return 1
	# A TVM asks the TSM itself (COVG): the host has nothing to relay.
	expect_write $CTL/guest_request "10000:01:00.1 state" EOPNOTSUPP || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	expect_write $CTL/unbind 10000:01:00.1 OK || return 1
	expect_eq "$(cat $PF0/tsm/bound)$(cat $FN1/tsm/bound)" "" "bound after unbind" ||
		return 1
	! dmesg | grep -q 'reclaim_tvm_interface_region' ||
		fail "a region was not reclaimed: $(dmesg | grep reclaim_tvm)" || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	# Disconnected while bound: the TSM stops the interface and forgets it.
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "bound after disconnect" || return 1
	expect_disconnected || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_disconnected
}

# The TSM drops function 0's region while answering success (a fault with
# SBI_SUCCESS): the report's MMIO then lies outside the TVM's regions, and the
# bind fails with SBI_ERR_BAD_RANGE (EINVAL) and leaves nothing bound.
case_cove_io_bind_checks_the_report() {
	cove_up fail_fid=1026 fail_error=0 || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	dmesg -c > /dev/null
	expect_write $CTL/bind 10000:01:00.0 EINVAL || return 1
	dmesg | grep -q 'bind_interface: SBI error -11' ||
		fail "no BAD_RANGE: $(dmesg | tail -n 3)" || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "bound" || return 1
	# The fault fired once: the next bind gets its region, the check passes.
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_disconnected
}

# cove_bind_fault_rolls_back FID: a bind failing in that function gives every
# region back (the next bind gets them again) and leaves nothing bound.
cove_bind_fault_rolls_back() {
	cove_up fail_fid=$1 || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.0 EIO || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "bound" || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_disconnected
}

case_cove_io_fail_add_region() { cove_bind_fault_rolls_back 1026; }
case_cove_io_fail_bind_interface() { cove_bind_fault_rolls_back 1028; }

# unbind_interface (FID 1030) failing: the backend still reclaims the regions,
# and the TSM unbinds the interface before it gives one back, so it can be
# bound again (a bound interface would refuse its regions: EBUSY).
case_cove_io_fail_unbind_interface() {
	cove_up fail_fid=1030 || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	dmesg -c > /dev/null
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	dmesg | grep -q 'unbind_interface: SBI error -1' ||
		fail "unbind_interface did not fail: $(dmesg | tail -n 3)" || return 1
	! dmesg | grep -q 'reclaim_tvm_interface_region' ||
		fail "a region was not reclaimed: $(dmesg | grep reclaim_tvm)" || return 1
	expect_eq "$(cat $PF0/tsm/bound)" "" "bound" || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_disconnected
}

# reclaim_tvm_interface_region (FID 1027) failing: the TSM keeps the region, so
# the next bind cannot give it again (SBI_ERR_ALREADY_AVAILABLE, EBUSY), until
# disconnect_device makes the TSM forget the device's interfaces.
case_cove_io_fail_reclaim_region() {
	cove_up fail_fid=1027 || return 1
	load $LINK || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $CTL/unbind 10000:01:00.0 OK || return 1
	expect_write $CTL/bind 10000:01:00.0 EBUSY || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_disconnected || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_write $CTL/bind 10000:01:00.0 OK || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_disconnected
}

# cove_fault_rolls_back PARAM=VALUE...: a connect failing there leaves
# nothing behind.
cove_fault_rolls_back() {
	cove_up "$@" || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" EIO || return 1
	expect_disconnected || return 1
	# The same fault-free.
	unload $COVE || return 1
	load $COVE model=1 || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_connected "$(cove_tsm)"
}

# connect_device (FID 1024) refused at entry: SBI_ERR_FAILED, and a wrong
# state (SBI_ERR_INVALID_STATE, EBUSY).
case_cove_io_fail_connect_device() { cove_fault_rolls_back fail_fid=1024; }
case_cove_io_fail_connect_device_state() {
	cove_up fail_fid=1024 fail_error=-10 || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" EBUSY || return 1
	expect_disconnected
}
# The TSM stops in the middle of the SPDM exchanges: after VCA, and in the
# session.
case_cove_io_fail_relay_early() { cove_fault_rolls_back fail_relay=3; }
case_cove_io_fail_relay_in_session() { cove_fault_rolls_back fail_relay=12; }
# The device holds its keys, the Root Port none yet; then both, none in use.
case_cove_io_fail_key_prog() { cove_fault_rolls_back fail_key=1; }
case_cove_io_fail_key_set_go() { cove_fault_rolls_back fail_key=2; }

# disconnect_device (FID 1025) failing once is issued again: nothing is left.
case_cove_io_fail_disconnect_device() {
	cove_up fail_fid=1025 || return 1
	expect_write $PF0/tsm/connect "$(cove_tsm)" OK || return 1
	expect_write $PF0/tsm/disconnect "$(cove_tsm)" OK || return 1
	expect_disconnected
}
