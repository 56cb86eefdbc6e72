# SPDX-License-Identifier: GPL-2.0
# The lint steps of scripts/test: rustfmt, checkpatch, clippy, stack frames and
# rustdoc.
# Each prints what it found and succeeds only when there is nothing.
#
# clippy and rustdoc need a configured kernel build: they share
# $TSM_CACHE/build/lint/rs, configured as the rs variant and built with
# CLIPPY=1 (only the Rust code: 'prepare' builds rust/, then tsm-rs' own
# directories), so that the test kernel's objects are not rebuilt.

# checkpatch.pl messages ignored, with the reason:
#   FILE_PATH_CHANGES  "does MAINTAINERS need updating?": tsm-rs has no
#                      MAINTAINERS entry until it is submitted
#   EXPORT_SYMBOL      "should immediately follow its function": the
#                      exported functions are defined in Rust, the C glue
#                      files only export them
CHECKPATCH_IGNORE=FILE_PATH_CHANGES,EXPORT_SYMBOL
# scripts/patches/* are plain diffs, not mails: no message, no sign-off.
CHECKPATCH_IGNORE_PLAIN=$CHECKPATCH_IGNORE,MISSING_SIGN_OFF,COMMIT_MESSAGE,NO_AUTHOR_SIGN_OFF
LINT_TIMEOUT=${LINT_TIMEOUT:-3600}

RUSTFMT_BIN=/usr/bin/rustfmt
CLIPPY_DRIVER_BIN=/usr/bin/clippy-driver

lint_build_dir() { printf '%s\n' "$TSM_CACHE/build/lint/rs"; }

# Kernel directories of tsm-rs' own crates, as make targets: those with a
# Makefile and Rust sources in the repository.
lint_rust_dirs() {
	(cd "$TSM_ROOT" && git ls-files 'drivers/*Makefile' 'fs/*Makefile') | while read -r mk; do
		d=$(dirname "$mk")
		if ls "$TSM_ROOT/$d"/*.rs > /dev/null 2>&1; then printf '%s/\n' "$d"; fi
	done
}

# lint_rustfmt STAGE: rustfmt --check with the kernel's .rustfmt.toml on every
# Rust file the work tree adds or changes (STAGE/files from series_files).
# Each file goes through stdin, so rustfmt does not descend into its modules
# (a patched rust/kernel/lib.rs would drag in the whole kernel crate).
lint_rustfmt() {
	local stage=$1 src path file out rc=0 n=0
	src=$(pristine_src)
	[ -x "$RUSTFMT_BIN" ] || { echo "no $RUSTFMT_BIN (Debian's rustfmt-web; run scripts/setup)"; return 1; }
	while IFS=$'\t' read -r path file; do
		case $path in *.rs) ;; *) continue;; esac
		[ -n "$file" ] || continue
		n=$((n + 1))
		# With input from stdin, --check prints the diff but exits with 0.
		out=$(timeout 60 "$RUSTFMT_BIN" --edition 2021 --config-path "$src/.rustfmt.toml" \
			--color never --check < "$file" 2>&1) || out=${out:-"rustfmt failed on $path"}
		if [ -n "$out" ]; then
			printf 'rustfmt: %s is not formatted:\n%s\n' "$path" \
				"$(printf '%s\n' "$out" | sed 's/^Diff in <stdin>/Diff in '"${path//\//\\/}"'/' | head -40)"
			rc=1
		fi
	done < "$stage/files"
	echo "rustfmt: $n files checked"
	return $rc
}

# lint_checkpatch SERIES-DIR: checkpatch.pl of the pristine tree on
# scripts/patches/* and on the exported series.
lint_checkpatch() {
	local dir=$1 src out rc=0 p
	src=$(pristine_src)
	for p in "$TSM_ROOT"/scripts/patches/*.patch; do
		out=$(cd "$src" && timeout 300 perl scripts/checkpatch.pl --no-tree --terse --no-summary \
			--showfile --ignore "$CHECKPATCH_IGNORE_PLAIN" "$p" 2>&1) || rc=1
		if [ -n "$out" ]; then printf '%s\n' "$out" | sed "s#^#scripts/patches/$(basename "$p"): #"; rc=1; fi
	done
	for p in "$dir"/[0-9]*.patch; do
		case $p in */0000-cover-letter.patch) continue;; esac
		out=$(cd "$src" && timeout 300 perl scripts/checkpatch.pl --no-tree --terse --no-summary \
			--showfile --ignore "$CHECKPATCH_IGNORE" "$p" 2>&1) || rc=1
		if [ -n "$out" ]; then printf '%s\n' "$out" | sed "s#^#series/$(basename "$p" | cut -c1-4): #"; rc=1; fi
	done
	return $rc
}

