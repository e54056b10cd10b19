#!/usr/bin/env python3
"""Runs `rebound parse --explain` over the hand-written bounces beside this
script: layouts the Sisimai corpus does not show, where the structured parts
(the DSN's Diagnostic-Code and Status, a per-format extractor) give no cause
or only a generic one and the human-readable text states it in plain words.

For each file the records must be exactly the recipients listed, in order,
each with the reason given; where a `decided_by` is given, the record must
say that part of the bounce decided (the generic prose reader,
src/bounce/prose.h). The negative files quote the returned message's body,
which says "user unknown" or "mailbox is full": that body must not decide.

A file whose wording is not English is checked only when the classifier
understands a probe sentence in that language (printed as skipped otherwise):
the wordings are the classifier's business, the layout is the reader's.

Usage: check_generic.py REBOUND_BINARY
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

NEAR = "prose:near-recipient"
HEADING = "prose:below-heading"

# file: [(recipient, reason, decided_by or None)], probe sentence or None
EXPECTED = {
    # A DSN whose Diagnostic-Code is generic (554 5.0.0 Delivery failed); the
    # text gives the cause on the address's line.
    "dsn-generic-code-over-quota.eml": ([("aoi@example.net", "mailboxfull", NEAR)], None),
    # The cause in the paragraph below the address; the reply answered RCPT.
    "dsn-cause-below-address.eml": ([("kenji@example.org", "userunknown", NEAR)], None),
    # The heading states the cause, the addresses are listed below it; the
    # DSN has a bare Status 5.0.0 and no Diagnostic-Code.
    "dsn-heading-lists-addresses.eml": ([("hana@example.jp", "mailboxfull", HEADING),
                                         ("taro@example.jp", "mailboxfull", HEADING)], None),
    # Exim's layout: its extractor finds the address and a generic reply
    # (554 5.0.0 Transaction failed); the paragraph below names the cause.
    # The copy of the message after Exim's marker says "mailbox is full" too.
    "exim-generic-reply-cause-below.eml": ([("nao@example.org", "mailboxfull", NEAR)], None),
    # A DSN without diagnostics for two recipients: the text's whole is the
    # same for both; each one's own line decides.
    "dsn-two-recipients-own-causes.eml": ([("sora@example.com", "mailboxfull", NEAR),
                                           ("riku@example.com", "mesgtoobig", NEAR)], None),
    # No DSN, no address line: the recipient is named in a sentence, the
    # cause in the next one, a footer speaks of spam. (The generic extractor
    # or the prose reader may decide.)
    "plain-sentence-names-recipient.eml": ([("midori@example.org", "mailboxfull", None)], None),
    # German, address in a "Field: value" line, the cause in the paragraph below.
    "plain-two-paragraph-layout-de.eml": ([("jonas@beispiel.de", "mailboxfull", None)],
                                          "Das Postfach des Empfängers ist voll."),
}

# file: (recipient, reasons it must not get)
NEGATIVE = {
    # No DSN; the returned message follows without a known marker, its
    # headers then a body that quotes "550 5.1.1 user unknown" for the
    # recipient's own address and says the mailbox is full.
    "negative-quoted-original-says-user-unknown.eml": ("yuki@example.net", {"userunknown", "filtered", "mailboxfull"}),
    # A generic DSN; the text part quotes the original after "Original
    # message follows:", whose body names the recipient with both causes.
    "negative-original-follows-heading.eml": ("ren@example.com", {"userunknown", "filtered", "mailboxfull"}),
}


def parse(rebound, name):
    run = subprocess.run([rebound, "parse", "--explain", "--format", "json", os.path.join(HERE, name)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return None, f"exit {run.returncode}: {run.stderr.strip()}"
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()], None


def understood(rebound, sentence):
    run = subprocess.run([rebound, "classify", "--format", "json", sentence], capture_output=True, text=True)
    try:
        return json.loads(run.stdout)["category"] != "unknown"
    except (ValueError, KeyError):
        return False


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    rebound = sys.argv[1]
    failures = []
    checked = 0
    for name, (wants, probe) in sorted(EXPECTED.items()):
        if probe and not understood(rebound, probe):
            print(f"skipped {name}: the classifier does not understand {probe!r}")
            continue
        records, err = parse(rebound, name)
        if err:
            failures.append(f"{name}: {err}")
            continue
        checked += 1
        got = [(r["recipient"], r["reason"], r.get("decided_by")) for r in records]
        if len(got) != len(wants):
            failures.append(f"{name}: {len(got)} records {got}, expected {len(wants)} {wants}")
            continue
        for (rcpt, reason, decided), g in zip(wants, got):
            if g[0] != rcpt or g[1] != reason or (decided and g[2] != decided):
                failures.append(f"{name}: got {g}, expected {(rcpt, reason, decided or '*')}")
            else:
                print(f"ok {name}: {g}")
    for name, (rcpt, forbidden) in sorted(NEGATIVE.items()):
        records, err = parse(rebound, name)
        if err:
            failures.append(f"{name}: {err}")
            continue
        checked += 1
        got = [(r["recipient"], r["reason"], r.get("decided_by")) for r in records]
        if [g[0] for g in got] != [rcpt]:
            failures.append(f"{name}: records {got}, expected one for {rcpt}")
        elif got[0][1] in forbidden:
            failures.append(f"{name}: the quoted original decided: {got[0]}")
        else:
            print(f"ok {name}: {got[0]} (not {sorted(forbidden)})")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} files checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
