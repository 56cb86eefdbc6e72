# SPDX-License-Identifier: GPL-2.0
# The TSM class device: /sys/class/tsm/tsmN appears with a TSM backend module,
# links to its provider, announces readiness, and goes away on unload.

BACKEND=tsm_emu_link
PROVIDER=/sys/devices/faux/tsm_emu_link

teardown_case() { modprobe -r $BACKEND; stop_uevents; }

case_backend_load_creates_tsm0() {
	load $BACKEND || return 1
	expect_exists /sys/class/tsm/tsm0 || return 1
	expect_eq "$(readlink -f /sys/class/tsm/tsm0/device)" "$PROVIDER" "device link" || return 1
	expect_exists "$PROVIDER/tsm/tsm0"
}

case_host_link_points_at_provider() {
	only_on_core rs "the host link is a tsm-rs addition" || return 0
	load $BACKEND || return 1
	expect_eq "$(readlink -f /sys/class/tsm/tsm0/host)" "$PROVIDER" "host link"
}

case_unload_removes_tsm0() {
	load $BACKEND || return 1
	unload $BACKEND || return 1
	expect_absent /sys/class/tsm/tsm0 || return 1
	expect_absent "$PROVIDER"
}

case_reload_reuses_tsm0() {
	load $BACKEND && unload $BACKEND && load $BACKEND || return 1
	expect_exists /sys/class/tsm/tsm0 || return 1
	expect_absent /sys/class/tsm/tsm1
}

case_readiness_and_removal_uevents() {
	start_uevents || return 1
	load $BACKEND || return 1
	unload $BACKEND || return 1
	wait_uevent "remove /devices/faux/tsm_emu_link/tsm/tsm0" || return 1
	expect_uevent "add /devices/faux/tsm_emu_link/tsm/tsm0" || return 1
	expect_uevent "change /devices/faux/tsm_emu_link/tsm/tsm0"
}
