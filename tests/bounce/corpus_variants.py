#!/usr/bin/python3
"""Metamorphic test of `rebound parse`: the same bounce, wrapped differently,
must read the same.

Every corpus message is rewritten by transformations that keep its meaning
(line ends, an mbox around it, gzip, header-name case, folding, unrelated
headers, the bounce text re-encoded as quoted-printable or base64, other MIME
boundary strings, trailing white space, a missing closing delimiter, a BOM,
the bounce's prose re-wrapped at another width, ...). Each variant's records must equal the original's in count and, per
record, in recipient, status, reply_code, reason, category, hard_bounce,
dsn_action and diagnostic (white space collapsed).

Held-out bounces of the same MTAs differ from the corpus in exactly this kind
of surface form, so a failure here is a fragility that the accuracy figures
on the corpus cannot show.

All variants are written to one temporary tree and read by ONE `rebound
parse` process (plus one for the originals), so the test costs a second or
two. Prints the pass count per transformation and each failure as file,
transformation and the first field that differs.

A transformation that does not apply to a message (no multipart for the
boundary change, no text part to re-encode) counts as n/a. A variant whose
change of output is legitimate is skipped, with its reason, in SKIPS below.

Usage: corpus_variants.py REBOUND_BINARY CORPUS_DIR [--only=T1,T2] [--verbose]
CORPUS_DIR is the Sisimai corpus (with maildir/) or a maildir itself.
Exits 0 when every non-expected failure is absent, 1 otherwise, 77 (CTest
skip) when the corpus is absent.
"""
import base64
import binascii
import collections
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

FIELDS = ("recipient", "status", "reply_code", "reason", "category", "hard_bounce", "dsn_action", "diagnostic")

# (transformation, corpus-relative file) -> why the variant may legitimately read differently.
SKIPS = {
}

# --- a small structural reader (just enough to rewrite messages in place) -----

def split_lines(data):
    """Lines with their ends kept (LF, CRLF or CR)."""
    return data.splitlines(keepends=True)


def bare(line):
    return line.rstrip(b"\r\n")


def eol_of(line, default=b"\n"):
    if line.endswith(b"\r\n"):
        return b"\r\n"
    if line.endswith(b"\n") or line.endswith(b"\r"):
        return line[len(bare(line)):]
    return default


class Field:
    def __init__(self, name, first, end):
        self.name = name        # bytes as written
        self.first = first      # index of its first line
        self.end = end          # index after its last (continuation) line


class Entity:
    """A message or MIME part over lines[start:end]."""

    def __init__(self):
        self.start = self.hend = self.body_start = self.end = 0
        self.fields = []
        self.ctype = b"text/plain"
        self.params = {}
        self.declared = False      # has a Content-Type field
        self.cte = b""
        self.boundary = None
        self.delims = []           # line indices of "--b" lines
        self.close = None          # line index of "--b--"
        self.parts = []
        self.embedded = None       # message/rfc822 body
        self.returned = False      # inside the returned message


def field_value(lines, f):
    raw = b"".join(bare(l) for l in lines[f.first:f.end])
    return raw.split(b":", 1)[1].strip() if b":" in raw else b""


def parse_params(value):
    """'type/sub; a=b; c="d"' -> (type lower, {name lower: value})."""
    parts = []
    cur, q, i = b"", False, 0
    while i < len(value):
        c = value[i:i + 1]
        if q and c == b"\\" and i + 1 < len(value):
            cur += value[i:i + 2]
            i += 2
            continue
        if c == b'"':
            q = not q
        if c == b";" and not q:
            parts.append(cur)
            cur = b""
        else:
            cur += c
        i += 1
    parts.append(cur)
    ctype = parts[0].strip().lower()
    params = {}
    for p in parts[1:]:
        if b"=" not in p:
            continue
        k, v = p.split(b"=", 1)
        v = v.strip()
        if v.startswith(b'"') and v.endswith(b'"') and len(v) >= 2:
            v = re.sub(rb"\\(.)", rb"\1", v[1:-1])
        params[k.strip().lower()] = v
    return ctype, params


def parse_entity(lines, start, end, returned=False, depth=0):
    e = Entity()
    e.start, e.end, e.returned = start, end, returned
    i = start
    if i < end and lines[i].startswith(b"From ") and depth == 0:
        i += 1  # mbox postmark
    while i < end:
        b_ = bare(lines[i])
        if b_ == b"":
            break
        if b_[:1] in (b" ", b"\t") and e.fields:
            e.fields[-1].end = i + 1
        elif b":" in b_:
            e.fields.append(Field(b_.split(b":", 1)[0], i, i + 1))
        i += 1
    e.hend = i
    # a header line that is neither a field nor a continuation: readers
    # differ on whether the body starts there
    e.malformed = any(b":" not in bare(lines[j]) and bare(lines[j])[:1] not in (b" ", b"\t")
                      for j in range(start + (1 if depth == 0 and lines[start:start + 1] and
                                              lines[start].startswith(b"From ") else 0), i))
    e.body_start = min(i + 1, end)
    for f in e.fields:
        n = f.name.strip().lower()
        if n == b"content-type" and not e.declared:
            e.declared = True
            e.ctype, e.params = parse_params(field_value(lines, f))
        elif n == b"content-transfer-encoding" and not e.cte:
            e.cte = field_value(lines, f).lower()
    if depth > 20:
        return e
    if e.ctype.startswith(b"multipart/") and e.params.get(b"boundary"):
        e.boundary = e.params[b"boundary"]
        d, c = b"--" + e.boundary, b"--" + e.boundary + b"--"
        for j in range(e.body_start, end):
            s = bare(lines[j]).rstrip(b" \t")
            if s == c:
                e.close = j
                break
            if s == d:
                e.delims.append(j)
        stop = e.close if e.close is not None else end
        for k, j in enumerate(e.delims):
            nxt = e.delims[k + 1] if k + 1 < len(e.delims) else stop
            e.parts.append(parse_entity(lines, j + 1, nxt, returned, depth + 1))
    elif e.ctype in (b"message/rfc822", b"message/global") and e.cte in (b"", b"7bit", b"8bit", b"binary"):
        e.embedded = parse_entity(lines, e.body_start, end, True, depth + 1)
    return e


def walk(e):
    yield e
    for p in e.parts:
        yield from walk(p)
    if e.embedded:
        yield from walk(e.embedded)


class Message:
    def __init__(self, data):
        self.data = data
        self.lines = split_lines(data)
        self.eol = eol_of(self.lines[0]) if self.lines else b"\n"
        self.root = parse_entity(self.lines, 0, len(self.lines))
        self.several = sum(1 for l in self.lines[1:] if l.startswith(b"From ") and is_postmark(l)) > 0

    def join(self, lines):
        return b"".join(lines)


def is_postmark(line):
    return re.match(rb"From \S+\s+(Mon|Tue|Wed|Thu|Fri|Sat|Sun) .* \d\d:\d\d:\d\d \d{4}\s*$", line) is not None


class NotApplicable(Exception):
    pass


class Ambiguous(NotApplicable):
    """The variant would not have one meaning: reported as SKIP with the reason."""


# --- transformations: bytes -> bytes (raise NotApplicable) --------------------

