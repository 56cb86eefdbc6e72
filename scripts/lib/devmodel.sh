# SPDX-License-Identifier: GPL-2.0
# The device model (tools/tsm-devmodel) beside QEMU: build it, start one
# instance per emulated NVMe function (each with its own faults, on a free
# loopback port), hand boot_qemu the matching -device arguments, stop them.
#
#	devmodel_build || die "..."
#	tsm_cli_build || die "..."		# the operator CLI for the guest
#	devmodel_start "$run" "$LOGS" good
#	devmodel_start "$run" "$LOGS" badsig 'corrupt-signature@challenge*1'
#	trap devmodel_stop EXIT
#	make_initramfs "$build" "$initrd" "$run/guest"
#	QEMU_EXTRA_ARGS=("${DEVMODEL_QEMU_ARGS[@]}")
#	boot_qemu ...
#
# Each function is placed behind its own PCIe root port on q35 (boot_qemu's
# machine): root port I (0-based, in start order) sits at 0000:00:(0x10+I).0
# and the NVMe function is device 0 on its secondary bus. The firmware picks
# the bus numbers (qboot numbers the last port first), so the guest finds a
# function through its root port: tests/e2e/lib.sh's devmodel_dev NAME.

# Set by devmodel_build: the static tsm-devmodel binary.
DEVMODEL_BIN=${DEVMODEL_BIN:-}
# Appended to by devmodel_start: QEMU arguments for every started function.
DEVMODEL_QEMU_ARGS=()
# Process ids of the running models (devmodel_stop ends them).
DEVMODEL_PIDS=()
# How many functions devmodel_start has placed (root port and bus numbering).
DEVMODEL_COUNT=0
# Seconds to wait for a model's "listening on" line.
DEVMODEL_START_TIMEOUT=${DEVMODEL_START_TIMEOUT:-20}

