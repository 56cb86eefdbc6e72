#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The README's "Bad input" table, from the e2e KTAP of both cores.

tests/e2e/tests/47-bad-input.sh prints one line per row it tried,
"BAD|attribute|state|class|input|errno|state-check", which run_suite copies
into the KTAP as a comment. This merges the lines of the tsm-rs and the C run
into one Markdown table and prints it, writes it into README.md between the
markers (--update), or checks that README.md holds exactly it (--check; exit
status 1 if not). A row missing on one core is shown as "-".
"""

import argparse
import re
import sys

ROW = re.compile(r'^\s*#\s*BAD\|(.*)$')
BEGIN = '<!-- bad-input table: scripts/lib/bad_input_table.py --update -->'
END = '<!-- end of bad-input table -->'


def rows(path):
    """Maps (attribute, state, class) to (input, errno, state-check), in order."""
    found = {}
    with open(path, errors='replace') as ktap:
        for line in ktap:
            m = ROW.match(line.rstrip('\n'))
            if not m:
                continue
            parts = m.group(1).split('|')
            if len(parts) != 6:
                continue
            attr, state, klass, inp, errno, check = parts
            found[(attr, state, klass)] = (inp, errno, check)
    return found


def show_input(spec):
    """The input as a reader should see it: escapes kept, spaces made visible."""
    special = {
        '@empty': '(nothing written)',
        '@over': '5000 × `a`',
        '@page': '4095 × `a`',
        '@other': "pci_cma's `tsmN`",
    }
    if spec in special:
        return special[spec]
    return '`' + spec.replace(' ', '␠') + '`'


def table(rs, c):
    keys = list(rs) + [k for k in c if k not in rs]
    out = ['| attribute | state before | class | input | tsm-rs | C 7.3 | state after |',
           '|---|---|---|---|---|---|---|']
    for key in keys:
        a, b = rs.get(key), c.get(key)
        inp = show_input((a or b)[0])
        ea = a[1] if a else '-'
        eb = b[1] if b else '-'
        checks = sorted({x[2] for x in (a, b) if x})
        check = ' / '.join(checks)
        if len(checks) > 1:
            check = f'rs: {a[2] if a else "-"}, C: {b[2] if b else "-"}'
        attr, state, klass = key
        out.append(f'| `tsm/{attr}` | {state} | {klass} | {inp} | {ea} | {eb} | {check} |')
    return '\n'.join(out) + '\n'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('rs_ktap')
    parser.add_argument('c_ktap')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--update', metavar='README')
    group.add_argument('--check', metavar='README')
    args = parser.parse_args()

    rs, c = rows(args.rs_ktap), rows(args.c_ktap)
    if not rs and not c:
        sys.exit('no BAD| lines in either KTAP (did 47-bad-input.sh run?)')
    text = table(rs, c)
    readme = args.update or args.check
    if not readme:
        sys.stdout.write(text)
        return
    with open(readme) as f:
        doc = f.read()
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        sys.exit(f'{readme}: no bad-input table markers')
    current = doc[start + len(BEGIN):end].strip('\n') + '\n'
    if args.check:
        if current != text:
            print(f'{readme}: the bad-input table differs from this run; '
                  'update it with scripts/lib/bad_input_table.py --update')
            sys.exit(1)
        print(f'{readme}: bad-input table matches this run ({len(rs)} rows tsm-rs, {len(c)} rows C)')
        return
    doc = doc[:start + len(BEGIN)] + '\n' + text + doc[end:]
    with open(readme, 'w') as f:
        f.write(doc)


if __name__ == '__main__':
    main()