def t_crlf(data, m):
    out = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if out == data:
        raise NotApplicable("already CRLF")
    return out


def t_lf(data, m):
    if b"\r\n" not in data:
        raise NotApplicable("no CRLF")
    return data.replace(b"\r\n", b"\n")


def t_cr(data, m):
    body = data.replace(b"\r\n", b"\n")
    if b"\r" in body:
        raise NotApplicable("has bare CR inside lines (would be ambiguous)")
    return body.replace(b"\n", b"\r")


def t_gzip(data, m):
    return gzip.compress(data, mtime=0)


def t_bom(data, m):
    return b"\xef\xbb\xbf" + data


def t_no_final_eol(data, m):
    out = data.rstrip(b"\r\n")
    if out == data:
        raise NotApplicable("no final line end")
    return out


FILLER_BEFORE = [
    b"From alice@example.org Mon Jan  5 10:00:00 2026",
    b"From: Alice <alice@example.org>",
    b"To: bob@example.net",
    b"Subject: lunch on Friday",
    b"Date: Mon, 5 Jan 2026 10:00:00 +0000",
    b"Message-ID: <filler-1@example.org>",
    b"",
    b"Hi Bob,",
    b">From the kitchen: the soup is ready at noon.",
    b"",
    b">From what I hear, Carol comes too.",
    b"Alice",
    b"",
]
FILLER_AFTER = [
    b"From carol@example.org Wed Jan  7 12:00:00 2026",
    b"From: Carol <carol@example.org>",
    b"To: bob@example.net",
    b"Subject: minutes of the meeting",
    b"Date: Wed, 7 Jan 2026 12:00:00 +0000",
    b"Message-ID: <filler-2@example.org>",
    b"",
    b"Bob,",
    b"",
    b">From the minutes: nothing to report.",
    b"Carol",
]


def t_mbox(data, m):
    eol = m.eol
    out = [l + eol for l in FILLER_BEFORE]
    if data.startswith(b"From "):
        body = data  # already an mbox (maybe of several messages): kept as it is
    else:
        lines = split_lines(data)
        quoted = [(b">" + l if re.match(rb">*From ", l) else l) for l in lines]
        body = b"From MAILER-DAEMON Tue Jan  6 11:00:00 2026" + eol + b"".join(quoted)
    if not body.endswith((b"\n", b"\r")):
        body += eol
    if not body.endswith(eol + eol):
        body += eol
    out.append(body)
    out += [l + eol for l in FILLER_AFTER]
    return b"".join(out)


def rewrite_field_names(m, fn, include_returned=True):
    lines = list(m.lines)
    changed = False
    for e in walk(m.root):
        if e.returned and not include_returned:
            continue
        for f in e.fields:
            old = lines[f.first]
            name = old.split(b":", 1)[0]
            new = fn(name) + old[len(name):]
            if new != old:
                lines[f.first] = new
                changed = True
    if not changed:
        raise NotApplicable("no field name to change")
    return b"".join(lines)


def t_hcase_lower(data, m):
    return rewrite_field_names(m, lambda n: n.lower())


def t_hcase_upper(data, m):
    return rewrite_field_names(m, lambda n: n.upper())


def t_hcase_mixed(data, m):
    # content-type, CONTENT-TRANSFER-ENCODING, and every other name with its case swapped
    def f(n):
        low = n.lower()
        if low == b"content-type":
            return low
        if low == b"content-transfer-encoding":
            return n.upper()
        return n.swapcase()
    return rewrite_field_names(m, f)


def delivery_status_parts(m):
    return [e for e in walk(m.root) if e.ctype in (b"message/delivery-status", b"message/global-delivery-status")
            and not e.returned]


def t_dsn_field_case(data, m):
    """DSN field names (RFC 3464 uses RFC 822 field syntax: case-insensitive) in lower case."""
    parts = delivery_status_parts(m)
    if not parts:
        raise NotApplicable("no delivery-status part")
    lines = list(m.lines)
    changed = False
    for e in parts:
        for j in range(e.body_start, e.end):
            mt = re.match(rb"([A-Za-z][A-Za-z0-9-]*)(\s*:)", lines[j])
            if mt:
                new = mt.group(1).lower() + lines[j][len(mt.group(1)):]
                changed |= new != lines[j]
                lines[j] = new
    if not changed:
        raise NotApplicable("no field name to change")
    return b"".join(lines)


def fold_value(text, width, eol):
    """Folds one unfolded field at white space so lines stay near width (the
    white space run starts the continuation line, so unfolding gives text back)."""
    words = [w for w in re.split(rb"([ \t]+)", text) if w]
    out, line = [], b""
    for k, w in enumerate(words):
        if w.strip(b" \t") == b"":  # a white space run: a fold point
            # (never before trailing white space: a line of only white space
            # is no valid continuation)
            if len(line) >= width and k + 1 < len(words):
                out.append(line)
                line = w
            else:
                line += w
            continue
        line += w
    out.append(line)
    return eol.join(out) + eol


def refold(m, fields_of, width):
    lines = list(m.lines)
    changed = False
    for first, end in fields_of(m):
        # unfold: a line end followed by white space is removed (the space stays)
        unfolded = b"".join([bare(lines[first])] + [bare(l) for l in lines[first + 1:end]])
        eol = eol_of(lines[end - 1], m.eol)
        new = fold_value(unfolded, width, eol)
        if new != b"".join(lines[first:end]):
            lines[first] = new
            for j in range(first + 1, end):
                lines[j] = b""
            changed = True
    if not changed:
        raise NotApplicable("nothing to fold")
    return b"".join(lines)


def header_fields(m):
    for e in walk(m.root):
        for f in e.fields:
            yield f.first, f.end


def t_refold(data, m):
    """Every header field (message, parts, returned message) unfolded and folded again at ~30 columns."""
    return refold(m, header_fields, 30)


def t_unfold(data, m):
    """Every folded header field on one line."""
    return refold(m, header_fields, 100000)


def dsn_fields(m):
    for e in delivery_status_parts(m):
        cur = None
        for j in range(e.body_start, e.end):
            l = bare(m.lines[j])
            if l[:1] in (b" ", b"\t") and cur is not None:
                cur[1] = j + 1
                continue
            if cur:
                yield tuple(cur)
                cur = None
            if re.match(rb"[A-Za-z][A-Za-z0-9-]*\s*:", l):
                cur = [j, j + 1]
        if cur:
            yield tuple(cur)


def t_dsn_refold(data, m):
    """Delivery-status fields (Diagnostic-Code ...) folded again at ~30 columns."""
    if not delivery_status_parts(m):
        raise NotApplicable("no delivery-status part")
    return refold(m, dsn_fields, 30)


EXTRA_HEADERS = [
    b"Received: from relay2.example.org (relay2.example.org [192.0.2.25])",
    b"\tby mx1.example.net (Postfix) with ESMTPS id 4AbCdE123",
    b"\tfor <postmaster@example.net>; Mon, 5 Jan 2026 10:00:01 +0000 (UTC)",
    b"Received: from localhost (localhost [127.0.0.1])",
    b"\tby relay2.example.org with LMTP id 9zYxW",
    b"\tMon, 5 Jan 2026 10:00:00 +0000",
    b"X-Spam-Checker-Version: SpamAssassin 3.4.6 (2021-04-09) on mx1.example.net",
    b"X-Spam-Level: ",
    b"X-Spam-Status: No, score=-1.9 required=5.0 tests=BAYES_00,",
    b"\tSPF_HELO_NONE,SPF_PASS autolearn=ham autolearn_force=no version=3.4.6",
    b"X-Virus-Scanned: amavisd-new at example.net",
    b"X-Spam-Flag: NO",
]


