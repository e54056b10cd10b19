#!/usr/bin/env python3
"""Runs `rebound parse` over the Japanese bounce fixtures beside this script.

For each fixture: the failed recipient must be found, every string of the
output must be free of undecoded text (U+FFFD, ESC, runs of '?'), and the
Japanese the fixture states (a subject, the reason) must come out as
Japanese. The reason found is printed, not checked: the Japanese cause
wordings are the classifier's business (issue 12), not the decoder's.

Usage: check_fixtures.py REBOUND_BINARY
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# file: (recipient, {field: Japanese text it must contain})
EXPECTED = {
    "docomo-unknown-user.eml": ("taro.yamada@docomo.ne.jp", {"original.subject": "【重要】ご予約の確認①"}),
    "au-ezweb-unlabelled.eml": ("hanako.sato@ezweb.ne.jp", {"original.subject": "今週のお知らせ"}),
    "softbank-mailbox-full.eml": ("jiro.suzuki@softbank.ne.jp", {"diagnostic": "メールボックスの容量を超えています"}),
    "domino-ja-user-unknown.eml": ("suzuki.ichiro@corp.example.co.jp",
                                   {"diagnostic": "Domino ディレクトリには見つかりません",
                                    "original.subject": "お見積りの件①(㈱サンプル商事)"}),
    "notes-ja-raw-subject.eml": ("takahashi.mai@u1.example.co.jp", {"diagnostic": "宛先のユーザーが見つかりません"}),
}

UNDECODED = re.compile("\ufffd|\x1b|\\?\\?")


def field(record, path):
    value = record
    for key in path.split("."):
        value = (value or {}).get(key)
    return value or ""


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    rebound = sys.argv[1]
    failures = []
    for name, (recipient, wants) in sorted(EXPECTED.items()):
        path = os.path.join(HERE, name)
        run = subprocess.run([rebound, "parse", "--format", "json", path], capture_output=True)
        out = run.stdout.decode("utf-8", errors="replace")
        records = [json.loads(line) for line in out.splitlines() if line.strip()]
        mine = [r for r in records if r.get("recipient") == recipient]
        if run.returncode != 0 or not mine:
            failures.append(f"{name}: no record for {recipient} (exit {run.returncode}; got "
                            f"{[r.get('recipient') for r in records]})")
            continue
        r = mine[0]
        print(f"{name}: {r['recipient']} reason={r.get('reason')} category={r.get('category')} "
              f"status={r.get('status')} kind={r.get('reporting_mta_kind')}")
        print(f"    diagnostic: {r.get('diagnostic')}")
        print(f"    original subject: {field(r, 'original.subject')}")
        for s in strings(r):
            if UNDECODED.search(s):
                failures.append(f"{name}: undecoded text in the output: {s!r}")
        for path_, text in wants.items():
            if text not in field(r, path_):
                failures.append(f"{name}: {path_} lacks {text!r}: {field(r, path_)!r}")
    for f in failures:
        print("FAIL", f)
    print(f"{len(EXPECTED) - len({f.split(':')[0] for f in failures})}/{len(EXPECTED)} fixtures pass")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
