# SPDX-License-Identifier: GPL-2.0
"""Builds the tsm-rs patch series as commits in a git repository of pristine 7.3.

Every file the work tree changes (scripts/patches/* and the overlay, listed in
--files as "TREE-PATH<TAB>FILE-WITH-FINAL-CONTENT", an empty second field for a
file that disappears) is diffed line by line against the pristine tree; each
changed block goes to the patch that scripts/lib/series.txt assigns it to.
Patch N's commit holds the pristine tree plus every block of patches 1..N, so
the last commit is exactly the work tree.  Prints the last commit's id.
"""

import argparse
import difflib
import os
import re
import subprocess
import sys

GIT_TIMEOUT = 300


class TableError(Exception):
    pass


def parse_table(path, cover):
    groups = []
    group = None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("cover: "):
                group = {"subject": line[len("cover: "):].strip(), "body": [], "cover": True,
                         "files": [], "lines": [], "line": n}
                cover.append(group)
                continue
            if line.startswith("subject: "):
                group = {"subject": line[len("subject: "):].strip(), "files": [],
                         "lines": [], "body": [], "line": n}
                groups.append(group)
                continue
            if line.startswith("|"):
                if group is None:
                    raise TableError(f"{path}:{n}: body text before any subject")
                group["body"].append(line[2:] if line.startswith("| ") else line[1:])
                continue
            if not line.strip() or line.startswith("#"):
                continue
            if group is None:
                raise TableError(f"{path}:{n}: rule before any subject")
            word, _, rest = line.partition(" ")
            if group.get("cover"):
                raise TableError(f"{path}:{n}: rules in the cover letter")
            if word == "files":
                for p in rest.split():
                    group["files"].append({"pattern": p, "used": 0, "line": n})
            elif word == "lines":
                fpath, _, rx = rest.strip().partition(" ")
                if not rx:
                    raise TableError(f"{path}:{n}: 'lines PATH REGEX' needs a regex")
                try:
                    group["lines"].append({"path": fpath, "rx": re.compile(rx), "src": rx,
                                           "used": 0, "line": n})
                except re.error as e:
                    raise TableError(f"{path}:{n}: bad regex {rx!r}: {e}")
            else:
                raise TableError(f"{path}:{n}: unknown rule '{word}'")
    if not groups:
        raise TableError(f"{path}: no patches")
    return groups


def file_group(groups, path, errors):
    """Index of the group whose longest "files" pattern matches path, or None."""
    best = None
    for gi, g in enumerate(groups):
        for rule in g["files"]:
            p = rule["pattern"]
            if p == path or (p.endswith("/") and path.startswith(p)):
                if best is None or len(p) > len(best[1]["pattern"]):
                    best = (gi, rule)
                elif len(p) == len(best[1]["pattern"]) and gi != best[0]:
                    rule["used"] += 1
                    errors.append(f"{path}: matched by 'files {p}' of two patches")
    if best is None:
        return None
    best[1]["used"] += 1
    return best[0]


def line_groups(groups, path, text):
    hits = []
    for gi, g in enumerate(groups):
        for rule in g["lines"]:
            if rule["path"] == path and rule["rx"].search(text):
                rule["used"] += 1
                hits.append(gi)
    return sorted(set(hits))


def show(text):
    return text.rstrip("\n")[:100]


def units_of(groups, path, old, new, errors):
    """Changed blocks of path as (i1, i2, new_lines, group) in file order."""
    fgroup = file_group(groups, path, errors)
    dec = lambda b: b.decode("utf-8", "replace")
    units = []
    sm = difflib.SequenceMatcher(None, old, new, autojunk=False)
    opcodes = [op for op in sm.get_opcodes() if op[0] != "equal"]
    for tag, i1, i2, j1, j2 in opcodes:
        added = new[j1:j2]
        if tag == "insert":
            labels = []
            for ln in added:
                hit = line_groups(groups, path, dec(ln))
                if len(hit) > 1:
                    errors.append(f"{path}: line {show(dec(ln))!r} matches 'lines' rules of "
                                  f"several patches: " + ", ".join(groups[h]["subject"] for h in hit))
                labels.append(hit[0] if hit else None)
            if fgroup is not None:
                # A blank line goes with the line after it (a paragraph
                # another patch adds), anything else to the file's patch.
                nxt = fgroup
                for k in range(len(labels) - 1, -1, -1):
                    if labels[k] is None:
                        labels[k] = nxt if not added[k].strip() else fgroup
                    nxt = labels[k]
            else:
                nxt = None
                for k in range(len(labels) - 1, -1, -1):
                    if labels[k] is None:
                        labels[k] = nxt
                    else:
                        nxt = labels[k]
                prev = None
                for k in range(len(labels)):
                    if labels[k] is None:
                        labels[k] = prev
                    else:
                        prev = labels[k]
            if any(lb is None for lb in labels) and not old:
                errors.append(f"{path}: a new file that no patch in series.txt claims "
                              f"(add it to a 'files' rule)")
                continue
            if any(lb is None for lb in labels):
                errors.append(f"{path}: no patch in series.txt for the added lines starting "
                              f"{show(dec(added[0]))!r} (add 'files {path}' or a 'lines' rule)")
                continue
            k = 0
            while k < len(added):
                e = k
                while e < len(added) and labels[e] == labels[k]:
                    e += 1
                units.append((i1, i2, added[k:e], labels[k]))
                k = e
        else:
            hit = set()
            for ln in old[i1:i2] + added:
                hit.update(line_groups(groups, path, dec(ln)))
            if len(hit) > 1:
                errors.append(f"{path}: the change of line {i1 + 1} matches 'lines' rules of "
                              f"several patches: " + ", ".join(groups[h]["subject"] for h in sorted(hit)))
                continue
            label = hit.pop() if hit else fgroup
            if label is None:
                errors.append(f"{path}: no patch in series.txt for the change of line {i1 + 1} "
                              f"({show(dec((old[i1:i2] + added)[0]))!r}); add 'files {path}' "
                              f"or a 'lines' rule")
                continue
            units.append((i1, i2, added, label))
    return units