def t_headers_before(data, m):
    lines = list(m.lines)
    at = 1 if lines and lines[0].startswith(b"From ") else 0
    lines.insert(at, b"".join(l + m.eol for l in EXTRA_HEADERS))
    return b"".join(lines)


def t_headers_after(data, m):
    r = m.root
    if r.hend >= len(m.lines):
        raise NotApplicable("no header/body separator")
    lines = list(m.lines)
    lines.insert(r.hend, b"".join(l + m.eol for l in EXTRA_HEADERS))
    return b"".join(lines)


def first_text_plain(m):
    r = m.root
    if not r.declared:
        raise NotApplicable("body not MIME-declared (no Content-Type)")
    for e in walk(r):
        if e.returned:
            continue
        if e.ctype == b"text/plain" and not e.parts:
            if e.cte not in (b"", b"7bit", b"8bit", b"binary", b"quoted-printable", b"base64"):
                raise NotApplicable("unknown transfer encoding")
            if e.malformed:
                raise Ambiguous("the part's header has a line that is no field: where its body starts is "
                                "reader-defined")
            return e
        if e.ctype.startswith(b"multipart/") and e.boundary and not e.delims:
            raise NotApplicable("multipart whose boundary never appears")
    raise NotApplicable("no text/plain part")


def decoded_body(m, e):
    """The part body's bytes, decoded. The line end before a following
    delimiter belongs to the delimiter (RFC 2046), so it is left out."""
    body = b"".join(m.lines[e.body_start:e.end])
    if e.end < len(m.lines):
        for end_ in (b"\r\n", b"\n", b"\r"):
            if body.endswith(end_):
                body = body[:-len(end_)]
                break
    if e.cte == b"base64":
        try:
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body))
        except binascii.Error:
            raise NotApplicable("undecodable base64")
    if e.cte == b"quoted-printable":
        return binascii.a2b_qp(body.replace(b"\r\n", b"\n")).replace(b"\n", m.eol)
    return body


def set_cte(m, e, lines, value):
    for f in e.fields:
        if f.name.strip().lower() == b"content-transfer-encoding":
            lines[f.first] = b"Content-Transfer-Encoding: " + value + m.eol
            for j in range(f.first + 1, f.end):
                lines[j] = b""
            return
    # a new field right after Content-Type (where MTAs write it), else at the
    # end of the header block
    ct = next((f for f in e.fields if f.name.strip().lower() == b"content-type"), None)
    if ct is not None:
        lines[ct.end - 1] = lines[ct.end - 1] + b"Content-Transfer-Encoding: " + value + m.eol
        return
    if e.hend >= len(lines):
        raise NotApplicable("no header/body separator")
    lines[e.hend] = b"Content-Transfer-Encoding: " + value + m.eol + lines[e.hend]


def reencode(data, m, kind):
    e = first_text_plain(m)
    if e.body_start >= e.end:
        raise NotApplicable("empty text part")
    text = decoded_body(m, e)
    if not text.strip():
        raise NotApplicable("empty text part")
    eol = m.eol
    if kind == b"base64":
        canon = re.sub(rb"\r\n|\r|\n", b"\r\n", text)  # canonical form before base64 (RFC 2045 6.8)
        enc = base64.b64encode(canon)
        enc = eol.join(enc[i:i + 76] for i in range(0, len(enc), 76))
    else:
        out = []
        for ln in re.split(rb"\r\n|\r|\n", text):
            q = binascii.b2a_qp(ln, quotetabs=False, istext=False, header=False)
            out.append(q.replace(b"=\n", b"=" + eol))
        enc = eol.join(out)
    lines = list(m.lines)
    set_cte(m, e, lines, kind)
    lines[e.body_start] = enc + eol
    for j in range(e.body_start + 1, e.end):
        lines[j] = b""
    return b"".join(lines)


def t_qp(data, m):
    return reencode(data, m, b"quoted-printable")


def t_base64(data, m):
    return reencode(data, m, b"base64")


def replace_boundaries(m, make):
    multis = [e for e in walk(m.root) if e.boundary and e.delims]
    if not multis:
        raise NotApplicable("no multipart")
    lines = list(m.lines)
    for n, e in enumerate(multis):
        new = make(n)
        if new in m.data:
            raise NotApplicable("new boundary occurs in the message")
        ct = next(f for f in e.fields if f.name.strip().lower() == b"content-type")
        head = b"".join(lines[ct.first:ct.end])
        old = e.boundary
        quoted = re.compile(rb'(boundary\s*=\s*)("(?:[^"\\]|\\.)*"|[^;\s]+)', re.I)
        mt = quoted.search(head)
        if not mt:
            raise NotApplicable("boundary parameter not found")
        head = head[:mt.start(2)] + b'"' + new + b'"' + head[mt.end(2):]
        lines[ct.first] = head
        for j in range(ct.first + 1, ct.end):
            lines[j] = b""
        for j in e.delims + ([e.close] if e.close is not None else []):
            l = lines[j]
            lines[j] = l.replace(b"--" + old, b"--" + new, 1)
    return b"".join(lines)


def t_boundary_token(data, m):
    return replace_boundaries(m, lambda n: b"NextPart%d_000_0001_01DA0B1C.2D3E4F50" % n)


def t_boundary_special(data, m):
    # every bchar class RFC 2046 allows that needs quoting, and a space inside
    return replace_boundaries(m, lambda n: b"=_Part_%d.1:2'(x)+,/?=_ b" % n)


def t_boundary_like_dashes(data, m):
    # a boundary that itself starts with dashes, as many MTAs write
    return replace_boundaries(m, lambda n: b"----=_NextPart_%d_=_.:" % n)


def t_trailing_ws(data, m):
    """A space or tab after every non-blank line (blank lines stay blank: a
    white-space-only line would be a folded header, not the separator)."""
    out = []
    for i, l in enumerate(m.lines):
        b_ = bare(l)
        if b_ == b"" or (l.startswith(b"From ") and (i == 0 or is_postmark(l))):  # mbox structure
            out.append(l)
        else:
            out.append(b_ + (b" " if i % 2 else b" \t") + l[len(b_):])
    return b"".join(out)


def t_no_close_delim(data, m):
    """The outermost multipart's closing delimiter (and the epilogue) cut off."""
    r = m.root
    if r.boundary is None or r.close is None:
        raise NotApplicable("no closing delimiter")
    lines = list(m.lines[:r.close])
    return b"".join(lines)


