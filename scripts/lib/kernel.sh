# SPDX-License-Identifier: GPL-2.0
# Configure and build a test kernel from the prepared work tree.
#
# Variants: "rs" (our Rust PCI/TSM core) and "c" (upstream's C core, the
# conformance oracle).  Each has its own build directory under the cache.

build_dir() { printf '%s/%s\n' "${TSM_BUILD_ROOT:-$TSM_CACHE/build}" "$1"; }

# The architecture of a build directory: riscv (the compile-only variant) or x86_64.
build_arch() {
	case $(basename "$1") in riscv*) echo riscv;; *) echo x86_64;; esac
}

# Fragments in order; a later line for the same symbol wins. Variants: rs, c
# (upstream's C cores), rs-kcsan, c-kcsan (KCSAN instead of KASAN), and riscv
# (riscv64, compile-only: its own fragment alone).
config_fragments() {
	local variant=$1
	if [ "$variant" = riscv ]; then
		printf '%s\n' "$TSM_ROOT/tests/riscv/riscv.config"
		return 0
	fi
	ls "$TSM_ROOT"/tests/kunit/*.kunitconfig
	printf '%s\n' "$TSM_ROOT/tests/e2e/kernel.config"
	case $variant in c|c-*) printf '%s\n' "$TSM_ROOT/tests/e2e/core-c.config";; esac
	case $variant in *-kcsan) printf '%s\n' "$TSM_ROOT/tests/e2e/kcsan.config";; esac
	return 0
}

# Print "SYMBOL<TAB>line" for each setting, last one per symbol.
merged_settings() {
	local f
	for f in $(config_fragments "$1"); do
		sed -nE 's/^(CONFIG_[A-Za-z0-9_]+)=.*/\1\t&/p; s/^# (CONFIG_[A-Za-z0-9_]+) is not set/\1\t&/p' "$f"
	done | awk -F'\t' '{ last[$1] = $2; order[$1] = NR } END { for (k in last) print order[k] "\t" k "\t" last[k] }' |
		sort -n | cut -f2-
}

kmake() {
	local build=$1; shift
	local vars
	mapfile -t vars < <(kernel_make_vars)
	make -s -C "$(work_tree)" O="$build" ARCH="$(build_arch "$build")" "${vars[@]}" "$@"
}

# kmake_progress LABEL LOG BUILD MAKE-ARGS...: make with its full output
# (every command's quiet line) in LOG, and one line a minute on stderr while it
# runs, "LABEL: N objects built, Mm".
kmake_progress() {
	local label=$1 log=$2 build=$3 vars pid start=$SECONDS next=60 n
	shift 3
	mapfile -t vars < <(kernel_make_vars)
	make -C "$(work_tree)" O="$build" ARCH="$(build_arch "$build")" "${vars[@]}" "$@" > "$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		if [ $((SECONDS - start)) -ge "$next" ]; then
			n=$(grep -cE '^  (CC|AS|RUSTC|RUSTDOC|CLIPPY|HOSTCC) ' "$log" || true)
			printf '%s: %s objects built, %sm\n' "$label" "$n" $((next / 60)) >&2
			next=$((next + 60))
		fi
	done
	wait "$pid"
}

configure_kernel() {
	local variant=$1 build missing
	build=$(build_dir "$variant")
	mkdir -p "$build"
	merged_settings "$variant" | cut -f2 > "$build/tsm-rs.fragment"
	# Start from the fragment alone every time so a removed line does not linger.
	cp "$build/tsm-rs.fragment" "$build/.config"
	kmake "$build" olddefconfig || die "kernel: olddefconfig failed for variant $variant"
	missing=$(merged_settings "$variant" | while IFS=$'\t' read -r sym line; do
		case $line in
		'#'*) if grep -qE "^$sym=[ym]" "$build/.config"; then echo "$sym (wanted off)"; fi;;
		*) if ! grep -qxF "$line" "$build/.config"; then echo "$line"; fi;;
		esac
	done)
	[ -z "$missing" ] || die "kernel: Kconfig dropped requested options for variant $variant (missing dependency or toolchain?):
$missing"
}

# Builds bzImage and modules, installs modules into $build/modules.
build_kernel() {
	local variant=$1 build log
	build=$(build_dir "$variant")
	log="$build/build.log"
	configure_kernel "$variant"
	step "kernel: building variant $variant in $build (log: $log)"
	if ! kmake_progress "kernel $variant" "$log" "$build" -j"$(nproc)" bzImage modules; then
		grep -E 'error|Error' "$log" | head -40 >&2
		die "kernel: build failed for variant $variant; full log: $log"
	fi
	rm -rf "$build/modules"
	kmake "$build" INSTALL_MOD_PATH="$build/modules" INSTALL_MOD_STRIP=1 modules_install > /dev/null ||
		die "kernel: modules_install failed"
}

# The compile-only riscv64 kernel: configuration, then only what the CoVE-IO
# backend's hardware transport needs (the Rust crates, the PCI/TSM core, the
# TSM drivers); no image, no modpost. Prints the backend's object.
build_riscv() {
	local build log
	build=$(build_dir riscv)
	log="$build/build.log"
	configure_kernel riscv
	step "kernel: building riscv64 (compile-only) in $build (log: $log)"
	if ! kmake_progress "kernel riscv" "$log" "$build" -j"$(nproc)" \
		prepare rust/ drivers/pci/tsm/ drivers/virt/coco/tsm/; then
		grep -E 'error|Error' "$log" | head -40 >&2
		die "kernel: riscv64 build failed; full log: $log"
	fi
	printf '%s\n' "$build/drivers/virt/coco/tsm/cove_io/tsm_cove_io.o"
}
