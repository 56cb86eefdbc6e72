#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Parse a console log with the kernel's KUnit KTAP parser and summarise it.

Prints the parser's per-test report (failures only unless --verbose), then one
machine-readable line "COUNTS passed failed skipped".  Crashed tests and parser
errors count as failures, and so does every expected suite missing from the
log: a crash or hang before a suite ran must never look like success.
"""
import argparse
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('log')
    ap.add_argument('--kunit-dir', required=True, help='tools/testing/kunit of the kernel tree')
    ap.add_argument('--expect', action='append', default=[], help='suite that must be present')
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()

    sys.path.insert(0, args.kunit_dir)
    import kunit_parser  # noqa: E402
    from kunit_printer import Printer  # noqa: E402

    with open(args.log, errors='replace') as f:
        lines = f.read().splitlines()
    quiet = Printer(print=False)
    test = kunit_parser.parse_run_tests(lines, quiet)
    kunit_parser.print_test(test, failed_only=not args.verbose, printer=Printer(print=True))

    counts = test.counts
    failed = counts.failed + counts.crashed + counts.errors
    present = {t.name for t in test.subtests}
    for suite in args.expect:
        if suite not in present:
            print(f'MISSING suite {suite}: it never reported (crash, hang or not built?)')
            failed += 1
    if counts.total() == 0 and not args.expect:
        print('no tests found in the log')
        failed += 1
    print(f'COUNTS {counts.passed} {failed} {counts.skipped}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