def content_at(old, units, stage):
    out, pos = [], 0
    for i1, i2, added, label in units:
        if label > stage:
            continue
        out.extend(old[pos:i1])
        out.extend(added)
        pos = i2
    out.extend(old[pos:])
    return b"".join(out)


def git(args, git_dir, env=None, data=None):
    r = subprocess.run(["git", "--git-dir", git_dir] + args, input=data, env=env,
                       capture_output=True, timeout=GIT_TIMEOUT)
    if r.returncode != 0:
        sys.exit(f"error: git {' '.join(args)}: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout.decode().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", required=True)
    ap.add_argument("--pristine", required=True)
    ap.add_argument("--files", required=True)
    ap.add_argument("--git-dir")
    ap.add_argument("--base")
    ap.add_argument("--index")
    ap.add_argument("--ident", help="Name <email> for author, committer and Signed-off-by")
    ap.add_argument("--date", help="author and committer date")
    ap.add_argument("--check", action="store_true", help="only check the table")
    ap.add_argument("--cover", help="fill in this format-patch cover letter and exit")
    a = ap.parse_args()

    cover = []
    try:
        groups = parse_table(a.table, cover)
    except TableError as e:
        sys.exit(f"error: {e}")
    if a.cover:
        if len(cover) != 1:
            sys.exit(f"error: {a.table} needs one 'cover:' stanza")
        text = open(a.cover, encoding="utf-8").read()
        body = "\n".join(cover[0]["body"]).strip("\n")
        text = text.replace("*** SUBJECT HERE ***", cover[0]["subject"])
        text = text.replace("*** BLURB HERE ***", body)
        open(a.cover, "w", encoding="utf-8").write(text)
        return

    final = {}
    with open(a.files, encoding="utf-8") as f:
        for line in f:
            tree_path, _, src = line.rstrip("\n").partition("\t")
            final[tree_path] = src  # a later line (the overlay) wins
    errors = []
    files = {}
    for path in sorted(final):
        pristine = os.path.join(a.pristine, path)
        old = open(pristine, "rb").read().splitlines(keepends=True) if os.path.isfile(pristine) else None
        new = open(final[path], "rb").read().splitlines(keepends=True) if final[path] else None
        mode = "100755" if final[path] and os.access(final[path], os.X_OK) else "100644"
        if old is not None and new is not None:
            units = units_of(groups, path, old, new, errors)
        elif old is None and new is not None:
            units = units_of(groups, path, [], new, errors)
            if not new:  # an empty new file
                g = file_group(groups, path, errors)
                if g is None:
                    errors.append(f"{path}: no patch in series.txt for this new file")
                    continue
                units = [(0, 0, [], g)]
        elif old is not None:
            g = file_group(groups, path, errors)
            if g is None:
                errors.append(f"{path}: no patch in series.txt removes this file")
                continue
            units = [(0, len(old), None, g)]
        else:
            continue
        if units:
            files[path] = (old, new, units, mode)

    for gi, g in enumerate(groups):
        for rule in g["files"]:
            if not rule["used"]:
                errors.append(f"series.txt:{rule['line']}: 'files {rule['pattern']}' matches no "
                              f"changed file")
        for rule in g["lines"]:
            if not rule["used"]:
                errors.append(f"series.txt:{rule['line']}: 'lines {rule['path']} {rule['src']}' "
                              f"matches no changed line")
        if not any(u[3] == gi for (_, _, units, _) in files.values() for u in units):
            errors.append(f"series.txt:{g['line']}: patch '{g['subject']}' has no changes")
    if errors:
        print("error: the patch series does not cover the work tree (scripts/lib/series.txt):",
              file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
        sys.exit(1)
    if a.check:
        return

    env = dict(os.environ, GIT_INDEX_FILE=a.index)
    m = re.match(r"(.*) <(.*)>$", a.ident)
    if not m:
        sys.exit(f"error: identity {a.ident!r} is not 'Name <email>'")
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"], env[f"GIT_{who}_EMAIL"] = m.group(1), m.group(2)
        env[f"GIT_{who}_DATE"] = a.date
    git(["read-tree", a.base], a.git_dir, env)
    parent = a.base
    for gi, g in enumerate(groups):
        info = []
        for path, (old, new, units, mode) in files.items():
            if not any(u[3] == gi for u in units):
                continue
            if units[0][2] is None:  # removal
                info.append(f"0 {'0' * 40}\t{path}\n")
                continue
            data = content_at(old or [], units, gi)
            sha = git(["hash-object", "-w", "--stdin"], a.git_dir, env, data)
            info.append(f"{mode} {sha}\t{path}\n")
        git(["update-index", "--index-info"], a.git_dir, env, "".join(info).encode())
        tree = git(["write-tree"], a.git_dir, env)
        body = "\n".join(g["body"]).strip("\n")
        msg = f"{g['subject']}\n\n{body}\n\nSigned-off-by: {a.ident}\n"
        parent = git(["commit-tree", tree, "-p", parent, "-F", "-"], a.git_dir, env, msg.encode())
    # The last commit must hold exactly the final files.
    for path, (old, new, units, mode) in files.items():
        if new is not None and content_at(old or [], units, len(groups)) != b"".join(new):
            sys.exit(f"error: internal: {path} does not come out as in the work tree")
    print(parent)


if __name__ == "__main__":
    main()
