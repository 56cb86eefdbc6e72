# SPDX-License-Identifier: GPL-2.0
# Shared settings for the tsm-rs scripts: cache location, tool paths and the
# make variables every kernel build must receive (Kconfig silently drops
# CONFIG_RUST when one is missing).

TSM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TSM_CACHE=${TSM_RS_CACHE:-$HOME/.cache/tsm-rs}
LLVM_SUFFIX=-19
export LIBCLANG_PATH=/usr/lib/llvm${LLVM_SUFFIX}/lib
BINDGEN_BIN=$TSM_CACHE/cargo/bin/bindgen

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian's rustc ships rust-src; the rustup one on PATH does not.
rust_lib_src() {
	local ver
	ver=$(/usr/bin/rustc --version 2>/dev/null | cut -d' ' -f2 | cut -d- -f1) || return 1
	[ -n "$ver" ] && printf '/usr/src/rustc-%s/library\n' "$ver"
}

kernel_make_vars() {
	printf '%s\n' "LLVM=$LLVM_SUFFIX" RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc \
		RUSTDOC=/usr/bin/rustdoc "BINDGEN=$BINDGEN_BIN" "RUST_LIB_SRC=$(rust_lib_src)"
}

# The pristine 7.3 source: a user's tree (KERNEL_SRC) or the cached Debian one.
pristine_src() {
	if [ -n "${KERNEL_SRC:-}" ]; then
		printf '%s\n' "$KERNEL_SRC"
	else
		printf '%s\n' "$TSM_CACHE/linux-source"
	fi
}

# True when qemu-system-x86_64 is version 10 or newer (NVMe spdm_port support).
qemu_is_10() {
	local v
	v=$(qemu-system-x86_64 --version 2>/dev/null | awk 'NR==1 {print $4}')
	[ -n "$v" ] && [ "${v%%.*}" -ge 10 ]
}

# The kernel's YNL tooling (tools/net/ynl/pyynl) validates netlink specs with
# python's jsonschema and reads them with PyYAML.
YNL_VENV=$TSM_CACHE/venv/ynl

# ynl_python: prints a python3 that imports jsonschema and yaml: the one on
# PATH, else the venv ynl_python_setup makes in the cache.
ynl_python() {
	local py
	for py in python3 "$YNL_VENV/bin/python3"; do
		if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import jsonschema, yaml' 2>/dev/null; then
			command -v "$py"
			return 0
		fi
	done
	return 1
}

# ynl_python_setup: makes sure ynl_python finds one, by creating a venv under
# the cache and installing jsonschema and PyYAML into it with pip (nothing
# is installed into the system or the repository).
ynl_python_setup() {
	ynl_python >/dev/null && return 0
	step "setting up python jsonschema and PyYAML in $YNL_VENV"
	rm -rf "$YNL_VENV"
	python3 -m venv "$YNL_VENV" >&2 || return 1
	"$YNL_VENV/bin/python3" -m pip install -q jsonschema PyYAML >&2 || return 1
	ynl_python >/dev/null
}
