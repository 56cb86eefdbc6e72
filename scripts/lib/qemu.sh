# SPDX-License-Identifier: GPL-2.0
# Booting the test kernel in QEMU (TCG: KVM hangs on this machine kind) and
# building the test initramfs.

QEMU_TIMEOUT=${TSM_QEMU_TIMEOUT:-600}

# boot_qemu BUILD CONSOLE_LOG KTAP_LOG INITRD CMDLINE...
# The first serial port is the console, the second carries e2e KTAP.
# Returns 124 on timeout.
boot_qemu() {
	local build=$1 console=$2 ktap=$3 initrd=$4
	shift 4
	local args=(-accel tcg -m 2048 -smp 2 -no-reboot -display none -monitor none
		-bios /usr/share/qemu/qboot.rom
		-kernel "$build/arch/x86/boot/bzImage"
		-serial "file:$console" -serial "file:$ktap"
		-append "console=ttyS0 panic=-1 oops=panic $*")
	[ -n "$initrd" ] && args+=(-initrd "$initrd")
	timeout --foreground -k 10 "$QEMU_TIMEOUT" qemu-system-x86_64 "${args[@]}" < /dev/null
}

# make_initramfs BUILD OUT: busybox, the e2e scripts and the built modules.
make_initramfs() {
	local build=$1 out=$2 root
	root=$(mktemp -d "$TSM_CACHE/initramfs.XXXX")
	# mktemp's 0700 would become the guest's /: unprivileged test accounts must get in.
	chmod 0755 "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,lib,e2e}
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	cp "$TSM_ROOT/tests/e2e/init" "$root/init"
	cp -r "$TSM_ROOT"/tests/e2e/. "$root/e2e/"
	[ -d "$build/modules/lib/modules" ] && cp -a "$build/modules/lib/modules" "$root/lib/"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$out"
	rm -rf "$root"
}
