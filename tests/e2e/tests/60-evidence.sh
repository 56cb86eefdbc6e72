# SPDX-License-Identifier: GPL-2.0
# Evidence through the pci-tsm generic netlink family
# (Documentation/netlink/specs/pci-tsm.yaml), read and verified with the
# operator CLI (/bin/tsm, tools/tsm), from both producers: native CMA on the
# QEMU NVMe functions whose device models run on the host
# (tests/e2e/devmodels; the root each model trusts is /devmodel/NAME.pem), and
# the emulated platform TSM (tsm_emu_link) with its device model in the guest
# (the chain of /devmodel/platform). The family is a tsm-rs addition: every
# case is skipped on upstream's C core (tests/e2e/deviations).

CMA=pci_cma
LINK=tsm_emu_link
CTL=/sys/devices/faux/tsm_emu_link
NOBODY=65534
EV=/tmp/evidence
PLATFORM_ROOT=$PLATFORM_CERTS/root.pem
# Another device's identity, whole and consistent (make_initramfs generates it).
IMPOSTOR_CERTS=/devmodel/impostor

teardown_case() {
	rm -rf "$EV" "$EV"-*
	modprobe -r $CMA
	modprobe -r $LINK
	platform_down
}

# connected NAME: FN is the NVMe function NAME, connected through pci_cma.
connected() {
	FN=$(devmodel_dev "$1")
	[ -n "$FN" ] || { echo "SKIP: no NVMe function $1"; return 2; }
	only_on_core rs "the pci-tsm family is a tsm-rs addition" || return 2
	load $CMA || return 1
	TSM=$(tsm_of $CMA)
	DEV=${FN##*/}
	expect_write "$FN/tsm/connect" "$TSM" OK
}

# platform_connected [MODEL_ARG...]: the emulated platform's DSM (DEV, at
# PF0) connected through the emulated link TSM, its device model started with
# MODEL_ARGs; returns as connected does.
platform_connected() {
	only_on_core rs "the pci-tsm family is a tsm-rs addition" || return 2
	platform_up -- "$@" || return 1
	load $LINK || return 1
	PF0=$PLATFORM_DSM
	DEV=${PF0##*/}
	TSM=$(tsm_of $LINK)
	expect_write "$PF0/tsm/connect" "$TSM" OK
}

# expect_exit STATUS COMMAND...: COMMAND exits with STATUS; its output is
# kept in OUT.
expect_exit() {
	local want=$1 rc
	shift
	OUT=$("$@" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] || fail "$* exited $rc, not $want: $OUT"
}

# expect_errno NAME COMMAND...: COMMAND fails (exit 2) naming errno NAME.
expect_errno() {
	local name=$1
	shift
	expect_exit 2 "$@" || return 1
	case $OUT in *"kernel: $name:"*) ;; *) fail "$* did not fail with $name: $OUT";; esac
}

case_evidence_of_a_cma_device() {
	connected good || return $(($? == 1))
	expect_exit 0 tsm evidence "$DEV" --nonce random --out "$EV" || return 1
	for f in cert0.bin vca.bin measurements.bin nonce.hex; do
		expect_exists "$EV/$f" || return 1
	done
	expect_exit 0 tsm verify --evidence "$EV" --root /devmodel/good.pem \
		--nonce "$(cat "$EV/nonce.hex")"
}

case_verify_trusts_the_devices_root() {
	connected good || return $(($? == 1))
	expect_exit 0 tsm verify "$DEV" --root /devmodel/good.pem || return 1
	case $OUT in *"nonce: matches"*) ;; *) fail "no fresh nonce: $OUT";; esac
}

case_verify_refuses_another_root() {
	connected good || return $(($? == 1))
	expect_exit 1 tsm verify "$DEV" --root /devmodel/p256.pem || return 1
	case $OUT in *"does not lead to the given root"*) ;; *) fail "$OUT";; esac
}

case_verify_refuses_replayed_measurements() {
	connected good || return $(($? == 1))
	expect_exit 0 tsm evidence "$DEV" --nonce 00112233 --out "$EV" || return 1
	# Fresh measurements with another nonce; the old ones are a replay.
	expect_exit 0 tsm evidence "$DEV" --nonce 44556677 --out "$EV-new" || return 1
	expect_exit 1 tsm verify --evidence "$EV" --root /devmodel/good.pem --nonce 44556677
}

case_disconnect_drops_the_evidence() {
	connected good || return $(($? == 1))
	expect_write "$FN/tsm/disconnect" "$TSM" OK || return 1
	expect_errno ENXIO tsm evidence "$DEV"
}

case_unknown_device() {
	only_on_core rs "the pci-tsm family is a tsm-rs addition" || return 0
	expect_errno ENODEV tsm evidence 0000:7f:1f.7
}

