#!/usr/bin/env python3
"""Compares tokio's test suite run on the real tokio and on compat/tokio (see run.sh).

Reads OUT/tokio/FILE.txt and OUT/compat/FILE.txt (libtest output followed by "EXIT rc", or a
"COMPILE-ERROR ..." line) and prints one row per file: passed/failed on tokio, passed/failed on
compat, and the tests that pass on tokio but not on compat; then the totals and the ratio
"compat passes / tokio passes": tests that pass on both over tests that pass on tokio.

Usage: compare.py OUT FILE_STEM...
"""
import os
import re
import sys

LINE = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)")


def load(path):
    """(status, {test: outcome}): status is 'ok', 'FAILED', 'TIMEOUT', 'COMPILE-ERROR ...'
    or 'missing'."""
    if not os.path.exists(path):
        return "missing", {}
    text = open(path, errors="replace").read()
    if text.startswith("COMPILE-ERROR"):
        return text.strip(), {}
    tests = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            tests[m.group(1)] = m.group(2)
    rc = re.search(r"^EXIT (\d+)$", text, re.M)
    rc = int(rc.group(1)) if rc else -1
    status = "ok" if rc == 0 else ("TIMEOUT" if rc in (124, 137) else "FAILED")
    return status, tests


def main():
    out, stems = sys.argv[1], sys.argv[2:]
    tot = dict(tok_pass=0, tok_fail=0, com_pass=0, com_fail=0, both=0)
    files = dict(tok_broken=0, com_broken=0)
    rows = []
    for s in stems:
        ts, tt = load(os.path.join(out, "tokio", s + ".txt"))
        cs, ct = load(os.path.join(out, "compat", s + ".txt"))
        tp = {t for t, o in tt.items() if o == "ok"}
        tf = {t for t, o in tt.items() if o == "FAILED"}
        cp = {t for t, o in ct.items() if o == "ok"}
        cf = {t for t, o in ct.items() if o == "FAILED"}
        both = tp & cp
        tot["tok_pass"] += len(tp)
        tot["tok_fail"] += len(tf)
        tot["com_pass"] += len(cp)
        tot["com_fail"] += len(cf)
        tot["both"] += len(both)
        files["tok_broken"] += ts.startswith("COMPILE-ERROR")
        files["com_broken"] += cs.startswith("COMPILE-ERROR")

        def side(status, p, f):
            if status.startswith("COMPILE-ERROR"):
                return "%-17s" % "COMPILE-ERROR"
            if status == "missing":
                return "%-17s" % "not run"
            mark = "" if status == "ok" else ("T" if status == "TIMEOUT" else "")
            return "%4d ok %3d fail%s" % (len(p), len(f), mark.ljust(1))

        lost = sorted(tp - cp)
        note = ""
        if cs.startswith("COMPILE-ERROR"):
            note = cs[len("COMPILE-ERROR "):]
        elif lost:
            note = "lost: " + " ".join(lost)
        rows.append("%-38s %s | %s  %s" % (s, side(ts, tp, tf), side(cs, cp, cf), note))

    print("%-38s %-17s | %-17s  %s" % ("file", "tokio", "compat", "tests passing on tokio, not on compat"))
    print("\n".join(rows))
    print()
    print("files: %d; do not compile: %d on tokio, %d on compat (T = hit the time bound)"
          % (len(stems), files["tok_broken"], files["com_broken"]))
    print("tests: tokio %d passed, %d failed; compat %d passed, %d failed"
          % (tot["tok_pass"], tot["tok_fail"], tot["com_pass"], tot["com_fail"]))
    if tot["tok_pass"]:
        print("ratio compat/tokio: %d / %d = %.1f %% of the tests that pass on tokio pass on compat"
              % (tot["both"], tot["tok_pass"], 100.0 * tot["both"] / tot["tok_pass"]))


main()