# CLIPPY=1 for every Rust object; KRUSTFLAGS=-Wwarnings (after the kernel's
# -Dwarnings) keeps a finding in the kernel crate from hiding those in the
# crates built on it: every warning is reported, and any warning fails.
lint_make_vars() {
	printf '%s\n' CLIPPY=1 "CLIPPY_DRIVER=$CLIPPY_DRIVER_BIN" KRUSTFLAGS=-Wwarnings
}

# lint_clippy: configures the lint build directory and builds the Rust code
# with clippy.  Output in
# $(lint_build_dir)/clippy.log.
lint_clippy() {
	local build log
	build=$(lint_build_dir)
	log=$build/clippy.log
	[ -x "$CLIPPY_DRIVER_BIN" ] || { echo "no $CLIPPY_DRIVER_BIN (Debian's rust-web-clippy; run scripts/setup)"; return 1; }
	mkdir -p "$build"
	(TSM_BUILD_ROOT=$TSM_CACHE/build/lint configure_kernel rs) > "$build.configure.log" 2>&1 || {
		cat "$build.configure.log"; return 1; }
	# clippy reports an object's findings only when it compiles it.  After a
	# run with findings (or an interrupted one), compile tsm-rs' objects again
	# so that they are reported again; after a clean run, make's rebuilds are
	# exactly the objects that may have new findings.
	if [ -f "$build/.tsm-rs-clippy-dirty" ]; then
		rm -f "$build/rust/kernel.o"
		for d in $(lint_rust_dirs); do
			if [ -d "$build/$d" ]; then find "$build/$d" -name '*.o' -delete; fi
		done
	fi
	touch "$build/.tsm-rs-clippy-dirty"
	# shellcheck disable=SC2046
	if ! kmake_progress "clippy" "$log" "$build" -j"$(nproc)" $(lint_make_vars) \
		-k prepare $(lint_rust_dirs); then
		grep -E -A12 '^(warning|error)(\[|:)' "$log" | head -150
		echo "clippy: failed; full log: $log"
		return 1
	fi
	if grep -qE '^warning' "$log"; then
		grep -E -A12 '^warning' "$log" | head -150
		echo "clippy: warnings; full log: $log"
		return 1
	fi
	rm -f "$build/.tsm-rs-clippy-dirty"
	echo "clippy: clean; log: $log"
}

# Largest stack frame a function of tsm-rs may have. A kernel stack is 16 KiB
# on x86-64 (32 KiB with KASAN, so the test kernels would not notice a deep
# path): a connect once overflowed it with an 11 KiB frame.
FRAME_LIMIT=4096

# lint_frames: no function in tsm-rs' objects of the lint build (as the clippy
# step compiled them: the Rust crates under rust/ and tsm-rs' own directories)
# has a stack frame above FRAME_LIMIT bytes (scripts/lib/stack_frames.py).
lint_frames() {
	local build d o objects=()
	build=$(lint_build_dir)
	for d in rust/tsm_proto.o rust/tsm_spdm.o; do
		[ -f "$build/$d" ] && objects+=("$build/$d")
	done
	for d in $(lint_rust_dirs); do
		for o in "$build/$d"*.o; do [ -f "$o" ] && objects+=("$o"); done
	done
	[ ${#objects[@]} -gt 0 ] || { echo "frames: no objects in $build (clippy step failed?)"; return 1; }
	python3 "$TSM_ROOT/scripts/lib/stack_frames.py" "$FRAME_LIMIT" "${objects[@]}"
}

# lint_rustdoc: 'make rustdoc' in the lint build directory (the kernel crate
# and its additions; driver crates have no rustdoc target); any warning fails.
lint_rustdoc() {
	local build log
	build=$(lint_build_dir)
	log=$build/rustdoc.log
	[ -f "$build/.config" ] || { echo "rustdoc: no configured $build (clippy step failed?)"; return 1; }
	# The same variables as the clippy step, so that 'prepare' finds rust/ built.
	# shellcheck disable=SC2046
	if ! kmake_progress "rustdoc" "$log" "$build" -j"$(nproc)" $(lint_make_vars) rustdoc; then
		grep -E -A12 '^(warning|error)' "$log" | head -100
		echo "rustdoc: failed; full log: $log"
		return 1
	fi
	if grep -qE '^warning' "$log"; then
		grep -E -A12 '^warning' "$log" | head -100
		echo "rustdoc: warnings; full log: $log"
		return 1
	fi
	echo "rustdoc: clean; log: $log"
}