def t_mime_value_case(data, m):
    """Media types, parameter names and transfer encodings in upper case
    (all case-insensitive: RFC 2045 5.1, 6.1): MULTIPART/REPORT;
    REPORT-TYPE=DELIVERY-STATUS; BOUNDARY="..." (the boundary value itself kept)."""
    lines = list(m.lines)
    changed = False
    for e in walk(m.root):
        for f in e.fields:
            n = f.name.strip().lower()
            if n not in (b"content-type", b"content-transfer-encoding"):
                continue
            text = b"".join(lines[f.first:f.end])
            name_len = len(f.name) + 1
            head, value = text[:name_len], text[name_len:]
            if n == b"content-transfer-encoding":
                new = head + value.upper()
            else:
                # upper-case everything outside quoted strings, except the boundary's value
                out, q, k = b"", False, 0
                while k < len(value):
                    c = value[k:k + 1]
                    if c == b'"':
                        q = not q
                    out += c if q else c.upper()
                    k += 1
                new = head + out
                if e.boundary is not None:
                    mt = re.search(rb'(BOUNDARY\s*=\s*)([^;"\s]+)', new)
                    if mt:  # an unquoted boundary keeps its case
                        new = new[:mt.start(2)] + e.boundary + new[mt.end(2):]
            if new != text:
                lines[f.first] = new
                for j in range(f.first + 1, f.end):
                    lines[j] = b""
                changed = True
    if not changed:
        raise NotApplicable("no MIME field to change")
    return b"".join(lines)


def t_param_quote(data, m):
    """Every unquoted Content-Type parameter value quoted (a token and the
    same quoted-string mean the same: RFC 2045 5.1)."""
    lines = list(m.lines)
    changed = False
    for e in walk(m.root):
        for f in e.fields:
            if f.name.strip().lower() != b"content-type":
                continue
            text = b"".join(lines[f.first:f.end])
            new = re.sub(rb'(;\s*[A-Za-z0-9-]+\s*=\s*)([^";\s]+)', rb'\1"\2"', text)
            if new != text:
                lines[f.first] = new
                for j in range(f.first + 1, f.end):
                    lines[j] = b""
                changed = True
    if not changed:
        raise NotApplicable("no unquoted parameter")
    return b"".join(lines)


def colon_spacing(m, sep, include_dsn):
    lines = list(m.lines)
    firsts = [f.first for e in walk(m.root) for f in e.fields]
    if include_dsn:
        firsts += [first for first, _ in dsn_fields(m)]
    changed = False
    for j in firsts:
        mt = re.match(rb"([^:\s]+):[ \t]*", lines[j])
        if not mt:
            continue
        rest = lines[j][mt.end():]
        if bare(rest) == b"":
            continue  # an empty first line: the value is on the continuation lines
        new = mt.group(1) + b":" + sep + rest
        if new != lines[j]:
            lines[j] = new
            changed = True
    if not changed:
        raise NotApplicable("nothing to change")
    return b"".join(lines)


def t_colon_nospace(data, m):
    """No space after the colon of any header or DSN field ("Subject:x" is valid)."""
    return colon_spacing(m, b"", True)


def t_colon_tab(data, m):
    """A tab and spaces after the colon of every header and DSN field."""
    return colon_spacing(m, b"\t  ", True)


def t_charset_utf8(data, m):
    """The first text/plain part, when it is not ASCII, decoded from its
    declared charset and sent as UTF-8 (base64), the charset parameter
    changed to match."""
    e = first_text_plain(m)
    charset = e.params.get(b"charset", b"").decode("ascii", "replace").lower()
    if not charset or charset in ("us-ascii", "utf-8", "utf8"):
        raise NotApplicable("ASCII or UTF-8 already")
    text = decoded_body(m, e)
    if all(c < 128 for c in text) and b"\x1b" not in text:
        raise NotApplicable("pure ASCII text")
    try:
        utf8 = text.decode(charset).encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        raise NotApplicable("charset Python does not read strictly: " + charset)
    canon = re.sub(rb"\r\n|\r|\n", b"\r\n", utf8)
    enc = base64.b64encode(canon)
    enc = m.eol.join(enc[i:i + 76] for i in range(0, len(enc), 76))
    lines = list(m.lines)
    set_cte(m, e, lines, b"base64")
    ct = next(f for f in e.fields if f.name.strip().lower() == b"content-type")
    head = b"".join(lines[ct.first:ct.end])
    head = re.sub(rb'(charset\s*=\s*)("[^"]*"|[^;\s]+)', rb'\1"utf-8"', head, count=1, flags=re.I)
    lines[ct.first] = head
    for j in range(ct.first + 1, ct.end):
        lines[j] = b""
    lines[e.body_start] = enc + m.eol
    for j in range(e.body_start + 1, e.end):
        lines[j] = b""
    return b"".join(lines)


def encode_2047(value, kind):
    if kind == b"B":
        return b"=?UTF-8?B?" + base64.b64encode(value) + b"?="
    q = b"".join(bytes([c]) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else
                 (b"_" if c == 32 else b"=%02X" % c) for c in value)
    return b"=?utf-8?q?" + q + b"?="


def subject_2047(m, kind):
    r = m.root
    f = next((f for f in r.fields if f.name.strip().lower() == b"subject"), None)
    if f is None:
        raise NotApplicable("no Subject")
    value = field_value(m.lines, f)
    if not value or b"=?" in value or any(c >= 128 for c in value):
        raise NotApplicable("Subject empty, encoded already or 8-bit")
    # unfolded value, as one encoded-word per ~40 bytes (adjacent words join without space)
    unfolded = b"".join([bare(m.lines[f.first])] + [bare(l) for l in m.lines[f.first + 1:f.end]])
    value = unfolded.split(b":", 1)[1].lstrip(b" \t")
    words = [encode_2047(value[i:i + 40], kind) for i in range(0, len(value), 40)]
    lines = list(m.lines)
    lines[f.first] = f.name + b": " + (m.eol + b" ").join(words) + m.eol
    for j in range(f.first + 1, f.end):
        lines[j] = b""
    return b"".join(lines)


def t_subject_b(data, m):
    """The Subject as RFC 2047 B-encoded words (the same text)."""
    return subject_2047(m, b"B")


def t_subject_q(data, m):
    """The Subject as RFC 2047 Q-encoded words (the same text)."""
    return subject_2047(m, b"Q")


def t_preamble(data, m, drop):
    r = m.root
    if r.boundary is None or not r.delims:
        raise NotApplicable("no multipart")
    lines = list(m.lines)
    first = r.delims[0]
    if drop:
        if first == r.body_start:
            raise NotApplicable("no preamble")
        for j in range(r.body_start, first):
            lines[j] = b""
    else:
        lines[first] = (b"This is a multi-part message in MIME format." + m.eol + m.eol +
                        b"Your mail client does not read MIME." + m.eol + m.eol + lines[first])
    return b"".join(lines)


def t_preamble_drop(data, m):
    """The top multipart's preamble removed (MIME readers ignore it)."""
    return t_preamble(data, m, True)


def t_preamble_add(data, m):
    """A preamble written before the first part (as many MUAs write)."""
    return t_preamble(data, m, False)


def t_param_order(data, m):
    """Content-Type parameters of every multipart in reverse order (boundary first)."""
    lines = list(m.lines)
    changed = False
    for e in walk(m.root):
        if e.boundary is None:
            continue
        f = next(f for f in e.fields if f.name.strip().lower() == b"content-type")
        text = b"".join(bare(l) for l in lines[f.first:f.end])
        value = text.split(b":", 1)[1]
        parts = [p.strip() for p in re.findall(rb'(?:[^;"]|"(?:[^"\\]|\\.)*")+', value)]
        if len(parts) < 3:
            continue
        new = f.name + b": " + b"; ".join([parts[0]] + parts[1:][::-1]) + m.eol
        lines[f.first] = new
        for j in range(f.first + 1, f.end):
            lines[j] = b""
        changed = True
    if not changed:
        raise NotApplicable("no multipart with two parameters")
    return b"".join(lines)


