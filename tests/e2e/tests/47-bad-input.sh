# SPDX-License-Identifier: GPL-2.0
# Bad input: every writable file of the tsm/ ABI (tsm/connect and
# tsm/disconnect of a DSM; tsmN has none) gets each class of malformed,
# misplaced or badly timed input of the table below, in one write(), and
# must answer with the documented errno and leave the state as it was:
# connect, bound, dsm, authenticated and the host bridge's
# available_secure_streams. A row that is accepted (OK) checks the state it
# must lead to and restores the one before.
#
# Each row prints one "BAD|attr|state|class|input|errno|state-check" line; the
# README's "Bad input" table is made from these lines of both cores
# (scripts/lib/bad_input_table.py). Rows whose result differs between the
# cores run in a case per core, listed in tests/e2e/deviations.

LINK=tsm_emu_link
CMA=pci_cma
PF0=/sys/bus/pci/devices/10000:01:00.0
FN1=/sys/bus/pci/devices/10000:01:00.1
BUSCTL=/sys/devices/faux/tsm_emu_bus
CTL=/sys/devices/faux/tsm_emu_link
IN=/tmp/bad-input

teardown_case() {
	modprobe -r $CMA
	modprobe -r $LINK
	platform_down
}

# The table: attribute|state before|class|input|errno on tsm-rs|errno on C.
# Every row costs a few processes only (one dd, sysfs read with builtins):
# under TCG with KASAN each process takes tens of milliseconds.
# The input is a printf format, or @empty (open and close, no write),
# @over (5000 bytes, more than a page: sysfs passes the first 4096),
# @page (4095 bytes), @other (the name of another registered link TSM,
# pci_cma's). States: idle (not connected), connected (to tsm0).
ROWS='
connect|idle|empty write|@empty|OK|OK
connect|idle|newline only|\n|EINVAL|EINVAL
connect|idle|whitespace only|   |EINVAL|EINVAL
connect|idle|tab and newline|\t\n|EINVAL|EINVAL
connect|idle|trailing newline|tsm0\n|OK|OK
connect|idle|leading zeros|tsm00|OK|OK
connect|idle|leading space| tsm0|EINVAL|EINVAL
connect|idle|overlong (> PAGE_SIZE)|@over|EINVAL|EINVAL
connect|idle|just below PAGE_SIZE|@page|EINVAL|EINVAL
connect|idle|NUL first|\000tsm0|EINVAL|EINVAL
connect|idle|non-UTF-8|\377\376|EINVAL|EINVAL
connect|idle|prefix|xtsm0|EINVAL|EINVAL
connect|idle|wrong case|TSM0|EINVAL|EINVAL
connect|idle|name without number|tsm|EINVAL|EINVAL
connect|idle|number only|0|EINVAL|EINVAL
connect|idle|unknown TSM|tsm99|ENXIO|ENXIO
connect|idle|plus sign|tsm+0|EINVAL|EINVAL
connect|idle|trailing space|tsm0 |EINVAL|OK
connect|idle|CR LF|tsm0\r\n|EINVAL|OK
connect|idle|two newlines|tsm0\n\n|EINVAL|OK
connect|idle|NUL inside|tsm0\000x|EINVAL|OK
connect|idle|non-UTF-8 suffix|tsm0\377|EINVAL|OK
connect|idle|suffix|tsm0x|EINVAL|OK
connect|idle|space inside|tsm 0|EINVAL|OK
connect|idle|negative number|tsm-1|EINVAL|ENXIO
connect|idle|int overflow|tsm2147483648|EINVAL|ENXIO
connect|connected|connect twice|tsm0|EBUSY|EBUSY
connect|connected|another TSM while connected|@other|EBUSY|EBUSY
connect|connected|garbage while connected|x|EINVAL|EINVAL
connect|connected|overlong while connected|@over|EINVAL|EINVAL
disconnect|connected|empty write|@empty|OK|OK
disconnect|connected|newline only|\n|EINVAL|EINVAL
disconnect|connected|whitespace only|   |EINVAL|EINVAL
disconnect|connected|tab and newline|\t\n|EINVAL|EINVAL
disconnect|connected|trailing newline|tsm0\n|OK|OK
disconnect|connected|leading space| tsm0|EINVAL|EINVAL
disconnect|connected|trailing space|tsm0 |EINVAL|EINVAL
disconnect|connected|CR LF|tsm0\r\n|EINVAL|EINVAL
disconnect|connected|two newlines|tsm0\n\n|EINVAL|EINVAL
disconnect|connected|overlong (> PAGE_SIZE)|@over|EINVAL|EINVAL
disconnect|connected|just below PAGE_SIZE|@page|EINVAL|EINVAL
disconnect|connected|NUL first|\000tsm0|EINVAL|EINVAL
disconnect|connected|non-UTF-8|\377\376|EINVAL|EINVAL
disconnect|connected|non-UTF-8 suffix|tsm0\377|EINVAL|EINVAL
disconnect|connected|suffix|tsm0x|EINVAL|EINVAL
disconnect|connected|prefix|xtsm0|EINVAL|EINVAL
disconnect|connected|wrong case|TSM0|EINVAL|EINVAL
disconnect|connected|name without number|tsm|EINVAL|EINVAL
disconnect|connected|number only|0|EINVAL|EINVAL
disconnect|connected|negative number|tsm-1|EINVAL|EINVAL
disconnect|connected|leading zeros|tsm00|EINVAL|EINVAL
disconnect|connected|unknown TSM|tsm99|EINVAL|EINVAL
disconnect|connected|name of another TSM|@other|EINVAL|EINVAL
disconnect|connected|NUL inside|tsm0\000x|EINVAL|OK
disconnect|idle|not connected|tsm0|ENXIO|ENXIO
disconnect|idle|garbage, not connected|x|ENXIO|ENXIO
disconnect|idle|overlong, not connected|@over|ENXIO|ENXIO
connect_mode|idle|empty write|@empty|OK|-
connect_mode|idle|newline only|\n|EINVAL|-
connect_mode|idle|whitespace only|   |EINVAL|-
connect_mode|idle|trailing newline|link\n|OK|-
connect_mode|idle|the current mode|selective|OK|-
connect_mode|idle|leading space| link|EINVAL|-
connect_mode|idle|trailing space|link |EINVAL|-
connect_mode|idle|CR LF|link\r\n|EINVAL|-
connect_mode|idle|two newlines|link\n\n|EINVAL|-
connect_mode|idle|overlong (> PAGE_SIZE)|@over|EINVAL|-
connect_mode|idle|just below PAGE_SIZE|@page|EINVAL|-
connect_mode|idle|NUL first|\000link|EINVAL|-
connect_mode|idle|NUL inside|link\000x|EINVAL|-
connect_mode|idle|non-UTF-8|\377\376|EINVAL|-
connect_mode|idle|wrong case|LINK|EINVAL|-
connect_mode|idle|suffix|links|EINVAL|-
connect_mode|idle|prefix|xlink|EINVAL|-
connect_mode|idle|a TSM name|tsm0|EINVAL|-
connect_mode|idle|number|1|EINVAL|-
connect_mode|idle|both modes|link selective|EINVAL|-
connect_mode|connected|change while connected|link|EBUSY|-
connect_mode|connected|the current mode while connected|selective|EBUSY|-
connect_mode|connected|garbage while connected|x|EINVAL|-
'

