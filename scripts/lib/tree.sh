# SPDX-License-Identifier: GPL-2.0
# Kernel work tree = pristine 7.3 source + scripts/patches/* + an overlay of
# this repository's kernel directories.  The pristine source is never written.
#
# Every run rebuilds the tree's state from scratch, cheaply: rsync mirrors the
# pristine source except the files that patches or the overlay provide, and
# those are produced aside and copied in by checksum.  A file whose content did
# not change keeps its mtime, so make rebuilds only what an edit affects; a file
# dropped from the repo or a patch goes back to pristine (or away).

# Repository paths copied into the kernel tree at the same relative path.
OVERLAY_DIRS=(rust/kernel rust/helpers rust/proto/src rust/tsm_spdm drivers fs Documentation include)

work_tree() { printf '%s\n' "${TSM_WORK_TREE:-$TSM_CACHE/work/linux}"; }

overlay_manifest() {
	local d
	(cd "$TSM_ROOT" && for d in "${OVERLAY_DIRS[@]}"; do
		if [ -d "$d" ]; then find "$d" -type f ! -name '*.orig' ! -name '*~' ! -name '*.rej'; fi
	done) | while read -r f; do printf '%s:%s\n' "$f" "$f"; done
}

patched_files() {
	cat "$TSM_ROOT"/scripts/patches/*.patch | sed -n 's#^+++ b/\([^\t]*\).*#\1#p' | sort -u
}

# stage_patched SRC STAGE: the files scripts/patches/* change, patched from
# SRC's copies, under STAGE/tree; their list in STAGE/patched.
stage_patched() {
	local src=$1 stage=$2 f p
	patched_files > "$stage/patched"
	while read -r f; do
		mkdir -p "$stage/tree/$(dirname "$f")"
		if [ -f "$src/$f" ]; then cp -p "$src/$f" "$stage/tree/$f"; fi
	done < "$stage/patched"
	for p in "$TSM_ROOT"/scripts/patches/*.patch; do
		patch -s -p1 -d "$stage/tree" --no-backup-if-mismatch < "$p" ||
			die "tree: $(basename "$p") does not apply to $src"
	done
}

prepare_tree() {
	local src work stage manifest p d top
	src=$(pristine_src)
	work=$(work_tree)
	[ -f "$src/Makefile" ] || die "no kernel source at $src; run scripts/setup"
	mkdir -p "$work"
	stage=$(mktemp -d "$TSM_CACHE/stage.XXXX")
	trap 'rm -rf "$stage"; trap - RETURN' RETURN

	stage_patched "$src" "$stage"

	manifest=$(overlay_manifest)
	{
		sed 's#^#/#' "$stage/patched"
		printf '%s\n' "$manifest" | cut -d: -f2 | sed 's#^#/#'
		# Directories only the overlay has: keep rsync from trying to delete them.
		printf '%s\n' "$manifest" | cut -d: -f2 | xargs -n1 dirname | sort -u |
		while read -r d; do
			top=
			while [ "$d" != . ] && [ ! -d "$src/$d" ]; do top=$d; d=$(dirname "$d"); done
			[ -n "$top" ] && printf '/%s/\n' "$top"
		done | sort -u
	} > "$stage/exclude"
	rsync -a --delete --exclude=/.tsm-rs-managed --exclude-from="$stage/exclude" "$src/" "$work/" ||
		die "tree: cannot mirror $src into $work"
	# A file a patch or the overlay provided last time and rsync just put back to
	# pristine has pristine's old mtime: make it newer than its objects.
	if [ -f "$work/.tsm-rs-managed" ]; then
		comm -23 <(sort -u "$work/.tsm-rs-managed") <(sort -u "$stage/exclude") |
		while read -r f; do if [ -f "$work$f" ]; then touch "$work$f"; fi; done
	fi
	cp "$stage/exclude" "$work/.tsm-rs-managed"

	while read -r f; do
		mkdir -p "$work/$(dirname "$f")"
		rsync -c "$stage/tree/$f" "$work/$f"
	done < "$stage/patched"
	printf '%s\n' "$manifest" | while IFS=: read -r from dst; do
		mkdir -p "$work/$(dirname "$dst")"
		rsync -c "$TSM_ROOT/$from" "$work/$dst"
	done
	# Directories only the overlay has are kept out of rsync's --delete: drop the files there
	# that the repository no longer has.
	printf '%s\n' "$manifest" | cut -d: -f2 | sort -u > "$stage/wanted"
	sed -n 's#^/\(.*\)/$#\1#p' "$stage/exclude" | while read -r d; do
		[ -d "$work/$d" ] || continue
		(cd "$work" && find "$d" -type f) | sort | comm -23 - "$stage/wanted" |
		while read -r f; do rm -f "$work/$f"; done
	done
}
