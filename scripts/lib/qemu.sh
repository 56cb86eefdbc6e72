# SPDX-License-Identifier: GPL-2.0
# Booting the test kernel in QEMU (TCG: KVM hangs on this machine kind) and
# building the test initramfs.

# An e2e boot takes about 6 minutes under TCG with KASAN, lockdep and kmemleak
# (2026-11-30), on a machine shared with other builds longer.
QEMU_TIMEOUT=${TSM_QEMU_TIMEOUT:-900}
# q35: PCIe with extended configuration space, which a DOE mailbox (QEMU 10's
# NVMe spdm_port) needs; TSM_QEMU_MACHINE=pc boots the old i440FX machine.
QEMU_MACHINE=${TSM_QEMU_MACHINE:-q35}
# Extra QEMU arguments for the next boot_qemu (an array: the e2e boot adds the
# NVMe functions of devmodel_start here). Empty by default.
[ -n "${QEMU_EXTRA_ARGS+set}" ] || QEMU_EXTRA_ARGS=()

# boot_qemu BUILD CONSOLE_LOG KTAP_LOG INITRD CMDLINE...
# The first serial port is the console, the second carries e2e KTAP.
# Appends "${QEMU_EXTRA_ARGS[@]}". Returns 124 on timeout.
boot_qemu() {
	local build=$1 console=$2 ktap=$3 initrd=$4
	shift 4
	# -audio none: no audio backend module to load (QEMU 10 refuses a module
	# of another QEMU version).
	local args=(-machine "$QEMU_MACHINE" -accel tcg -m 2048 -smp 2 -no-reboot
		-display none -monitor none -audio none
		-bios /usr/share/qemu/qboot.rom
		-kernel "$build/arch/x86/boot/bzImage"
		-serial "file:$console" -serial "file:$ktap"
		-append "console=ttyS0 panic=-1 oops=panic $*")
	[ -n "$initrd" ] && args+=(-initrd "$initrd")
	args+=("${QEMU_EXTRA_ARGS[@]}")
	timeout --foreground -k 10 "$QEMU_TIMEOUT" qemu-system-x86_64 "${args[@]}" < /dev/null
}

# make_initramfs BUILD OUT [DATA_DIR]: busybox, the e2e scripts and the built
# modules; DATA_DIR's files (devmodel_start's RUN_DIR/guest: root
# certificates, the device list) go to /devmodel; the static device model
# (devmodel_build's DEVMODEL_BIN, when set) goes to /bin/tsm-devmodel, for the
# emulated platform's mailbox relay; the static operator CLI (tsm_cli_build's
# TSM_CLI_BIN, when set) goes to /bin/tsm, and the benchmark tool
# (tsm_bench_build's TSM_BENCH_BIN, when set) to /bin/tsm-bench.
make_initramfs() {
	local build=$1 out=$2 data=${3:-} root
	root=$(mktemp -d "$TSM_CACHE/initramfs.XXXX")
	# mktemp's 0700 would become the guest's /: unprivileged test accounts must get in.
	chmod 0755 "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,lib,e2e}
	cp /bin/busybox "$root/bin/busybox"
	if [ -n "${DEVMODEL_BIN:-}" ]; then
		cp "$DEVMODEL_BIN" "$root/bin/tsm-devmodel"
		# The chain of the emulated platform's DSM (tests/e2e/lib.sh
		# PLATFORM_CERTS): generating it in the guest takes seconds under TCG.
		"$DEVMODEL_BIN" gen-certs --out "$root/devmodel/platform" \
			--pci-id fffe:0002:120000:01:0000:0000 > /dev/null || return 1
		# Another device claiming to be that one (tests/e2e/tests/60-evidence.sh).
		"$DEVMODEL_BIN" gen-certs --out "$root/devmodel/impostor" \
			--pci-id fffe:0002:120000:01:0000:0000 > /dev/null || return 1
	fi
	if [ -n "${TSM_CLI_BIN:-}" ]; then cp "$TSM_CLI_BIN" "$root/bin/tsm"; fi
	if [ -n "${TSM_BENCH_BIN:-}" ]; then cp "$TSM_BENCH_BIN" "$root/bin/tsm-bench"; fi
	ln -s busybox "$root/bin/sh"
	cp "$TSM_ROOT/tests/e2e/init" "$root/init"
	cp -r "$TSM_ROOT"/tests/e2e/. "$root/e2e/"
	[ -d "$build/modules/lib/modules" ] && cp -a "$build/modules/lib/modules" "$root/lib/"
	[ -n "$data" ] && mkdir -p "$root/devmodel" && cp -r "$data"/. "$root/devmodel/"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$out"
	rm -rf "$root"
}

# make_firmware_initramfs OUT DIR: an initramfs with DIR's files under
# /lib/firmware and nothing else, for the KUnit boot: built-in KUnit runs after
# the initramfs is unpacked, and the firmware loader reads files from it (it
# waits for the unpacking). No /init is needed: kunit_shutdown=poweroff ends the
# boot when the suites are done.
make_firmware_initramfs() {
	local out=$1 fw=$2 root
	root=$(mktemp -d "$TSM_CACHE/initramfs.XXXX")
	chmod 0755 "$root"
	mkdir -p "$root/lib/firmware"
	cp -r "$fw"/. "$root/lib/firmware/"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$out"
	rm -rf "$root"
}

# console_splats CONSOLE: prints the first kernel reports (BUG, WARNING, KASAN,
# lockdep, hung task) of a console log; fails if there is none.
console_splats() {
	grep -nE -m5 'BUG:|WARNING:|KASAN|possible recursive locking|circular locking|blocked for more than' "$1"
}