# static_tool_build CRATE BINARY: builds workspace crate CRATE as a static
# release binary (for the host and an initramfs) under $TSM_CACHE; all crates
# share one target directory and the same flags, so common crates build once.
# Nothing is written in the source tree. Prints the binary's path.
static_tool_build() {
	local target=$TSM_CACHE/devmodel/target
	step "build $1 (static, release)"
	(cd "$TSM_ROOT" && RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$target" \
		cargo build --quiet --locked --release --target x86_64-unknown-linux-gnu \
		-p "$1") >&2 || return 1
	[ -x "$target/x86_64-unknown-linux-gnu/release/$2" ] || return 1
	echo "$target/x86_64-unknown-linux-gnu/release/$2"
}

# devmodel_build: builds tools/tsm-devmodel and sets DEVMODEL_BIN.
devmodel_build() {
	DEVMODEL_BIN=$(static_tool_build tsm-devmodel tsm-devmodel)
}

# Set by tsm_cli_build: the static tsm CLI binary (tools/tsm).
TSM_CLI_BIN=${TSM_CLI_BIN:-}

# tsm_cli_build: builds the operator CLI tools/tsm for the test initramfs
# (/bin/tsm) and sets TSM_CLI_BIN.
tsm_cli_build() {
	TSM_CLI_BIN=$(static_tool_build tsm tsm)
}

# Set by tsm_bench_build: the static workload and report tool (tools/tsm-bench).
TSM_BENCH_BIN=${TSM_BENCH_BIN:-}

# tsm_bench_build: builds tools/tsm-bench for scripts/bench (/bin/tsm-bench in
# the initramfs, the report on the host) and sets TSM_BENCH_BIN.
tsm_bench_build() {
	TSM_BENCH_BIN=$(static_tool_build tsm-bench tsm-bench)
}

# devmodel_start RUN_DIR LOG_DIR NAME [FAULT|--OPTION...]
# Starts one model for the NVMe function NAME (letters, digits, '-', '_';
# also its NVMe serial number) with the given --fault specs, waits until it
# listens, and appends the function's QEMU arguments to DEVMODEL_QEMU_ARGS.
# Writes:
#   RUN_DIR/guest/NAME.pem   the root certificate a verifier should trust
#   RUN_DIR/guest/devices    a line "NAME ROOT_PORT_BDF TCP_PORT" per function
#                            (make_initramfs puts RUN_DIR/guest at /devmodel)
#   RUN_DIR/NAME.port        the loopback port
#   LOG_DIR/devmodel-NAME.log  the model's stderr (-v: one line per request)
# Call it in the current shell, not in $(...): it records the process and the
# arguments in the DEVMODEL_* variables. Returns 1 if the model does not come up.
devmodel_start() {
	local run=$1 logs=$2 name=$3 f i port pid line rp
	shift 3
	case $name in
	'' | *[!A-Za-z0-9_-]*) echo "devmodel_start: bad name '$name'" >&2; return 1;;
	esac
	[ -n "$DEVMODEL_BIN" ] || { echo "devmodel_start: run devmodel_build first" >&2; return 1; }
	mkdir -p "$run/guest" "$logs"
	i=$DEVMODEL_COUNT
	rp=$(printf '0000:00:%02x.0' $((0x10 + i)))
	local args=(serve --port 0 --verbose --root-out "$run/guest/$name.pem")
	# A FAULT that starts with "--" is another option of serve (e.g. --suite=p256).
	for f in "$@"; do
		case $f in --*) args+=("$f");; *) args+=(--fault "$f");; esac
	done
	: > "$run/$name.out"
	"$DEVMODEL_BIN" "${args[@]}" > "$run/$name.out" 2> "$logs/devmodel-$name.log" < /dev/null &
	pid=$!
	DEVMODEL_PIDS+=("$pid")
	local waited=0
	while :; do
		line=$(grep -m1 '^listening on ' "$run/$name.out")
		[ -n "$line" ] && break
		if ! kill -0 "$pid" 2> /dev/null || [ "$waited" -ge $((DEVMODEL_START_TIMEOUT * 10)) ]; then
			echo "devmodel_start: model '$name' did not start; see $logs/devmodel-$name.log" >&2
			return 1
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	port=${line##*:}
	echo "$port" > "$run/$name.port"
	[ "$i" -eq 0 ] && : > "$run/guest/devices"
	echo "$name $rp $port" >> "$run/guest/devices"
	DEVMODEL_COUNT=$((i + 1))
	# A root port per function (an endpoint below a port, as on hardware),
	# then the NVMe controller without namespaces: no disk image needed.
	DEVMODEL_QEMU_ARGS+=(
		-device "pcie-root-port,id=tsm_rp$i,bus=pcie.0,addr=$(printf '0x%x' $((0x10 + i))).0,chassis=$((0x10 + i)),slot=$((0x10 + i))"
		-device "nvme,bus=tsm_rp$i,serial=$name,spdm_port=$port")
}

# devmodel_stop: ends every model devmodel_start started (safe to call twice,
# from an EXIT trap too).
devmodel_stop() {
	local pid
	for pid in "${DEVMODEL_PIDS[@]}"; do
		# The status of a killed model is not a failure (callers may run set -e).
		kill "$pid" 2> /dev/null && { wait "$pid" 2> /dev/null || true; }
	done
	DEVMODEL_PIDS=()
	DEVMODEL_QEMU_ARGS=()
	DEVMODEL_COUNT=0
	return 0
}

# devmodel_start_list RUN_DIR LOG_DIR LIST: devmodel_start for every line
# "NAME [FAULT...]" of the file LIST ('#' starts a comment).
devmodel_start_list() {
	local run=$1 logs=$2 list=$3 line
	while read -r line; do
		line=${line%%#*}
		[ -n "${line// /}" ] || continue
		# shellcheck disable=SC2086 # NAME and FAULTs are words; no fault has a space.
		devmodel_start "$run" "$logs" $line || return 1
	done < "$list"
}