# state: what a refused write must not change (lib.sh's platform_state).
state() {
	local c b d a s
	read_attr c $PF0/tsm/connect
	read_attr b $PF0/tsm/bound
	read_attr d $FN1/tsm/dsm
	read_attr a $PF0/authenticated
	read_attr s $BUSCTL/pci10000:00/available_secure_streams
	STATE="$c|$b|$d|$a|$s"
}

state() {
	platform_state
	echo "$STATE"
}

# The states a row starts from.
IDLE='||||4'
CONNECTED='tsm0||10000:01:00.0|tsm0|3'

# put_input SPEC: sets SRC to a file holding the bytes SPEC stands for (the
# long inputs are made once per case).
put_input() {
	SRC=$IN
	case $1 in
	@empty) : > $IN;;
	@over|@page)
		SRC=$IN$1
		[ -f "$SRC" ] || head -c "$([ $1 = @over ] && echo 5000 || echo 4095)" /dev/zero |
			tr '\0' a > "$SRC";;
	@other) printf %s "$(tsm_of $CMA)" > $IN;;
	*) printf "$1" > $IN;;
	esac
}

# write_input FILE: $SRC in one write() to FILE (dd reads the whole file in
# one block of up to 8 KiB and writes what it read); sets GOT to OK or the
# errno name. An empty $SRC opens and closes FILE only.
write_input() {
	local err= line
	if [ -s "$SRC" ]; then
		dd if="$SRC" of="$1" bs=8192 count=1 2> $IN.err
	else
		{ true > "$1"; } 2> $IN.err
	fi
	if [ $? = 0 ]; then
		GOT=OK
		return
	fi
	while read -r line; do err="$err$line "; done < $IN.err
	errno_set "$err"
	GOT=$ERRNO
}

