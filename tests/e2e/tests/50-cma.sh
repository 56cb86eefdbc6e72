# SPDX-License-Identifier: GPL-2.0
# Native CMA (drivers/pci/cma, module pci_cma): SPDM device authentication of
# QEMU NVMe functions whose CMA DOE mailbox QEMU relays to the device model on
# the host (tsm-devmodel, one instance per function, with the faults the
# function's slot names; scripts/lib/devmodel.sh starts them). A fault applies
# to the first SPDM connection only, so each fault case shows the refusal and
# then a successful connect of the same function. Then the one-owner rule
# between CMA and a platform TSM (the emulated link TSM).
#
# The NVMe functions have no IDE and no TEE-IO: with upstream's C core they get
# no tsm/ (tests/e2e/deviations).

CMA=pci_cma
BUS=tsm_emu_bus
LINK=tsm_emu_link
PF0=/sys/bus/pci/devices/10000:01:00.0
# The NVMe functions by the name of their device model (scripts/test starts
# them with the faults of tests/e2e/devmodels).
GOOD=$(devmodel_dev good)

teardown_case() { modprobe -r $LINK; platform_down; modprobe -r $CMA; }

# The function is present (the boot added the NVMe functions and their models).
need_nvme() {
	[ -n "$1" ] && [ -e "$1" ] && return 0
	echo "SKIP: no such NVMe function (QEMU without the device models)"
	return 1
}

# cma_ready NAME [PARAM...]: FN becomes the NVMe function NAME and TSM the tsmN
# of pci_cma, loaded with the module parameters PARAM. Returns 0 when ready, 2
# when the case does not apply (SKIP printed: no such function, or the C core),
# 1 on failure; a case continues with `|| return $(($? == 1))`.
cma_ready() {
	FN=$(devmodel_dev "$1")
	shift
	need_nvme "$FN" || return 2
	only_on_core rs "tsm/ on CMA-only functions is a tsm-rs addition" || return 2
	load $CMA "$@" || return 1
	TSM=$(tsm_of $CMA)
}

# expect_clean FUNC: no connection left: connect, authenticated empty.
expect_clean() {
	expect_eq "$(cat "$1/tsm/connect")" "" "connect of $1" || return 1
	expect_eq "$(cat "$1/authenticated")" "" "authenticated of $1"
}

# fault_then_ok NAME ERRNO: the first connect of the function fails with ERRNO
# and leaves nothing behind; the second (the model's fault is spent)
# authenticates.
fault_then_ok() {
	cma_ready "$1" || return $(($? == 1))
	expect_write "$FN/tsm/connect" "$TSM" "$2" || return 1
	expect_clean "$FN" || return 1
	expect_write "$FN/tsm/connect" "$TSM" OK || return 1
	expect_eq "$(cat "$FN/authenticated")" "$TSM" "authenticated after the retry" || return 1
	expect_write "$FN/tsm/disconnect" "$TSM" OK || return 1
	expect_clean "$FN"
}

case_cma_functions_get_tsm() {
	need_nvme $GOOD || return 0
	expect_absent $GOOD/tsm || return 1
	load $CMA || return 1
	if [ "$(core)" = rs ]; then
		expect_exists $GOOD/tsm/connect || return 1
		expect_exists $GOOD/tsm/dsm || return 1
		expect_absent $GOOD/tsm/bound || return 1
		expect_clean $GOOD || return 1
	else
		expect_absent $GOOD/tsm || return 1
	fi
	unload $CMA || return 1
	expect_absent $GOOD/tsm
}