def t_dsn_base64(data, m):
    """The delivery-status part sent base64-encoded (RFC 6533 allows it for
    the global form; MTAs that encode every part do it to the plain one)."""
    parts = delivery_status_parts(m)
    if not parts:
        raise NotApplicable("no delivery-status part")
    e = parts[0]
    if e.cte not in (b"", b"7bit", b"8bit") or e.body_start >= e.end:
        raise NotApplicable("encoded already or empty")
    if e.malformed:
        raise Ambiguous("the part's header has a line that is no field: where its body starts is reader-defined")
    text = decoded_body(m, e)
    enc = base64.b64encode(re.sub(rb"\r\n|\r|\n", b"\r\n", text))
    enc = m.eol.join(enc[i:i + 76] for i in range(0, len(enc), 76))
    lines = list(m.lines)
    set_cte(m, e, lines, b"base64")
    lines[e.body_start] = enc + m.eol
    for j in range(e.body_start + 1, e.end):
        lines[j] = b""
    return b"".join(lines)


def t_mixed_eol(data, m):
    """Header lines end in LF, body lines in CRLF (as a file mangled by a
    gateway looks)."""
    r = m.root
    if r.hend >= len(m.lines):
        raise NotApplicable("no body")
    head = b"".join(m.lines[:r.hend + 1]).replace(b"\r\n", b"\n")
    body = b"".join(m.lines[r.hend + 1:]).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return head + body


def t_header_sort(data, m):
    """The top-level header fields sorted by name (stable: fields of one name,
    such as the Received trace, keep their order)."""
    r = m.root
    if len(r.fields) < 2 or r.hend >= len(m.lines):
        raise NotApplicable("nothing to sort")
    blocks = [b"".join(m.lines[f.first:f.end]) for f in r.fields]
    # lines of the header that belong to no field (a malformed line) stay first
    covered = {j for f in r.fields for j in range(f.first, f.end)}
    start = 1 if m.lines[0].startswith(b"From ") else 0
    loose = [m.lines[j] for j in range(start, r.hend) if j not in covered]
    order = sorted(range(len(blocks)), key=lambda k: r.fields[k].name.strip().lower())
    head = m.lines[:start] + loose + [blocks[k] for k in order]
    return b"".join(head + m.lines[r.hend:])


def dsn_addresses(m, fn):
    parts = delivery_status_parts(m)
    if not parts:
        raise NotApplicable("no delivery-status part")
    lines = list(m.lines)
    changed = False
    for first, end in dsn_fields(m):
        mt = re.match(rb"((?:final|original)-recipient\s*:\s*rfc822\s*;\s*)<?([^\s<>]+@[^\s<>]+?)>?(\s*)$",
                      bare(lines[first]), re.I)
        if not mt or end != first + 1:
            continue
        new = mt.group(1) + fn(mt.group(2)) + mt.group(3) + eol_of(lines[first], m.eol)
        if new != lines[first]:
            lines[first] = new
            changed = True
    if not changed:
        raise NotApplicable("no rfc822 recipient field")
    return b"".join(lines)


def t_dsn_addr_case(data, m):
    """Final-/Original-Recipient addresses in upper case (records are lower case)."""
    return dsn_addresses(m, lambda a: a.upper())


def t_dsn_addr_angle(data, m):
    """Final-/Original-Recipient addresses in angle brackets, as many MTAs write them."""
    return dsn_addresses(m, lambda a: b"<" + a + b">")


def rename_type(m, old, new):
    lines = list(m.lines)
    changed = False
    for e in walk(m.root):
        if e.ctype != old:
            continue
        f = next(f for f in e.fields if f.name.strip().lower() == b"content-type")
        text = lines[f.first]
        mt = re.search(re.escape(old), text, re.I)
        if mt:
            lines[f.first] = text[:mt.start()] + new + text[mt.end():]
            changed = True
    if not changed:
        raise NotApplicable("no " + old.decode() + " part")
    return b"".join(lines)


def t_dsn_global(data, m):
    """message/delivery-status as message/global-delivery-status (RFC 6533:
    the same fields, as an SMTPUTF8 MTA sends them)."""
    return rename_type(m, b"message/delivery-status", b"message/global-delivery-status")


def t_rfc822_global(data, m):
    """The returned message/rfc822 as message/global (RFC 6532)."""
    return rename_type(m, b"message/rfc822", b"message/global")


def t_alt_wrap(data, m):
    """The first text/plain part wrapped in multipart/alternative with an HTML
    rendering of the same text after it (as Exchange and webmail write)."""
    e = first_text_plain(m)
    if e is m.root:
        raise NotApplicable("single-part message")
    if e.body_start >= e.end:
        raise NotApplicable("empty text part")
    text = decoded_body(m, e)
    eol = m.eol
    html = (b"<html><body><pre>" + text.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;") +
            b"</pre></body></html>")
    enc = base64.b64encode(re.sub(rb"\r\n|\r|\n", b"\r\n", html))
    enc = eol.join(enc[i:i + 76] for i in range(0, len(enc), 76))
    alt = b"alt-0001.23456789"
    if alt in m.data:
        raise NotApplicable("boundary collides")
    charset = e.params.get(b"charset")
    lines = list(m.lines)
    part = b"".join(lines[e.start:e.end])
    if part.endswith(eol):
        part = part[:-len(eol)]
    lines[e.start] = (b"Content-Type: multipart/alternative; boundary=\"" + alt + b"\"" + eol + eol +
                      b"--" + alt + eol + part + eol +
                      b"--" + alt + eol +
                      b"Content-Type: text/html" + (b"; charset=\"" + charset + b"\"" if charset else b"") + eol +
                      b"Content-Transfer-Encoding: base64" + eol + eol + enc + eol +
                      b"--" + alt + b"--" + eol)
    for j in range(e.start + 1, e.end):
        lines[j] = b""
    return b"".join(lines)


def t_disposition(data, m):
    """Content-Disposition on the report's parts: inline for the text, attachment
    (with a file name) for the delivery-status and the returned message, as
    Exchange writes them; a presentation hint that changes no meaning (RFC 2183)."""
    lines = list(m.lines)
    changed = False
    for e in walk(m.root):
        if e.returned or e is m.root or any(f.name.strip().lower() == b"content-disposition" for f in e.fields):
            continue
        ct = next((f for f in e.fields if f.name.strip().lower() == b"content-type"), None)
        if ct is None:
            continue
        if e.ctype == b"text/plain":
            disp = b"inline"
        elif e.ctype in (b"message/delivery-status", b"message/global-delivery-status"):
            disp = b'attachment; filename="details.txt"'
        elif e.ctype in (b"message/rfc822", b"text/rfc822-headers", b"message/global"):
            disp = b'attachment; filename="original.eml"'
        else:
            continue
        lines[ct.end - 1] += b"Content-Disposition: " + disp + m.eol
        changed = True
    if not changed:
        raise NotApplicable("no part to mark")
    return b"".join(lines)


