# SPDX-License-Identifier: GPL-2.0
# Baseline on a machine with no TSM backend loaded: the TSM class exists and
# is empty, and no PCI device shows TSM attributes.

case_tsm_class_registered_and_empty() {
	expect_exists /sys/class/tsm || return 1
	expect_eq "$(ls /sys/class/tsm | wc -l)" 0 "TSM devices without a backend"
}

case_no_pci_tsm_attributes_without_tsm() {
	local d n=0
	for d in /sys/bus/pci/devices/*; do
		n=$((n + 1))
		expect_absent "$d/tsm" || return 1
		expect_absent "$d/authenticated" || return 1
	done
	[ $n -gt 0 ] || fail "no PCI devices to look at"
}
