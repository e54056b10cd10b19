#!/usr/bin/env python3
"""Bounce fixtures as data: every tests/data/bounces/<format>/<name>.eml is
read by `rebound parse --format json`, and what it writes must be exactly
<name>.expected.json beside it (one JSON object per record, one per line;
an empty file for a message that gives no record).

The `file` field is the path relative to tests/data/bounces: the runner
starts rebound in that folder and names the files relatively, so nothing
in the expected files depends on where the tree is checked out.

Each message is read a second time with CRLF line ends (every bare LF made
CRLF, in a temporary copy under the same relative name) and must give the
same output again: mail stores keep either convention.

The folders generic/ and ja/ have their own runners (check_generic.py,
check_fixtures.py); there, only .eml files that have an .expected.json are
taken. Anywhere else an .eml without one is a failure (run with --update to
write it).

Usage:
  fixtures.py REBOUND [--data DIR] [--only TEXT]... [--update] [--no-crlf]

  --only TEXT  only the fixtures whose relative path holds TEXT
  --update     write each .expected.json from the current output and show
               the diff of what changed (after a deliberate change; read the
               diff before committing it)
  --no-crlf    skip the CRLF reading

Exit status: 0 all fixtures match, 1 some differ (a unified diff per
fixture, then the fields that changed per record), 2 bad usage or rebound
could not be run.
"""
import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "data", "bounces"))
# Folders with runners of their own: only their .eml/.expected.json pairs.
OTHER_RUNNERS = ("generic", "ja")
SUFFIX = ".expected.json"


def find_fixtures(data, only):
    """Relative .eml paths to check (sorted), and problems found on the way."""
    fixtures, problems = [], []
    for root, dirs, files in os.walk(data):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_root = os.path.relpath(root, data)
        top = rel_root.split(os.sep)[0]
        names = set(files)
        for name in sorted(files):
            rel = os.path.normpath(os.path.join(rel_root, name))
            if name.endswith(SUFFIX):
                if name[: -len(SUFFIX)] + ".eml" not in names and (not only or any(o in rel for o in only)):
                    problems.append(f"{rel}: no {name[: -len(SUFFIX)]}.eml beside it")
                continue
            if not name.endswith(".eml"):
                continue
            if top in OTHER_RUNNERS and name[:-4] + SUFFIX not in names:
                continue
            if only and not any(o in rel for o in only):
                continue
            fixtures.append(rel)
    return fixtures, problems


def run_parse(rebound, cwd, rels):
    """Runs rebound once over rels (relative to cwd); returns {rel: [lines]}
    and the error text (stderr and an abnormal exit), if any."""
    proc = subprocess.run([rebound, "parse", "--format", "json", "--"] + rels, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = {rel: [] for rel in rels}
    errors = []
    # Split at LF only: str.splitlines() would also cut at U+2028, U+0085,
    # ... which JSON strings may hold unescaped.
    for line in proc.stdout.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        try:
            rel = json.loads(line).get("file")
        except ValueError:
            errors.append(f"not JSON: {line[:200]}")
            continue
        if rel in out:
            out[rel].append(line)
        else:
            errors.append(f"a record for a file not given: {line[:200]}")
    if proc.stderr:
        errors.append(proc.stderr.decode("utf-8", "replace").rstrip())
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not proc.stderr):
        errors.append(f"rebound parse exited with status {proc.returncode}")
    return out, errors


def to_crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def field_changes(want, got):
    """Per record, the fields whose values differ (a reading aid under the diff)."""
    notes = []
    if not want:
        return notes  # a new file: the diff shows it all
    for i in range(max(len(want), len(got))):
        if i >= len(want):
            notes.append(f"  record {i + 1}: new, {got[i][:160]}")
            continue
        if i >= len(got):
            notes.append(f"  record {i + 1}: gone, was {want[i][:160]}")
            continue
        try:
            a, b = json.loads(want[i]), json.loads(got[i])
        except ValueError:
            continue
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key, "<absent>") != b.get(key, "<absent>"):
                old, new = json.dumps(a.get(key, "<absent>"), ensure_ascii=False), \
                    json.dumps(b.get(key, "<absent>"), ensure_ascii=False)
                notes.append(f"  record {i + 1} {key}: {old[:120]} -> {new[:120]}")
    return notes