def t_mixed_wrap(data, m):
    """The whole MIME body wrapped as the only part of a multipart/mixed (as
    gateways that may add a footer do): the report's own MIME fields move
    into that part."""
    r = m.root
    if not r.declared or r.hend >= len(m.lines):
        raise NotApplicable("body not MIME-declared")
    eol = m.eol
    outer = b"mixed-0001.98765"
    if outer in m.data:
        raise NotApplicable("boundary collides")
    lines = list(m.lines)
    moved = []
    for f in r.fields:
        if f.name.strip().lower() in (b"content-type", b"content-transfer-encoding", b"content-disposition"):
            moved.append(b"".join(lines[f.first:f.end]))
            for j in range(f.first, f.end):
                lines[j] = b""
    head = b"".join(lines[:r.hend])
    body = b"".join(lines[r.hend + 1:])
    if not body.endswith((b"\n", b"\r")):
        body += eol
    return (head + b"Content-Type: multipart/mixed; boundary=\"" + outer + b"\"" + eol + eol +
            b"--" + outer + eol + b"".join(moved) + eol + body + b"--" + outer + b"--" + eol)


class Renamed(bytes):
    """A variant whose recipients were renamed: the records must follow
    (renames maps each old address to its new one, lower case)."""
    renames = {}


def rename_recipients(data, m, records, local_for):
    """Every recipient of the original's records renamed throughout the message
    (case-insensitively: DSN, text, headers, returned message): a held-out
    bounce names other addresses, of other shapes."""
    addrs = []
    for r in records:
        a = r["recipient"] or ""
        if "@" in a and a not in addrs:
            addrs.append(a)
    if not addrs:
        raise NotApplicable("no recipient address")
    # an encoded part could name the address where a byte replacement cannot reach
    if any(e.cte in (b"base64", b"quoted-printable") for e in walk(m.root) if not e.returned):
        raise NotApplicable("an encoded bounce part")
    if not m.root.declared and re.search(rb"(?im)^content-transfer-encoding:\s*(base64|quoted)", data):
        raise NotApplicable("encoded text in an undeclared body")
    out = data
    renames = {}
    for i, a in enumerate(addrs):
        local, domain = a.rsplit("@", 1)
        new = local_for(local, i) + "@" + domain if local_for.__code__.co_argcount == 2 else local_for(local, domain, i)
        pat = re.compile(re.escape(a.encode()), re.I)
        if not pat.search(out):
            raise NotApplicable("a recipient not written out in the message (VERP, derived)")
        # the new address must not contain an old one (the records would be ambiguous)
        out = pat.sub(new.encode().replace(b"\\", b"\\\\"), out)
        renames[a] = new
    v = Renamed(out)
    v.renames = renames
    return v


def t_addr_local_plus(data, m, records):
    """Recipients' local parts as dotted names with a +tag (first.last+tag1)."""
    return rename_recipients(data, m, records, lambda local, i: f"first.last-{i}+news_tag")


def t_addr_local_upper(data, m, records):
    """Recipients' local parts in upper case, as some MTAs echo them."""
    return rename_recipients(data, m, records, lambda local, i: local.upper())


def t_addr_local_short(data, m, records):
    """Recipients' local parts of one letter and a digit."""
    return rename_recipients(data, m, records, lambda local, i: f"q{i}")


def t_addr_domain(data, m, records):
    """Recipients' domains (where the address is written whole) as a longer
    name with a hyphen and a two-label public suffix."""
    return rename_recipients(data, m, records, lambda local, domain, i: f"{local}@mail-{i}.example-corp.co.uk")


def t_original_headers_only(data, m):
    """The returned message cut to its header, sent as text/rfc822-headers
    (RFC 6522 lets a report return only the header; many MTAs do)."""
    lines = list(m.lines)
    changed = False
    for e in walk(m.root):
        if e.ctype != b"message/rfc822" or e.embedded is None or e.returned:
            continue
        emb = e.embedded
        if emb.hend >= emb.end - 1:
            continue  # no body to cut
        ct = next(f for f in e.fields if f.name.strip().lower() == b"content-type")
        lines[ct.first] = re.sub(rb"message/rfc822", b"text/rfc822-headers", lines[ct.first], flags=re.I)
        for j in range(emb.hend + 1, emb.end):
            lines[j] = b""
        changed = True
    if not changed:
        raise NotApplicable("no attached message with a body")
    return b"".join(lines)


# --- re-wrapping the bounce's prose ---------------------------------------------
# MTAs wrap their sentences wherever the addresses, host names, dates or
# language push the line end, so the same template reaches us wrapped at other
# places. Runs of prose lines in the human-readable part are re-filled at
# another width, their indentation kept; lines that carry structure stay as
# they are and end a run.

# A line from which on the text is the returned message (or its header): left alone.
RETURNED_CUE = re.compile(
    rb"(?i)(original message|returned message|unsent message|copy of (the |your )?(original )?(message|headers)|"
    rb"headers? (of the original message )?(is |are )?follow|message follows|below this line|"
    rb"original mail as follows|included as attachment|message headers follow)")
STRUCTURE = re.compile(
    rb"^\s*(<|>|#|-{2,}|={2,}|_{2,}|\*|\||\[|[2-5]\d\d([ :-]|$)|[2-5]\.\d{1,3}\.\d{1,3}\b|"  # quoting, bars, codes
    rb"[A-Za-z][A-Za-z0-9-]*:|"                                                             # Name: value
    rb"(RCPT|MAIL|DATA|EHLO|HELO|QUIT|RSET)\b)")                                           # transcript


def is_prose(line):
    """A line of running text that may be re-wrapped: not blank, not led by
    an address or an SMTP/header/quoting token, no tabs (tables)."""
    t = line.strip()
    if not t or b"\t" in line or STRUCTURE.match(line):
        return False
    if b"@" in t.split()[0]:
        return False  # an address line, or one led by the recipient
    return any(c.isalpha() for c in t.decode("utf-8", "replace"))


def rewrap_text(text, width, eol):
    """text (decoded bytes, any line ends) with its prose runs re-filled at
    width columns. Returns (new text, whether anything changed)."""
    lines = re.split(rb"\r\n|\r|\n", text)
    out, changed, i = [], False, 0
    heading = None  # indentation of the last line ending in ':' before the current item
    in_item = False
    while i < len(lines):
        if RETURNED_CUE.search(lines[i]):
            out.extend(lines[i:])
            break
        indent = re.match(rb"[ ]*", lines[i]).group(0)
        if not lines[i].strip():
            in_item = False
        elif heading is not None and len(indent) > heading:
            # An item of the list a heading introduces ("The following
            # address(es) failed:" then "  pipe to |/bin/x\n    generated by
            # a@b"): its line breaks part the fields of the item.
            in_item = True
        if in_item or not is_prose(lines[i]):
            if lines[i].strip():
                heading = len(indent) if lines[i].rstrip().endswith(b":") else (heading if in_item else None)
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while (j < len(lines) and is_prose(lines[j]) and re.match(rb"[ ]*", lines[j]).group(0) == indent and
               not RETURNED_CUE.search(lines[j])):
            j += 1
        heading = len(indent) if lines[j - 1].rstrip().endswith(b":") else None
        words = b" ".join(l.strip() for l in lines[i:j]).split(b" ")
        words = [w for w in words if w]
        filled, cur = [], b""
        for w in words:
            if cur and len(indent) + len(cur) + 1 + len(w) > width:
                filled.append(indent + cur)
                cur = w
            else:
                cur = cur + b" " + w if cur else w
        if cur:
            filled.append(indent + cur)
        changed = changed or filled != [l.rstrip() for l in lines[i:j]]
        out.extend(filled)
        i = j
    return eol.join(out), changed


