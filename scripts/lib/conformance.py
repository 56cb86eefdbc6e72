#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compares the end-to-end KTAP results of tsm-rs' core with upstream's C core.

Prints a side-by-side table of every case and a last line "COUNTS passed failed skipped":
a case passes when both cores give the same result, or when the difference is listed in the
deviations file with its reason; an unlisted difference fails, and so does a listed one that
no longer shows (the list must stay true).
"""

import argparse
import re
import sys

CASE = re.compile(r'^ {4}(ok|not ok) \d+ (\S+)(?:\s+#\s*SKIP\b.*)?$')
SUBTEST = re.compile(r'^ {4}# Subtest: (\S+)')


def results(path):
    """Maps "suite.case" to "pass", "FAIL" or "skip"."""
    found, suite = {}, None
    with open(path, errors='replace') as ktap:
        for line in ktap:
            line = line.rstrip('\n')
            m = SUBTEST.match(line)
            if m:
                suite = m.group(1)
                continue
            m = CASE.match(line)
            if m and suite:
                status = 'skip' if '# SKIP' in line else ('pass' if m.group(1) == 'ok' else 'FAIL')
                found[f'{suite}.{m.group(2)}'] = status
    return found


def deviations(path):
    """Maps "suite.case" to (kind, reason) from the deviations file."""
    listed = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                sys.exit(f'{path}:{n}: expected "suite.case kind reason"')
            listed[parts[0]] = (parts[1], parts[2])
    return listed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('rs_ktap')
    parser.add_argument('c_ktap')
    parser.add_argument('deviations')
    args = parser.parse_args()

    rs, c, listed = results(args.rs_ktap), results(args.c_ktap), deviations(args.deviations)
    cases = sorted(set(rs) | set(c))
    width = max([len(k) for k in cases] + [4])
    print(f'{"case":<{width}}  {"tsm-rs":<6}  {"C 7.3":<6}  verdict')
    passed = failed = 0
    for case in cases:
        a, b = rs.get(case, 'absent'), c.get(case, 'absent')
        note = listed.get(case)
        if a == b and a != 'absent':
            verdict = 'same'
            if note:
                verdict = f'STALE deviation entry ({note[0]})'
                failed += 1
            else:
                passed += 1
        elif note:
            verdict = f'{note[0]}: {note[1]}'
            passed += 1
        else:
            verdict = 'UNLISTED DIFFERENCE'
            failed += 1
        print(f'{case:<{width}}  {a:<6}  {b:<6}  {verdict}')
    for case in sorted(set(listed) - set(cases)):
        print(f'{case:<{width}}  {"absent":<6}  {"absent":<6}  STALE deviation entry')
        failed += 1
    print(f'COUNTS {passed} {failed} 0')


if __name__ == '__main__':
    main()
