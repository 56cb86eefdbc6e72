# SPDX-License-Identifier: GPL-2.0
# The work tree as a git format-patch series against pristine 7.3, and the
# check that the series gives back exactly that work tree.
#
# A git repository of the pristine source is made once per source version
# (keyed by its .tsm-rs-complete file) in $TSM_CACHE/series/pristine.git; the
# series is committed there with plumbing (no checkout), one commit per patch
# of scripts/lib/series.txt.  The check applies it with git am in a worktree
# of that repository kept in $TSM_CACHE/series/am.

SERIES_DIR=$TSM_CACHE/series
SERIES_GIT_TIMEOUT=${SERIES_GIT_TIMEOUT:-1200}

sgit() { timeout "$SERIES_GIT_TIMEOUT" git --git-dir="$SERIES_DIR/pristine.git" "$@"; }

# Identity of the series: the repository's git author, and its last commit's
# date, so that an unchanged repository exports byte-identical patches.
series_ident() {
	local ident
	ident=$(cd "$TSM_ROOT" && git var GIT_AUTHOR_IDENT 2>/dev/null) ||
		die "series: no git author identity (set user.name and user.email)"
	printf '%s\n' "${ident% * *}"
}
series_date() { (cd "$TSM_ROOT" && git log -1 --format=%cI 2>/dev/null) || date -u +%FT%TZ; }

pristine_key() {
	local src=$1
	if [ -f "$src/.tsm-rs-complete" ]; then
		printf '%s %s\n' "$src" "$(cat "$src/.tsm-rs-complete")"
	else
		printf '%s %s\n' "$src" "$(stat -c %Y "$src/Makefile")"
	fi
}

# pristine_commit: prints the commit of the pristine tree, creating the
# repository when the source changed (a few minutes, once).
pristine_commit() {
	local src key repo=$SERIES_DIR/pristine.git tree
	src=$(pristine_src)
	[ -f "$src/Makefile" ] || die "no kernel source at $src; run scripts/setup"
	key=$(pristine_key "$src")
	if [ -f "$repo/tsm-rs-key" ] && [ "$(cat "$repo/tsm-rs-key")" = "$key" ] &&
		[ -f "$repo/tsm-rs-base" ]; then
		cat "$repo/tsm-rs-base"
		return
	fi
	step "series: making a git repository of the pristine source (once, a few minutes)"
	rm -rf "$repo" "$SERIES_DIR/am"
	mkdir -p "$SERIES_DIR"
	git init -q --bare "$repo" || die "series: git init failed"
	# Everything, even files the kernel's .gitignore names: the work tree has them.
	GIT_INDEX_FILE=$repo/pristine.index sgit --work-tree="$src" add -A -f . ||
		die "series: cannot add $src to $repo"
	tree=$(GIT_INDEX_FILE=$repo/pristine.index sgit write-tree) || die "series: write-tree failed"
	rm -f "$repo/pristine.index"
	GIT_AUTHOR_NAME=pristine GIT_AUTHOR_EMAIL=pristine@localhost GIT_AUTHOR_DATE=2000-01-01T00:00:00Z \
	GIT_COMMITTER_NAME=pristine GIT_COMMITTER_EMAIL=pristine@localhost \
	GIT_COMMITTER_DATE=2000-01-01T00:00:00Z \
		sgit commit-tree "$tree" -m "Linux $(sed -n 's/^VERSION = //p' "$src/Makefile").$(sed -n 's/^PATCHLEVEL = //p' "$src/Makefile") (pristine: $key)" \
		> "$repo/tsm-rs-base" || die "series: commit-tree failed"
	printf '%s\n' "$key" > "$repo/tsm-rs-key"
	cat "$repo/tsm-rs-base"
}

# series_files STAGE: writes STAGE/files, "tree path<TAB>file with its content"
# for everything the work tree changes (patched files, then the overlay).
series_files() {
	local stage=$1 src f
	src=$(pristine_src)
	stage_patched "$src" "$stage"
	while read -r f; do
		if [ -f "$stage/tree/$f" ]; then
			printf '%s\t%s\n' "$f" "$stage/tree/$f"
		else
			printf '%s\t\n' "$f"
		fi
	done < "$stage/patched" > "$stage/files"
	overlay_manifest | while IFS=: read -r from dst; do
		printf '%s\t%s\n' "$dst" "$TSM_ROOT/$from"
	done >> "$stage/files"
}