def human_text_parts(m):
    """The text/plain parts of the bounce itself (not the returned message)."""
    if not m.root.declared:
        return [m.root]
    parts = [e for e in walk(m.root) if not e.returned and e.ctype == b"text/plain" and not e.parts]
    for e in parts:
        if e.malformed:
            raise Ambiguous("a text part's header has a line that is no field: where its body starts is "
                            "reader-defined")
    return parts


def rewrap(data, m, width):
    if m.several:
        raise NotApplicable("an mbox of several messages")
    parts = human_text_parts(m)
    if not parts:
        raise NotApplicable("no text/plain part")
    lines = list(m.lines)
    changed = False
    for e in parts:
        if e.body_start >= e.end:
            continue
        charset = e.params.get(b"charset", b"us-ascii").lower()
        if charset.startswith(b"iso-2022") or charset.startswith(b"utf-16") or charset.startswith(b"utf-7"):
            continue  # shift states and wide units: no byte-wise wrapping
        if e.cte not in (b"", b"7bit", b"8bit", b"binary", b"quoted-printable", b"base64"):
            continue
        text = decoded_body(m, e) if m.root.declared else b"".join(m.lines[e.body_start:e.end])
        new, did = rewrap_text(text, width, m.eol)
        if not did:
            continue
        changed = True
        if e.cte == b"base64":
            canon = re.sub(rb"\r\n|\r|\n", b"\r\n", new)
            enc = base64.b64encode(canon)
            body = m.eol.join(enc[i:i + 76] for i in range(0, len(enc), 76))
        elif e.cte == b"quoted-printable":
            body = m.eol.join(binascii.b2a_qp(ln, quotetabs=False, istext=False, header=False).replace(
                b"=\n", b"=" + m.eol) for ln in re.split(rb"\r\n|\r|\n", new))
        else:
            body = new
        # decoded_body left out the line end before a following delimiter
        if e.end < len(lines) and m.root.declared:
            body += m.eol
        lines[e.body_start] = body
        for j in range(e.body_start + 1, e.end):
            lines[j] = b""
    if not changed:
        raise NotApplicable("no prose line to re-wrap")
    return b"".join(lines)


def t_rewrap(data, m):
    return rewrap(data, m, 50)


def t_rewrap_wide(data, m):
    return rewrap(data, m, 90)


def compose(*fns):
    """fns applied in turn; a later step that does not apply (CRLF already)
    leaves the data as it is."""
    def run(data, m):
        for k, fn in enumerate(fns):
            try:
                data = fn(data, m)
            except NotApplicable:
                if k == 0:
                    raise
            m = Message(data)
        return data
    return run


TRANSFORMS = [
    ("crlf", t_crlf), ("lf", t_lf), ("cr", t_cr), ("mbox", t_mbox), ("gzip", t_gzip),
    ("hcase_lower", t_hcase_lower), ("hcase_upper", t_hcase_upper), ("hcase_mixed", t_hcase_mixed),
    ("dsn_field_case", t_dsn_field_case), ("refold", t_refold), ("unfold", t_unfold),
    ("dsn_refold", t_dsn_refold), ("headers_before", t_headers_before), ("headers_after", t_headers_after),
    ("qp", t_qp), ("base64", t_base64), ("boundary_token", t_boundary_token),
    ("boundary_special", t_boundary_special), ("boundary_dashes", t_boundary_like_dashes),
    ("trailing_ws", t_trailing_ws), ("no_close_delim", t_no_close_delim), ("no_final_eol", t_no_final_eol),
    ("bom", t_bom), ("mime_value_case", t_mime_value_case), ("param_quote", t_param_quote),
    ("colon_nospace", t_colon_nospace), ("colon_tab", t_colon_tab),
    ("charset_utf8", t_charset_utf8), ("subject_b", t_subject_b), ("subject_q", t_subject_q),
    ("preamble_drop", t_preamble_drop), ("preamble_add", t_preamble_add), ("param_order", t_param_order),
    ("dsn_base64", t_dsn_base64), ("mixed_eol", t_mixed_eol), ("header_sort", t_header_sort),
    ("dsn_addr_case", t_dsn_addr_case), ("dsn_addr_angle", t_dsn_addr_angle),
    ("dsn_global", t_dsn_global), ("rfc822_global", t_rfc822_global), ("alt_wrap", t_alt_wrap),
    ("disposition", t_disposition), ("mixed_wrap", t_mixed_wrap),
    ("original_headers_only", t_original_headers_only), ("rewrap", t_rewrap), ("rewrap_wide", t_rewrap_wide),
    ("addr_local_plus", t_addr_local_plus), ("addr_local_upper", t_addr_local_upper),
    ("addr_local_short", t_addr_local_short), ("addr_domain", t_addr_domain),
    # combinations
    ("mbox_cr", compose(t_mbox, t_cr)), ("mbox_gzip", compose(t_mbox, t_gzip)),
    ("crlf_qp", compose(t_qp, t_crlf)), ("cr_base64", compose(t_base64, t_cr)),
    ("bom_mbox_crlf", compose(t_mbox, t_crlf, t_bom)),
]
# Transformations that need the message read as one message (not an mbox of several).
STRUCTURAL = {"hcase_lower", "hcase_upper", "hcase_mixed", "dsn_field_case", "refold", "unfold", "dsn_refold",
              "headers_after", "qp", "base64", "boundary_token", "boundary_special", "boundary_dashes",
              "no_close_delim", "mime_value_case", "param_quote", "colon_nospace", "colon_tab", "charset_utf8",
              "subject_b", "subject_q", "preamble_drop", "preamble_add", "param_order", "dsn_base64",
              "mixed_eol", "header_sort", "dsn_addr_case", "dsn_addr_angle", "dsn_global", "rfc822_global",
              "crlf_qp", "cr_base64", "alt_wrap", "disposition", "mixed_wrap", "original_headers_only",
              "rewrap", "rewrap_wide"}
# Not a per-message file: every message in one mbox (see main).
ALL_IN_ONE = "mbox_all_reversed"
# Transformations that also take the original's records (they rename recipients).
NEEDS_RECORDS = {"addr_local_plus", "addr_local_upper", "addr_local_short", "addr_domain"}


# --- running and comparing -----------------------------------------------------

def norm(rec):
    out = {k: rec.get(k) for k in FIELDS}
    if isinstance(out["diagnostic"], str):
        out["diagnostic"] = " ".join(out["diagnostic"].split())
    return out


