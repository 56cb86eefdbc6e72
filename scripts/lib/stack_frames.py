#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Stack frames of the functions in x86-64 objects, from objdump's disassembly.

Usage: stack_frames.py LIMIT OBJECT...

A function's frame is the largest immediate it subtracts from %rsp. Prints every function
whose frame exceeds LIMIT bytes, largest first, and exits 1 if there is one. rustc has no
-Wframe-larger-than, so this does for Rust what the kernel's FRAME_WARN does for C.
"""

import re
import subprocess
import sys

LABEL = re.compile(r"^[0-9a-f]+ <(.+)>:$")
SUB_RSP = re.compile(r"\bsub\s+\$0x([0-9a-f]+),%rsp")


def frames(path):
    """(frame bytes, function) for each function of the object at path that has a frame."""
    out = subprocess.run(
        ["objdump", "-d", "-C", "--no-show-raw-insn", path],
        check=True, capture_output=True, text=True).stdout
    largest = {}
    function = None
    for line in out.splitlines():
        label = LABEL.match(line)
        if label:
            function = label.group(1)
            continue
        sub = SUB_RSP.search(line)
        if sub and function:
            size = int(sub.group(1), 16)
            largest[function] = max(size, largest.get(function, 0))
    return [(size, function) for function, size in largest.items()]


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    limit = int(sys.argv[1])
    over = []
    for path in sys.argv[2:]:
        over += [(size, path, f) for size, f in frames(path) if size > limit]
    for size, path, function in sorted(over, reverse=True):
        print(f"{size:6d} {path}: {function[:160]}")
    print(f"stack frames: {len(over)} above {limit} bytes in {len(sys.argv) - 2} objects")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
