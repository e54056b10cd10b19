#!/usr/bin/python3
"""Rebound's DKIM signatures, checked by two independent verifiers (Python's
dkim package and OpenDKIM's opendkim-testmsg) against keys published by a
dnsmasq this test starts: RSA and Ed25519, 8-bit bodies, long lines, bare-LF
input, and the messages a verifier must reject (a body byte changed, a header
changed, a From added, a key the DNS does not publish).

usage: verify_test.py path/to/dkim_sign_tool      (exit 77: a tool is missing)
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dkim_verifiers as v  # noqa: E402

SIGN_TOOL = sys.argv[1]
DOMAIN = "example.test"

HEADER = (b"Received: from client.example (127.0.0.1) by relay.example with ESMTPSA\r\n"
          b"From: Alice <alice@example.test>\r\n"
          b"To: Bob <bob@example.net>\r\n"
          b"Date: Sun, 06 Dec 2026 22:00:00 +0000\r\n"
          b"Message-ID: <m1@example.test>\r\n")


def message(subject, extra_header, body):
    return HEADER + b"Subject: " + subject + b"\r\n" + extra_header + b"\r\n" + body


CASES = {
    "plain": message(b"hello", b"", b"Hello Bob.\r\n"),
    "8bit": message("你好 8-bit".encode(), b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    b"Content-Transfer-Encoding: 8bit\r\n",
                    "第一行：退信与签名。\r\nÀ bientôt, Grüße \xff\xfe raw bytes\r\n".encode("utf-8", "surrogateescape")
                    + b"\x80\xff binary-ish\r\n"),
    "long lines": message(b"a subject folded over\r\n\tthree\r\n lines",
                          b"List-Unsubscribe: <https://example.test/u/" + b"x" * 300 + b">\r\n"
                          b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                          b"a" * 998 + b"\r\n" + (b"word " * 2000) + b"\r\n" + b"short\r\n"),
    "whitespace": message(b"spaces   inside  \t", b"", b"trailing spaces   \r\n\r\n\r\n\r\n"),
    "empty body": message(b"nothing", b"", b""),
}


def sign(msg, keys):
    args = [SIGN_TOOL]
    for selector, algorithm, path in keys:
        args += [DOMAIN, selector, algorithm, path]
    r = subprocess.run(args, input=msg, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"dkim_sign_tool failed: {r.stderr.decode()}")
    return r.stdout


def crlf(msg):
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def main():
    try:
        v.require_tools()
    except v.Skip as e:
        print(f"SKIP: {e}")
        return 77

    failures = []
    with tempfile.TemporaryDirectory(prefix="rebound-dkim-") as work:
        rsa_path, rsa_p = v.make_key(work, "rsa", "rsa-sha256")
        ed_path, ed_p = v.make_key(work, "ed", "ed25519-sha256")
        _, other_p = v.make_key(work, "other", "rsa-sha256")
        both = [("rb1-rsa", "rsa-sha256", rsa_path), ("rb1-ed25519", "ed25519-sha256", ed_path)]
        records = [v.record("rb1-rsa", DOMAIN, "rsa-sha256", rsa_p),
                   v.record("rb1-ed25519", DOMAIN, "ed25519-sha256", ed_p),
                   # a selector whose record holds another key than the one that signs
                   v.record("wrongkey", DOMAIN, "rsa-sha256", other_p)]

        # (name, message as it reaches the verifier, expected result per signature)
        checks = []
        for name, msg in CASES.items():
            checks.append((name, sign(msg, both), [True, True]))
        # Bare LF in, CRLF on the wire (as the SMTP client sends it).
        lf = CASES["8bit"].replace(b"\r\n", b"\n")
        checks.append(("bare LF input, CRLF on the wire", crlf(sign(lf, both)), [True, True]))

        signed = sign(CASES["8bit"], both)
        i = signed.index("第一行".encode())
        checks.append(("one body byte changed", signed[:i] + bytes([signed[i] ^ 1]) + signed[i + 1:], [False, False]))
        checks.append(("subject changed", signed.replace("你好".encode(), b"hi", 1), [False, False]))
        fields, rest = v.split_header(signed)
        sigs = [f for f in fields if f.lower().startswith(b"dkim-signature:")]
        others = [f for f in fields if not f.lower().startswith(b"dkim-signature:")]
        checks.append(("a second From added", b"".join(sigs) + b"From: Mallory <m@evil.test>\r\n" + b"".join(others)
                       + rest, [False, False]))
        checks.append(("a selector the DNS does not publish",
                       sign(CASES["plain"], [("ghost", "rsa-sha256", rsa_path), ("ghost2", "ed25519-sha256", ed_path)]),
                       [False, False]))
        checks.append(("a published record with another key",
                       sign(CASES["plain"], [("wrongkey", "rsa-sha256", rsa_path)]), [False]))

        dns = v.Dns(records)
        try:
            python_results = [v.verify_python(msg, dns) for _, msg, _ in checks]
        finally:
            dns.close()
        opendkim_results = v.verify_opendkim([msg for _, msg, _ in checks], records, work)

        for (name, msg, expected), py, od in zip(checks, python_results, opendkim_results):
            ok = py == expected and od == expected
            print(f"{'ok  ' if ok else 'FAIL'} {name}: python dkim {py}, opendkim-testmsg {od}, expected {expected}")
            if not ok:
                failures.append(name)

    if failures:
        print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
        return 1
    print("all DKIM verification checks passed with both verifiers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
