#!/usr/bin/env python3
"""Code lines of the libraries (issue "the house": runtime + os + macros + facade), as counted
for its "≤ 17,000" target: lines that are neither blank nor comments (`//`, `///`, `//!`,
`/* */`), outside `#[cfg(test)]` / `#[cfg(loom)]` modules and the `loom_tests.rs` files.

    python3 benches/codelines.py [REPO]      # prints each crate's count and the total
"""
import os
import sys

TEST_CFGS = ('#[cfg(test)]', '#[cfg(all(test, loom))]', '#[cfg(all(test, not(loom)))]',
             '#[cfg(loom)]')


def count_file(path):
    n = 0
    in_block = False
    skip_to = None  # brace depth at which a skipped test module ends
    depth = 0
    after_cfg = False
    for line in open(path, encoding='utf-8'):
        s = line.strip()
        if in_block:
            in_block = '*/' not in s
            continue
        if s.startswith('/*'):
            in_block = '*/' not in s
            continue
        opens, closes = line.count('{'), line.count('}')
        if skip_to is not None:
            depth += opens - closes
            if depth <= skip_to:
                skip_to = None
            continue
        if s in TEST_CFGS:
            after_cfg = True
            continue
        if after_cfg and s.startswith('mod ') and s.endswith('{'):
            skip_to = depth
            depth += opens - closes
            if depth <= skip_to:
                skip_to = None
            after_cfg = False
            continue
        if after_cfg and s.startswith('mod ') and s.endswith(';'):
            after_cfg = False
            continue
        after_cfg = False
        if not s or s.startswith('//'):
            continue
        depth += opens - closes
        n += 1
    return n


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
    total = 0
    for crate in ('runtime/src', 'os/src', 'macros/src', 'src'):
        n = 0
        for dirpath, _, files in os.walk(os.path.join(root, crate)):
            for f in files:
                if f.endswith('.rs') and 'loom_tests' not in f:
                    n += count_file(os.path.join(dirpath, f))
        print(f'{crate:12} {n:6}')
        total += n
    print(f'{"total":12} {total:6}')


if __name__ == '__main__':
    main()