# export_series OUTDIR: writes the series into OUTDIR (its old *.patch files
# are removed), with a cover letter 0000-cover-letter.patch, and prints the
# last commit.
export_series() {
	local out=$1 base stage tip
	base=$(pristine_commit) || exit 1
	stage=$(mktemp -d "$TSM_CACHE/series-stage.XXXX")
	series_files "$stage"
	tip=$(python3 "$TSM_ROOT/scripts/lib/series.py" --table "$TSM_ROOT/scripts/lib/series.txt" \
		--pristine "$(pristine_src)" --files "$stage/files" --git-dir "$SERIES_DIR/pristine.git" \
		--base "$base" --index "$stage/index" --ident "$(series_ident)" --date "$(series_date)") || {
		rm -rf "$stage"
		return 1
	}
	rm -rf "$stage"
	sgit update-ref refs/heads/series "$tip"
	mkdir -p "$out"
	rm -f "$out"/*.patch
	GIT_COMMITTER_DATE=$(series_date) sgit format-patch -q --cover-letter -o "$out" "$base..$tip" || die "series: format-patch failed"
	python3 "$TSM_ROOT/scripts/lib/series.py" --table "$TSM_ROOT/scripts/lib/series.txt" \
		--pristine "$(pristine_src)" --files /dev/null --cover "$out"/0000-cover-letter.patch ||
		die "series: cannot write the cover letter"
	printf '%s\n' "$tip"
}

# apply_series DIR: a checkout of pristine in $SERIES_DIR/am with DIR/*.patch
# applied by git am.  Prints the checkout's path.
apply_series() {
	local dir=$1 base am=$SERIES_DIR/am p patches
	base=$(pristine_commit) || exit 1
	if [ ! -e "$am/.git" ]; then
		rm -rf "$am"
		sgit worktree prune
		step "series: checking out the pristine tree for git am (once)"
		sgit worktree add -q --detach "$am" "$base" >&2 || die "series: cannot check out $am"
	fi
	(
		cd "$am" || exit 1
		timeout 120 git am --abort >/dev/null 2>&1
		timeout "$SERIES_GIT_TIMEOUT" git checkout -q --detach "$base" &&
		timeout "$SERIES_GIT_TIMEOUT" git reset -q --hard "$base" &&
		timeout "$SERIES_GIT_TIMEOUT" git clean -q -f -d -x
	) || die "series: cannot reset $am to pristine"
	patches=()
	for p in "$dir"/*.patch; do
		case $p in */0000-cover-letter.patch) ;; *) patches+=("$p");; esac
	done
	(cd "$am" && timeout "$SERIES_GIT_TIMEOUT" git -c user.name=tsm-rs -c user.email=tsm-rs@localhost \
		am -q "${patches[@]}") >&2 || return 1
	printf '%s\n' "$am"
}

# compare_trees A B: prints the differences between two kernel trees: their
# lists of files and symlinks, and the contents of the files the patches and
# the overlay change.  Succeeds when there are none.
compare_trees() {
	local a=$1 b=$2 lists diffs=0 f
	lists=$(diff <(cd "$a" && find . \( -type f -o -type l \) ! -path './.git' ! -path './.git/*' \
			! -name .tsm-rs-managed | sort) \
		<(cd "$b" && find . \( -type f -o -type l \) ! -path './.git' ! -path './.git/*' \
			! -name .tsm-rs-managed | sort))
	if [ -n "$lists" ]; then
		printf 'file lists differ (< %s, > %s):\n%s\n' "$a" "$b" "$(printf '%s\n' "$lists" | head -20)"
		diffs=1
	fi
	while read -r f; do
		[ -e "$a/$f" ] || [ -e "$b/$f" ] || continue
		if ! cmp -s "$a/$f" "$b/$f"; then
			echo "content differs: $f"
			diffs=1
		fi
	done < <({ patched_files; overlay_manifest | cut -d: -f2; } | sort -u)
	[ "$diffs" -eq 0 ]
}
