// SPDX-License-Identifier: GPL-2.0
//! Host tests only: tells `tests/wycheproof.rs` whether the shared Wycheproof vectors are there
//! (`../shared/vectors/wycheproof` next to the repository), so that without them its tests are
//! reported as ignored instead of passing.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tsm_wycheproof)");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dir = Path::new(&manifest).join("../../../shared/vectors/wycheproof");
    println!("cargo::rerun-if-changed={}", dir.display());
    if dir.is_dir() {
        println!("cargo::rustc-cfg=tsm_wycheproof");
    }
}