def run_parse(rebound, path):
    proc = subprocess.run([rebound, "parse", "--format", "json", path], capture_output=True)
    got = collections.defaultdict(list)
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        rec = json.loads(line)
        got[rec["file"]].append(norm(rec))
    errors, other = {}, []
    for line in proc.stderr.decode("utf-8", "replace").splitlines():
        mt = re.match(r"rebound parse: (.*?): (.*)$", line)
        if mt:
            errors[mt.group(1)] = mt.group(2)
        elif line.strip():
            other.append(line)  # a sanitizer's report, a crash
    if proc.returncode not in (0, 1):
        other.append(f"rebound parse {path} exited with {proc.returncode}")
    return got, errors, other


def renamed(rec, renames):
    out = dict(rec)
    out["recipient"] = renames.get(rec["recipient"], rec["recipient"]).lower()
    if isinstance(out["diagnostic"], str):
        for old, new in renames.items():
            out["diagnostic"] = re.sub(re.escape(old), lambda _: new, out["diagnostic"], flags=re.I)
    return out


def first_difference(want, got, cut_ok=False):
    """cut_ok: a diagnostic that is a cut of the whole text may end elsewhere
    (the renamed addresses changed the text's length)."""
    if len(want) != len(got):
        return f"record count {len(want)} -> {len(got)}"
    for i, (w, g) in enumerate(zip(want, got)):
        for k in FIELDS:
            if w[k] != g[k]:
                if (cut_ok and k == "diagnostic" and w[k] and g[k] and min(len(w[k]), len(g[k])) >= 250 and
                        (w[k].startswith(g[k]) or g[k].startswith(w[k]))):
                    continue
                return f"record {i} {k}: {w[k]!r} -> {g[k]!r}"
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    only = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--only=")), None)
    verbose = "--verbose" in sys.argv
    if len(args) < 2:
        print(__doc__)
        return 2
    rebound = os.path.abspath(args[0])
    corpus = args[1]
    maildir = os.path.join(corpus, "maildir") if os.path.isdir(os.path.join(corpus, "maildir")) else corpus
    if not os.path.isdir(maildir):
        print(f"SKIP: corpus not found at {corpus} (needs ../shared/corpus/sisimai)")
        return 77
    files = []
    for d, subdirs, names in os.walk(maildir):
        subdirs.sort()
        for n in sorted(names):
            if not n.startswith("."):
                files.append(os.path.relpath(os.path.join(d, n), maildir))
    files.sort()
    if not files:
        print(f"SKIP: no messages under {maildir}")
        return 77

    base_got, base_err, base_other = run_parse(rebound, maildir)
    baseline = {f: base_got.get(os.path.join(maildir, f), []) for f in files}
    with_records = sum(1 for f in files if baseline[f])
    if with_records < len(files) // 2:  # else every variant would "pass" by giving nothing too
        print(f"FAIL: the originals gave records for only {with_records} of {len(files)} messages")
        print("0 passed, 1 failed")
        return 1

    transforms = [(n, fn) for n, fn in TRANSFORMS if only is None or n in only]
    tmp = tempfile.mkdtemp(prefix="rebound-variants-")
    try:
        where = {}  # variant path -> (transformation, file)
        renames = {}  # variant path -> {old recipient: new}, for the renaming transformations
        na = collections.Counter()
        skipped = []
        for f in files:
            data = open(os.path.join(maildir, f), "rb").read()
            m = Message(data)
            for name, fn in transforms:
                if (name, f) in SKIPS:
                    skipped.append((name, f, SKIPS[(name, f)]))
                    continue
                if name in STRUCTURAL and m.several:
                    na[name] += 1
                    continue
                try:
                    out = fn(data, m, baseline[f]) if name in NEEDS_RECORDS else fn(data, m)
                except Ambiguous as why:
                    skipped.append((name, f, str(why)))
                    continue
                except NotApplicable as why:
                    na[name] += 1
                    if verbose:
                        print(f"n/a {name} {f}: {why}")
                    continue
                os.makedirs(os.path.join(tmp, name), exist_ok=True)
                path = os.path.join(tmp, name, f.replace("/", "__") + (".gz" if "gzip" in name else ""))
                with open(path, "wb") as fh:
                    fh.write(out)
                where[path] = (name, f)
                if isinstance(out, Renamed):
                    renames[path] = out.renames
        # All the messages in one mbox, in reverse order: one parser reads them
        # one after another, so nothing may carry over from one to the next.
        in_mbox = []
        if only is None or ALL_IN_ONE in only:
            out = []
            for f in reversed(files):
                data = open(os.path.join(maildir, f), "rb").read()
                lines = split_lines(data)
                if lines and lines[0].startswith(b"From "):
                    lines = lines[1:]
                if Message(data).several or not lines:
                    continue
                eol = eol_of(lines[0])
                body = b"".join((b">" + l if re.match(rb">*From ", l) else l) for l in lines)
                if not body.endswith((b"\n", b"\r")):
                    body += eol
                out.append(b"From MAILER-DAEMON Tue Jan  6 11:00:00 2026" + eol + body + eol)
                in_mbox.append(f)
            os.makedirs(os.path.join(tmp, ALL_IN_ONE))
            with open(os.path.join(tmp, ALL_IN_ONE, "all.mbox"), "wb") as fh:
                fh.write(b"".join(out))

        got, errors, other = run_parse(rebound, tmp)

        passed = collections.Counter()
        failures = collections.defaultdict(list)
        for path, (name, f) in sorted(where.items(), key=lambda kv: (kv[1][0], kv[1][1])):
            want = baseline[f]
            if path in renames:
                want = [renamed(w, renames[path]) for w in want]
            if path in errors and f not in base_err:
                diff = f"error: {errors[path]}"
            else:
                diff = first_difference(want, got.get(path, []), cut_ok=path in renames)
            if diff is None:
                passed[name] += 1
            else:
                failures[name].append((f, diff))

        if in_mbox:
            records = got.get(os.path.join(tmp, ALL_IN_ONE, "all.mbox"), [])
            at = 0
            for f in in_mbox:
                want = baseline[f]
                diff = first_difference(want, records[at:at + len(want)])
                if diff is not None:
                    failures[ALL_IN_ONE].append((f, diff + " (the messages after it not compared)"))
                    break
                passed[ALL_IN_ONE] += 1
                at += len(want)
            else:
                if at != len(records):
                    failures[ALL_IN_ONE].append(("(end)", f"{len(records) - at} records more than the messages"))
            transforms = transforms + [(ALL_IN_ONE, None)]
            na[ALL_IN_ONE] = len(files) - len(in_mbox)

        bad = 0
        for line in (base_other + other)[:50]:
            print(f"FAIL stderr: {line}")
        bad += len(base_other + other)
        skips = collections.Counter(name for name, _, _ in skipped)
        print(f"{'transformation':21} {'pass':>5} {'fail':>5} {'n/a':>5} {'skip':>5}  ({len(files)} messages)")
        for name, _ in transforms:
            print(f"{name:21} {passed[name]:5} {len(failures[name]):5} {na[name]:5} {skips[name]:5}")
        for name, _ in transforms:
            for f, diff in failures[name]:
                bad += 1
                print(f"FAIL {f} [{name}]: {diff}")
        for name, f, why in skipped:
            print(f"SKIP {f} [{name}]: {why}")
        total_pass = sum(passed.values())
        print(f"{total_pass} passed, {bad} failed")
        return 1 if bad else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