def diff(want, got, rel, label):
    lines = list(difflib.unified_diff([w + "\n" for w in want], [g + "\n" for g in got],
                                      f"a/{rel[:-4]}{SUFFIX}", f"b/{rel[:-4]}{SUFFIX} ({label})"))
    return "".join(lines) + "\n".join(field_changes(want, got))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rebound", help="the rebound binary")
    ap.add_argument("--data", default=DEFAULT_DATA, help="the fixtures folder (default: tests/data/bounces)")
    ap.add_argument("--only", action="append", default=[], metavar="TEXT",
                    help="only fixtures whose relative path holds TEXT (repeatable)")
    ap.add_argument("--update", action="store_true", help="rewrite the expected files from the current output")
    ap.add_argument("--no-crlf", action="store_true", help="skip the CRLF reading")
    args = ap.parse_args()

    rebound = os.path.abspath(args.rebound)
    if not os.access(rebound, os.X_OK):
        print(f"fixtures.py: {args.rebound}: not an executable", file=sys.stderr)
        return 2
    data = os.path.abspath(args.data)
    fixtures, problems = find_fixtures(data, args.only)
    if not fixtures:
        print(f"fixtures.py: no fixtures under {data}" + (f" matching {args.only}" if args.only else ""),
              file=sys.stderr)
        return 2

    failed = []
    for p in problems:
        print(f"FAIL {p}")
        failed.append(p)

    got, errors = run_parse(rebound, data, fixtures)
    for e in errors:
        print(f"FAIL rebound parse: {e}")
        failed.append("rebound parse")

    updated = 0
    for rel in fixtures:
        exp_path = os.path.join(data, rel[:-4] + SUFFIX)
        have = os.path.exists(exp_path)
        want = []
        if have:
            with open(exp_path, encoding="utf-8", newline="") as f:
                want = [line for line in f.read().split("\n") if line]
        if have and want == got[rel]:
            continue
        if args.update:
            print(f"UPDATE {rel[:-4]}{SUFFIX}" + ("" if have else " (new)"))
            print(diff(want, got[rel], rel, "now"))
            with open(exp_path, "w", encoding="utf-8", newline="") as f:
                f.write("".join(line + "\n" for line in got[rel]))
            updated += 1
            continue
        if not have:
            print(f"FAIL {rel}: no {os.path.basename(rel)[:-4]}{SUFFIX} (write it with --update)")
        else:
            print(f"FAIL {rel}")
            print(diff(want, got[rel], rel, "now"))
        failed.append(rel)

    if not args.no_crlf:
        # The same messages with CRLF line ends, under the same relative names.
        tmp = tempfile.mkdtemp(prefix="rebound-fixtures-")
        try:
            for rel in fixtures:
                os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
                with open(os.path.join(data, rel), "rb") as f, open(os.path.join(tmp, rel), "wb") as g:
                    g.write(to_crlf(f.read()))
            crlf, errors = run_parse(rebound, tmp, fixtures)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for e in errors:
            print(f"FAIL rebound parse (CRLF): {e}")
            failed.append("rebound parse (CRLF)")
        for rel in fixtures:
            if crlf[rel] != got[rel]:
                print(f"FAIL {rel}: read with CRLF line ends it gives other records")
                print(diff(got[rel], crlf[rel], rel, "read with CRLF line ends"))
                failed.append(rel + " (CRLF)")

    n = len(fixtures)
    if args.update:
        print(f"{n} fixtures, {updated} expected files written")
    if failed:
        bad = {f.split(" (")[0] for f in failed if f.split(" (")[0] in fixtures}
        other = [f for f in failed if f.split(" (")[0] not in fixtures]
        print(f"{len(bad)} of {n} fixtures failed" + (f", {len(other)} other problems" if other else ""))
        return 1
    if not args.update:
        print(f"{n} fixtures match" + ("" if args.no_crlf else ", also with CRLF line ends"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