case_cma_authenticates_a_device() {
	cma_ready good || return $(($? == 1))
	expect_write "$FN/tsm/connect" "$TSM" OK || return 1
	expect_eq "$(cat "$FN/tsm/connect")" "$TSM" "connect" || return 1
	expect_eq "$(cat "$FN/authenticated")" "$TSM" "authenticated" || return 1
	expect_eq "$(cat "$FN/tsm/dsm")" "${FN##*/}" "dsm" || return 1
	dmesg | grep -q "${FN##*/}: CMA: authenticated" || fail "no authentication in the log" || return 1
	# A second connect, by anyone, is refused while connected.
	expect_write "$FN/tsm/connect" "$TSM" EBUSY || return 1
	expect_write "$FN/tsm/disconnect" "$TSM" OK || return 1
	expect_clean "$FN" || return 1
	# Again, and unloading the TSM disconnects.
	expect_write "$FN/tsm/connect" "$TSM" OK || return 1
	unload $CMA || return 1
	expect_absent "$FN/tsm"
}

case_cma_p256_suite() {
	cma_ready good algorithms=256 || return $(($? == 1))
	# The model's chain is P-384: with only the P-256 suite offered there is
	# nothing in common.
	expect_write "$FN/tsm/connect" "$TSM" EPROTO || return 1
	expect_clean "$FN"
}

# A device of the P-256 suite (P-256 chain, SHA-256, secp256r1): authenticated
# with every suite offered, and with the P-256 suite alone; not with P-384 alone.
case_cma_p256_device() {
	local offer
	for offer in 0 256; do
		cma_ready p256 algorithms=$offer || return $(($? == 1))
		expect_write "$FN/tsm/connect" "$TSM" OK || return 1
		dmesg | tail -n 3 | grep -q "${FN##*/}: CMA: authenticated.*EcdsaP256" ||
			fail "not authenticated with P-256 (offer $offer)" || return 1
		unload $CMA || return 1
	done
	cma_ready p256 algorithms=384 || return 1
	expect_write "$FN/tsm/connect" "$TSM" EPROTO || return 1
	expect_clean "$FN"
}

case_cma_refuses_a_corrupt_signature() { fault_then_ok badsig EKEYREJECTED; }
case_cma_refuses_a_foreign_chain() { fault_then_ok foreign EKEYREJECTED; }
case_cma_refuses_a_truncated_response() { fault_then_ok truncate EPROTO; }
case_cma_refuses_an_spdm_error() { fault_then_ok error EPROTO; }
# A DOE object whose Length disagrees with what arrives fails the DOE exchange
# itself: a transport error.
case_cma_refuses_a_wrong_length() { fault_then_ok wronglen EIO; }

# A response larger than QEMU's relay buffer: QEMU drops its connection to the
# model, so this function's mailbox fails every later exchange too. Each
# connect fails as a transport error and leaves nothing behind.
case_cma_refuses_an_oversized_response() {
	cma_ready oversize || return $(($? == 1))
	expect_write "$FN/tsm/connect" "$TSM" EIO || return 1
	expect_clean "$FN" || return 1
	expect_write "$FN/tsm/connect" "$TSM" EIO || return 1
	expect_clean "$FN"
}
case_cma_times_out_on_no_answer() { fault_then_ok noanswer EIO; }

# Slow answers: QEMU relays a request inside the write that sets Go and holds
# the vCPU until the model answers, so Linux' DOE timeout never runs out and
# authentication still succeeds (the "noanswer" model makes the timeout).
case_cma_tolerates_slow_answers() {
	cma_ready slow || return $(($? == 1))
	expect_write "$FN/tsm/connect" "$TSM" OK || return 1
	expect_write "$FN/tsm/disconnect" "$TSM" OK
}

# One owner of a function's SPDM session: CMA first, then a platform TSM.
case_cma_first_owns_the_session() {
	local link
	cma_ready good || return $(($? == 1))
	load $BUS && load $LINK || return 1
	link=$(tsm_of $LINK)
	expect_write "$FN/tsm/connect" "$TSM" OK || return 1
	expect_write "$FN/tsm/connect" "$link" EBUSY || return 1
	expect_eq "$(cat "$FN/authenticated")" "$TSM" "authenticated" || return 1
	expect_write "$FN/tsm/disconnect" "$TSM" OK || return 1
	# Free again: the platform TSM is asked, and declines a device it does not manage.
	expect_write "$FN/tsm/connect" "$link" ENXIO || return 1
	expect_clean "$FN"
}