# report ATTR STATE CLASS INPUT GOT CHECK: one line of the table.
report() { echo "BAD|$1|$2|$3|$4|$5|$6"; }

# enter STATE: brings function 0 to STATE (idle or connected).
enter() {
	local c
	read_attr c $PF0/tsm/connect
	case $1 in
	idle) [ -z "$c" ] || write_attr $PF0/tsm/disconnect tsm0 > /dev/null;;
	connected) [ -n "$c" ] || write_attr $PF0/tsm/connect tsm0 > /dev/null;;
	esac
	platform_state
	state_of "$1"
	expect_eq "$STATE" "$WANT" "state $1"
}

# state_of STATE: sets WANT to the state string of STATE (idle or connected).
state_of() { if [ "$1" = idle ]; then WANT=$IDLE; else WANT=$CONNECTED; fi; }

# accepted_state ATTR STATE INPUT: sets WANT to the state an accepted write
# leads to: connect connects, disconnect disconnects; an empty write changes
# nothing.
accepted_state() {
	case $1/$3 in
	*/@empty|connect_mode/*) state_of "$2";;
	connect/*) WANT=$CONNECTED;;
	disconnect/*) WANT=$IDLE;;
	esac
}

# run_row ATTR STATE CLASS INPUT EXPECTED: one write and its checks.
run_row() {
	local got after want mode check=unchanged
	enter "$2" || return 1
	put_input "$4"
	write_input $PF0/tsm/$1
	got=$GOT
	platform_state
	after=$STATE
	if [ "$1" = connect_mode ]; then
		# The mode is the state this file changes: selective before every row.
		read_attr mode $PF0/tsm/connect_mode
		case $got/$4 in
		OK/link*) expect_eq "$mode" "[link] selective" "mode after $3" || return 1
			check="link mode"
			write_attr $PF0/tsm/connect_mode selective > /dev/null;;
		*) expect_eq "$mode" "link [selective]" "mode after $3" || return 1;;
		esac
	fi
	state_of "$2"
	want=$WANT
	if [ "$got" = OK ]; then
		accepted_state "$1" "$2" "$4"
		[ "$WANT" = "$want" ] || check=$(label "$WANT")
		want=$WANT
	fi
	[ "$after" = "$want" ] || check="CHANGED($after)"
	report "$1" "$2" "$3" "$4" "$got" "$check"
	[ "$got" = "$5" ] || fail "$1 ($2) $3 '$4': got $got, expected $5" || return 1
	expect_eq "$after" "$want" "state after $1 ($2) $3"
}

# run_rows ATTR SAME: the rows of ATTR whose errno is the same on both cores
# (SAME=same) or differs (SAME=differs, checked against this core's column).
run_rows() {
	local attr st class input rs c want failed=0 this
	this=$(core)
	# The other registered TSM of the @other rows.
	[ -e /sys/devices/faux/$CMA ] || load $CMA || return 1
	while IFS='|' read -r attr st class input rs c; do
		[ "$attr" = "$1" ] || continue
		if [ "$rs" = "$c" ]; then
			[ "$2" = same ] || continue
		else
			[ "$2" = differs ] || continue
		fi
		if [ "$this" = rs ]; then want=$rs; else want=$c; fi
		run_row "$attr" "$st" "$class" "$input" "$want" || failed=1
	done <<-EOF
	$ROWS
	EOF
	return $failed
}

# The table covers every writable file of the ABI: tsm/ of a DSM has connect
# and disconnect (and connect_mode with tsm-rs), tsmN only the driver core's
# uevent, a managed function's tsm/ nothing.
case_writable_files_are_covered() {
	local files
	platform_up && load $LINK || return 1
	expect_write $PF0/tsm/connect tsm0 OK || return 1
	# tsm-rs adds connect_mode (Documentation/ABI/testing/sysfs-bus-pci-tsm-connect-mode).
	files="./connect ./disconnect "
	[ "$(core)" = rs ] && files="./connect ./connect_mode ./disconnect "
	expect_eq "$(cd $PF0/tsm && find . -type f -perm /222 | sort | tr '\n' ' ')" \
		"$files" "writable files of tsm/ of function 0" || return 1
	expect_eq "$(cd $FN1/tsm && find . -type f -perm /222 | tr '\n' ' ')" "" \
		"writable files of tsm/ of function 1" || return 1
	expect_eq "$(cd /sys/class/tsm/tsm0/ && find . -maxdepth 1 -type f -perm /222 | tr '\n' ' ')" \
		"./uevent " "writable files of tsm0"
}

case_connect_bad_input() {
	platform_up && load $LINK || return 1
	run_rows connect same
}

case_disconnect_bad_input() {
	platform_up && load $LINK || return 1
	run_rows disconnect same
}

case_connect_parsed_strictly() {
	only_on_core rs "upstream's core parses connect with sscanf(\"tsm%d\\n\")" || return 0
	platform_up && load $LINK || return 1
	run_rows connect differs
}

case_connect_parsed_by_sscanf_upstream() {
	only_on_core c "tsm-rs accepts only tsmN with one optional newline" || return 0
	platform_up && load $LINK || return 1
	run_rows connect differs
}

# tsm/connect_mode (a tsm-rs addition: the emulated TSM declares Link IDE).
case_connect_mode_bad_input() {
	only_on_core rs "tsm/connect_mode is a tsm-rs addition" || return 0
	platform_up && load $LINK || return 1
	run_rows connect_mode differs
}

case_disconnect_compares_all_bytes() {
	only_on_core rs "upstream's sysfs_streq() stops at a NUL byte" || return 0
	platform_up && load $LINK || return 1
	run_rows disconnect differs
}

case_disconnect_stops_at_nul_upstream() {
	only_on_core c "tsm-rs compares every byte written" || return 0
	platform_up && load $LINK || return 1
	run_rows disconnect differs
}

# slow_connect: a connect of function 0 in the background, slow because the
# device model sleeps 150 ms before each answer (platform_up -- slow=150; a
# connect takes some 20 answers, so it stays in flight for seconds after the
# second write, which comes 1 s after the first); finish_slow_connect waits
# for it, first_result prints its result. With doe_fault
# timeout instead (failing_connect), the connect waits for the DOE mailbox's
# 1 s timeout and fails with EIO.
slow_connect() {
	write_attr $PF0/tsm/connect tsm0 > /tmp/first &
	echo $! > /tmp/first.pid
	sleep "${1:-1}"
}

# The DOE timeout is 1 s: the second write comes well before it.
failing_connect() {
	expect_write $BUSCTL/doe_fault timeout OK || return 1
	slow_connect 0.3
}

finish_slow_connect() {
	wait "$(cat /tmp/first.pid)"
	echo none > $BUSCTL/doe_fault
}

# The slow connect's result, once finish_slow_connect has waited for it (in
# this shell: a command substitution cannot wait for it).
first_result() { cat /tmp/first; }

# label STATE: the state-check column for STATE, which a row expects.
label() {
	case $1 in
	"$IDLE") echo disconnected;;
	"$CONNECTED") echo connected;;
	*) echo "CHANGED($1)";;
	esac
}

case_connect_while_connect_in_flight() {
	local got
	platform_up -- slow=150 && load $LINK || return 1
	slow_connect || return 1
	got=$(write_attr $PF0/tsm/connect tsm0)
	finish_slow_connect
	expect_eq "$(first_result)" OK "the slow connect" || return 1
	report connect "in flight" "connect while a connect is in flight" tsm0 "$got" \
		"$(label "$(state)")"
	expect_eq "$got" EBUSY "the connect written while it runs" || return 1
	expect_eq "$(state)" "$CONNECTED" "state after both"
}

# failing_in_flight EXPECTED: a connect written while a connect that will fail
# is in flight; EXPECTED is both results, sorted and joined with "+" (which
# write came first does not matter).
failing_in_flight() {
	local got
	platform_up && load $LINK || return 1
	failing_connect || return 1
	got=$(write_attr $PF0/tsm/connect tsm0)
	finish_slow_connect
	got=$(printf '%s\n%s\n' "$got" "$(first_result)" | sort | tr '\n' '+' | sed 's/+$//')
	report connect "in flight" "two connects at once, the first failing (DOE timeout)" tsm0 \
		"$got" "$(label "$(state)")"
	expect_eq "$got" "$1" "the two connects" || return 1
	expect_eq "$(state)" "$IDLE" "state after both"
}

# tsm-rs publishes the context before the TSM's connect runs: a second
# connect sees the device busy at once, whatever the first's outcome.
case_connect_during_failing_connect_is_busy() {
	only_on_core rs "upstream's connect holds pci_tsm_rwsem for write: the second waits" || return 0
	failing_in_flight EBUSY+EIO
}

# The C core serializes connects on pci_tsm_rwsem: the second waits for the
# first to fail, then tries itself (and fails the same way).
case_connect_during_failing_connect_waits_upstream() {
	only_on_core c "tsm-rs refuses the second connect with EBUSY at once" || return 0
	failing_in_flight EIO+EIO
}

# A disconnect waits for the connect in flight, then disconnects.
case_disconnect_while_connect_in_flight() {
	local got
	platform_up -- slow=150 && load $LINK || return 1
	slow_connect || return 1
	got=$(write_attr $PF0/tsm/disconnect tsm0)
	finish_slow_connect
	expect_eq "$(first_result)" OK "the slow connect" || return 1
	report disconnect "in flight" "disconnect while a connect is in flight" tsm0 "$got" \
		"$(label "$(state)")"
	expect_eq "$got" OK "disconnect during the connect" || return 1
	expect_eq "$(state)" "$IDLE" "state after both"
}

case_connect_while_tsm_busy() {
	local got check=unchanged
	platform_up && load $LINK || return 1
	expect_write $CTL/busy 1 OK || return 1
	got=$(write_attr $PF0/tsm/connect tsm0)
	[ "$(state)" = "$IDLE" ] || check="CHANGED($(state))"
	report connect idle "TSM busy (tsm_emu_link busy=1)" tsm0 "$got" "$check"
	expect_eq "$got" EBUSY "connect while the TSM is busy" || return 1
	expect_eq "$(state)" "$IDLE" "state" || return 1
	expect_write $CTL/busy 0 OK || return 1
	expect_write $PF0/tsm/connect tsm0 OK
}

case_two_disconnects_at_once() {
	local got p1
	platform_up && load $LINK || return 1
	expect_write $PF0/tsm/connect tsm0 OK || return 1
	write_attr $PF0/tsm/disconnect tsm0 > /tmp/d1 &
	p1=$!
	write_attr $PF0/tsm/disconnect tsm0 > /tmp/d2 &
	# Not a bare wait: the device model runs in the background too.
	wait $! $p1
	got=$(sort /tmp/d1 /tmp/d2 | tr '\n' '+' | sed 's/+$//')
	report disconnect connected "two disconnects at once" tsm0 "$got" "$(label "$(state)")"
	expect_eq "$got" "ENXIO+OK" "the two disconnects" || return 1
	expect_eq "$(state)" "$IDLE" "state"
}

# written_after_removal ATTR STATE: a write through a file opened before
# function 0 was removed; after a rescan the function is back, not connected.
written_after_removal() {
	local got check=unchanged
	platform_up && load $LINK || return 1
	enter "$2" || return 1
	got=$(
		exec 3> $PF0/tsm/$1 || exit 1
		echo 1 > $PF0/remove
		if err=$( (echo -n tsm0 >&3) 2>&1 ); then echo OK; else errno_of "$err"; fi
	)
	expect_absent $PF0 || return 1
	expect_write /sys/bus/pci/rescan 1 OK || return 1
	report "$1" "$2" "written after the device was removed" tsm0 "$got" \
		"$(label "$(state)") after rescan"
	expect_eq "$got" ENODEV "write after removal" || return 1
	expect_eq "$(state)" "$IDLE" "state after rescan" || return 1
	expect_write $PF0/tsm/connect tsm0 OK
}

case_connect_after_removal() { written_after_removal connect idle; }
case_disconnect_after_removal() { written_after_removal disconnect connected; }

# A device removed while its connect is in flight: the removal waits for the
# connect to end and then tears it down; nothing is left after a rescan.
case_removal_during_connect() {
	local got
	platform_up -- slow=150 && load $LINK || return 1
	slow_connect || return 1
	expect_write $PF0/remove 1 OK || return 1
	finish_slow_connect
	got=$(first_result)
	expect_absent $PF0 || return 1
	expect_write /sys/bus/pci/rescan 1 OK || return 1
	report connect "in flight" "device removed while the connect is in flight" tsm0 "$got" \
		"$(label "$(state)") after rescan"
	expect_eq "$got" OK "the connect" || return 1
	expect_eq "$(state)" "$IDLE" "state after rescan" || return 1
	expect_write $PF0/tsm/connect tsm0 OK
}
