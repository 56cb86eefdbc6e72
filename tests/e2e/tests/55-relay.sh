# SPDX-License-Identifier: GPL-2.0
# Native CMA (pci_cma) against the emulated platform's Endpoint function 0,
# whose DOE mailbox, in relay mode (tsm_emu_bus relay=1), answers through
# /dev/tsm_emu_mbox0 to the device model running in the guest
# (/bin/tsm-devmodel serve --device): the mailbox stays Busy until the model
# replies. Each case starts the model with the faults it needs and stops it
# at the end. A fault applies to the first SPDM connection only, so each fault
# case shows the refusal and then a successful connect. Then the one-owner
# rule between CMA and the platform TSM (tsm_emu_link), whose GET_VERSION goes
# through the same relay.
#
# Function 0 has IDE and TEE-IO, so it has tsm/ on both cores.

CMA=pci_cma
BUS=tsm_emu_bus
LINK=tsm_emu_link
PF0=$PLATFORM_DSM
MBOX=$PLATFORM_MBOX
# DOE Status of function 0's mailbox (DOE capability at 0x100).
DOE_STATUS=0x10c

teardown_case() {
	model_stop
	modprobe -r $LINK
	modprobe -r $CMA
	modprobe -r $BUS
}

# The relay and the model are up: the platform in relay mode and CMA loaded.
setup_relay() {
	platform_up -- "$@" && load $CMA
}

# expect_clean: no connection left (connect, authenticated empty) and the
# mailbox idle (neither Busy nor Error nor Data Object Ready).
expect_clean() {
	expect_eq "$(cat $PF0/tsm/connect)" "" "connect" || return 1
	expect_eq "$(cat $PF0/authenticated)" "" "authenticated" || return 1
	expect_eq "$(cfg_read $PF0 $DOE_STATUS)" 00000000 "DOE Status"
}

# expect_cma_connects: CMA authenticates function 0 through the relay, then
# disconnects and leaves everything clean.
expect_cma_connects() {
	local tsm
	tsm=$(tsm_of $CMA)
	expect_write $PF0/tsm/connect "$tsm" OK || return 1
	expect_eq "$(cat $PF0/tsm/connect)" "$tsm" "connect" || return 1
	expect_eq "$(cat $PF0/authenticated)" "$tsm" "authenticated" || return 1
	expect_write $PF0/tsm/disconnect "$tsm" OK || return 1
	expect_clean
}

# fault_then_ok ERRNO FAULT: with the model injecting FAULT into the first
# connection, the first connect fails with ERRNO and leaves nothing behind;
# the second authenticates.
fault_then_ok() {
	setup_relay "$2" || return 1
	expect_write $PF0/tsm/connect "$(tsm_of $CMA)" "$1" || return 1
	expect_clean || return 1
	expect_cma_connects
}

case_relay_is_off_by_default() {
	load $BUS || return 1
	expect_absent $MBOX
}

case_relay_takes_one_opener() {
	local err
	setup_relay || return 1
	err=$( (exec 3< $MBOX) 2>&1 ) && fail "a second open succeeded" && return 1
	expect_eq "$(errno_of "$err")" EBUSY "second open" || return 1
	# The first opener still serves.
	expect_cma_connects
}

# An open relay holds the module: it unloads once the model has closed it.
case_relay_holds_the_module_while_open() {
	setup_relay || return 1
	modprobe -r $CMA || return 1
	modprobe -r $BUS 2> /dev/null && fail "tsm_emu_bus unloaded under an open relay" && return 1
	model_stop || return 1
	unload $BUS || return 1
	expect_absent $MBOX
}

case_relay_cma_authenticates() {
	setup_relay || return 1
	expect_cma_connects || return 1
	dmesg | grep -q "${PF0##*/}: CMA: authenticated" || fail "no authentication in the log" || return 1
	grep -q "CHALLENGE" $PLATFORM_MODEL_LOG || fail "the model saw no CHALLENGE: $(tail -n 5 $PLATFORM_MODEL_LOG)"
}

case_relay_refuses_a_corrupt_signature() { fault_then_ok EKEYREJECTED 'corrupt-signature@challenge*1'; }
case_relay_refuses_a_truncated_response() { fault_then_ok EPROTO 'truncate*1'; }
case_relay_times_out_on_no_answer() { fault_then_ok EIO 'no-answer@challenge*1'; }
# An answer later than Linux' DOE timeout: the Abort ends the exchange, the
# late answer is discarded, and the model serves the next connect.
case_relay_times_out_on_a_slow_answer() { fault_then_ok EIO 'slow=1500@challenge*1'; }

# Nobody reads the relay: Linux' DOE timeout (1 s) fails the connect and its
# Abort leaves the mailbox clean; a model started afterwards is served.
case_relay_times_out_without_a_model() {
	load $BUS relay=1 && load $CMA || return 1
	expect_write $PF0/tsm/connect "$(tsm_of $CMA)" EIO || return 1
	expect_clean || return 1
	model_start
	expect_cma_connects
}

# The platform TSM first: CMA gets EBUSY until it disconnects, then CMA owns
# the mailbox (swap).
case_relay_platform_tsm_first() {
	local cma link
	setup_relay && load $LINK || return 1
	cma=$(tsm_of $CMA) link=$(tsm_of $LINK)
	expect_write $PF0/tsm/connect "$link" OK || return 1
	expect_write $PF0/tsm/connect "$cma" EBUSY || return 1
	expect_eq "$(cat $PF0/tsm/connect)" "$link" "connect" || return 1
	expect_eq "$(cat $PF0/authenticated)" "$link" "authenticated" || return 1
	expect_write $PF0/tsm/disconnect "$link" OK || return 1
	expect_cma_connects
}

# CMA first: the platform TSM gets EBUSY until CMA disconnects.
case_relay_cma_first() {
	local cma link
	setup_relay && load $LINK || return 1
	cma=$(tsm_of $CMA) link=$(tsm_of $LINK)
	expect_write $PF0/tsm/connect "$cma" OK || return 1
	expect_write $PF0/tsm/connect "$link" EBUSY || return 1
	expect_eq "$(cat $PF0/authenticated)" "$cma" "authenticated" || return 1
	expect_write $PF0/tsm/disconnect "$cma" OK || return 1
	expect_write $PF0/tsm/connect "$link" OK || return 1
	expect_write $PF0/tsm/disconnect "$link" OK || return 1
	expect_clean
}