case_non_admin_is_refused() {
	connected good || return $(($? == 1))
	mkdir -p /etc
	grep -q '^nobody:' /etc/passwd 2>/dev/null ||
		echo "nobody:x:$NOBODY:$NOBODY:nobody:/:/bin/sh" >> /etc/passwd
	OUT=$(su -s /bin/sh nobody -c "tsm evidence $DEV" 2>&1)
	case $OUT in *"kernel: EPERM:"*) ;; *) fail "not EPERM: $OUT";; esac
}

case_malformed_requests() {
	connected good || return $(($? == 1))
	expect_errno EINVAL tsm raw-read --type-mask 0x200 || return 1          # no dev-name
	expect_errno EINVAL tsm raw-read --dev-name "$DEV" || return 1          # no type-mask
	expect_errno EINVAL tsm raw-read --dev-name "$DEV" --type-mask 0x800 || return 1
	expect_errno EINVAL tsm raw-read --dev-name "$DEV" --type-mask 1 --flags 2 || return 1
	expect_errno EINVAL tsm raw-read --dev-name "$DEV" --type-mask 1 --nonce-len 257 || return 1
	expect_errno EINVAL tsm raw-read --dev-name "$DEV" --type-mask 1 --nonce-len 0 || return 1
	expect_errno EINVAL tsm raw-read --dev-name "$DEV" --type-mask 1 --extra-attr 7
}

case_evidence_of_a_platform_tsm_device() {
	platform_connected || return $(($? == 1))
	# A nonce reaches the device in the session; the refreshed evidence verifies.
	expect_exit 0 tsm evidence "$DEV" --nonce random --out "$EV" || return 1
	for f in cert0.bin vca.bin measurements.bin nonce.hex; do
		expect_exists "$EV/$f" || return 1
	done
	expect_absent "$EV/report.bin" || return 1
	expect_exit 0 tsm verify --evidence "$EV" --root $PLATFORM_ROOT \
		--nonce "$(cat "$EV/nonce.hex")" || return 1
	expect_exit 0 tsm verify "$DEV" --root $PLATFORM_ROOT || return 1
	case $OUT in *"nonce: matches"*) ;; *) fail "no fresh nonce: $OUT";; esac
}

case_platform_disconnect_drops_the_evidence() {
	platform_connected || return $(($? == 1))
	expect_write "$PF0/tsm/disconnect" "$TSM" OK || return 1
	expect_errno ENXIO tsm evidence "$DEV"
}

# A locked TDI of another function: its evidence is the DSM's objects and its
# interface report, until unbind.
case_report_of_a_bound_tdi() {
	local fn=10000:01:00.1
	platform_connected || return $(($? == 1))
	expect_errno ENXIO tsm evidence $fn || return 1
	expect_write $CTL/bind $fn OK || return 1
	expect_exit 0 tsm evidence $fn --out "$EV" || return 1
	expect_exists "$EV/report.bin" || return 1
	expect_exit 0 tsm verify --evidence "$EV" --root $PLATFORM_ROOT || return 1
	case $OUT in *"interface report: "*" MMIO ranges"*) ;; *) fail "no report: $OUT";; esac
	expect_write $CTL/unbind $fn OK || return 1
	expect_errno ENXIO tsm evidence $fn
}

# The DSM's own TDI: the report joins the DSM's evidence, survives a
# measurement refresh and goes at unbind, the rest staying.
case_report_of_the_dsms_own_tdi() {
	platform_connected || return $(($? == 1))
	expect_write $CTL/bind "$DEV" OK || return 1
	expect_exit 0 tsm evidence "$DEV" --nonce random --out "$EV" || return 1
	expect_exists "$EV/report.bin" || return 1
	expect_exit 0 tsm verify --evidence "$EV" --root $PLATFORM_ROOT \
		--nonce "$(cat "$EV/nonce.hex")" || return 1
	expect_write $CTL/unbind "$DEV" OK || return 1
	expect_exit 0 tsm evidence "$DEV" --out "$EV-unbound" || return 1
	expect_absent "$EV-unbound/report.bin" || return 1
	expect_exists "$EV-unbound/measurements.bin"
}

# The device is replaced by another one with a whole identity of its own: the
# kernel authenticates it (the protocol holds), its evidence shows a chain
# other than the one recorded, and verify refuses it.
case_verify_refuses_an_impostor() {
	platform_connected || return $(($? == 1))
	expect_exit 0 tsm evidence "$DEV" --out "$EV" || return 1
	expect_exit 0 tsm verify --evidence "$EV" --root $PLATFORM_ROOT || return 1
	expect_write "$PF0/tsm/disconnect" "$TSM" OK || return 1
	model_stop || return 1
	model_start --certs=$IMPOSTOR_CERTS || return 1
	expect_write "$PF0/tsm/connect" "$TSM" OK || return 1
	expect_exit 0 tsm evidence "$DEV" --out "$EV-impostor" || return 1
	! cmp -s "$EV/cert0.bin" "$EV-impostor/cert0.bin" ||
		fail "the impostor presented the recorded chain" || return 1
	expect_exit 1 tsm verify "$DEV" --root $PLATFORM_ROOT || return 1
	case $OUT in *"does not lead to the given root"*) ;; *) fail "$OUT";; esac
}
