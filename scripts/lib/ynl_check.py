#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks a YNL netlink spec with the kernel's own tooling, and the tsm CLI
against it.

    ynl_check.py KERNEL_SRC SPEC [--cli-consts FILE]

1. Loads SPEC with KERNEL_SRC/tools/net/ynl/pyynl's SpecFamily, which
   validates it against the schema of its protocol
   (KERNEL_SRC/Documentation/netlink/<protocol>.yaml) with python's
   jsonschema and resolves every reference.
   Every limit a check names must be one of the spec's definitions.
2. Runs KERNEL_SRC/tools/net/ynl/pyynl/ynl_gen_c.py on it for the uAPI
   header and the kernel header and source, as tools/net/ynl/ynl-regen.sh
   does: every name the spec uses must resolve.
3. With --cli-consts, compares the numbers the CLI hard-codes (Rust
   constants named CMD_*, ATTR_*, and the TYPE_NAMES array) with the ones
   the spec assigns.

The spec is checked in a scratch copy of the layout the tooling expects
(Documentation/netlink/specs/ beside the schemas); nothing is written
next to SPEC or into KERNEL_SRC. Exit status 0 when everything holds.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


def fail(msg):
    print(f"ynl_check: {msg}", file=sys.stderr)
    sys.exit(1)


def cli_consts(path):
    """The CLI's CMD_*, ATTR_* constants and TYPE_NAMES."""
    text = open(path, encoding="utf-8").read()
    consts = {m.group(1): int(m.group(2), 0) for m in
              re.finditer(r"pub const ((?:CMD|ATTR)_[A-Z_]+): u\d+ = (0x[0-9a-fA-F]+|\d+);", text)}
    m = re.search(r"pub const TYPE_NAMES: \[&str; \d+\] = \[([^\]]*)\]", text)
    if not m:
        fail(f"{path}: no TYPE_NAMES array")
    names = re.findall(r'"([a-z0-9-]+)"', m.group(1))
    return consts, names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kernel_src")
    ap.add_argument("spec")
    ap.add_argument("--cli-consts", help="Rust file with the CLI's constants")
    args = ap.parse_args()

    pyynl = os.path.join(args.kernel_src, "tools/net/ynl/pyynl")
    schemas = os.path.join(args.kernel_src, "Documentation/netlink")
    if not os.path.isdir(pyynl) or not os.path.isdir(schemas):
        fail(f"{args.kernel_src} has no tools/net/ynl/pyynl or Documentation/netlink")
    sys.path.insert(0, pyynl)
    from lib import SpecFamily  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.path.realpath(tmp)
        doc = os.path.join(tmp, "Documentation/netlink")
        os.makedirs(os.path.join(doc, "specs"))
        for f in os.listdir(schemas):
            if f.endswith(".yaml"):
                shutil.copy(os.path.join(schemas, f), doc)
        spec = os.path.join(doc, "specs", os.path.basename(args.spec))
        shutil.copy(args.spec, spec)
        # ynl_gen_c.py names the spec relative to the tree root, which it
        # finds by looking for MAINTAINERS above the spec.
        open(os.path.join(tmp, "MAINTAINERS"), "w", encoding="utf-8").close()

        try:
            family = SpecFamily(spec, schema_path=True)
        except Exception as e:  # jsonschema.ValidationError, KeyError, ...
            fail(f"{args.spec}: rejected by SpecFamily: {type(e).__name__}: {e}")
        print(f"ok: {args.spec} validates against the {family.proto} schema")

        # Neither the schema nor the generator checks that a named limit
        # exists (the generator prints the name into C as is).
        undefined = []
        for aset in family.yaml.get("attribute-sets", []):
            for attr in aset.get("attributes", []):
                for check, value in attr.get("checks", {}).items():
                    if isinstance(value, str) and value not in family.consts:
                        undefined.append(f"{aset['name']}.{attr['name']}: {check}: {value}")
        if undefined:
            fail("checks name undefined definitions:\n  " + "\n  ".join(undefined))
        print("ok: every named limit in checks is defined")

        gen = os.path.join(pyynl, "ynl_gen_c.py")
        for mode in (["uapi", "--header"], ["kernel", "--header"], ["kernel", "--source"]):
            out = os.path.join(tmp, "gen-" + "-".join(m.strip("-") for m in mode))
            try:
                r = subprocess.run([sys.executable, gen, "--mode", mode[0], mode[1],
                                    "--spec", spec, "-o", out],
                                   capture_output=True, text=True, check=False, timeout=120)
            except subprocess.TimeoutExpired:
                fail(f"ynl_gen_c.py --mode {' '.join(mode)} did not finish in 120 s")
            if r.returncode != 0:
                fail(f"ynl_gen_c.py --mode {' '.join(mode)} failed:\n{r.stderr.strip()}")
        print("ok: ynl_gen_c.py generates the uAPI header and the kernel header and source")

        if args.cli_consts:
            consts, names = cli_consts(args.cli_consts)
            want = {}
            for op in family.ops.values():
                want["CMD_" + op.name.upper().replace("-", "_")] = op.value
            for aset in family.attr_sets.values():
                for attr in aset.attrs.values():
                    want["ATTR_" + attr.name.upper().replace("-", "_")] = attr.value
            bad = [f"{k}: CLI {consts.get(k)}, spec {v}" for k, v in want.items()
                   if consts.get(k) != v]
            extra = sorted(set(consts) - set(want))
            types = [e.name for e in family.consts["evidence-type"].entries.values()]
            if names != types:
                bad.append(f"TYPE_NAMES: CLI {names}, spec {types}")
            if bad or extra:
                fail("the CLI disagrees with the spec:\n  " +
                     "\n  ".join(bad + [f"{k}: not in the spec" for k in extra]))
            print(f"ok: {args.cli_consts} matches the spec "
                  f"({len(want)} numbers, {len(types)} evidence types)")


if __name__ == "__main__":
    main()
