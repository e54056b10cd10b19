#!/usr/bin/python3
"""Renders `rebound scan --html` in headless Chromium (Debian's package) and
checks that the charts are there: the DOM after loading has the three SVG
charts with bars in them, and a screenshot of the page is not blank.

usage: html_chromium_test.py REBOUND FIXTURE_DIR
Exit 77 (skipped) when chromium is not installed.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser

rebound, fixtures = sys.argv[1], sys.argv[2]
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    print("SKIP: chromium is not installed (scripts/install-deps.sh --with-tests installs it)")
    sys.exit(77)

d = tempfile.mkdtemp(prefix="rebound-html-")
page = os.path.join(d, "report.html")
p = subprocess.run([rebound, "scan", "--no-progress", "--html", page, os.path.join(fixtures, "postfix.log")],
                   capture_output=True, text=True, timeout=60)
if p.returncode != 0:
    print("FAIL: scan exit", p.returncode, p.stderr)
    sys.exit(1)
if b"http://" in open(page, "rb").read().split(b"<body>")[0] or b"<script" in open(page, "rb").read():
    print("FAIL: the page loads something or runs scripts; it must be self-contained")
    sys.exit(1)

base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        "--user-data-dir=" + os.path.join(d, "profile")]
url = "file://" + page
dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
shot = os.path.join(d, "shot.png")
subprocess.run(base + ["--window-size=1200,1600", "--screenshot=" + shot, url], capture_output=True, timeout=120)


class Charts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svg = None
        self.bars = {}
        self.polylines = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svg = a.get("id")
            self.bars.setdefault(self.svg, 0)
        elif tag == "rect" and a.get("class") == "bar" and self.svg:
            if float(a.get("height", 0)) > 0 and float(a.get("width", 0)) > 0:
                self.bars[self.svg] += 1
        elif tag == "polyline" and self.svg:
            self.polylines += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg = None


failures = []
charts = Charts()
charts.feed(dom.stdout)
for chart in ("chart-timeline", "chart-categories", "chart-domains"):
    if charts.bars.get(chart, 0) == 0:
        failures.append(f"{chart}: no bars in the rendered DOM ({charts.bars})")
if charts.polylines == 0:
    failures.append("no attempts line in the timeline")
if "Recommended actions" not in dom.stdout or "is listed by Spamhaus" not in dom.stdout:
    failures.append("the actions are missing from the rendered page")


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) into rows of pixels."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"unexpected PNG type {depth}/{colour}"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            ul = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + left) & 255
            elif f == 2:
                line[i] = (line[i] + up) & 255
            elif f == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 255
            elif f == 4:
                pa, pb, pc = abs(up - ul), abs(left - ul), abs(left + up - 2 * ul)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        rows.append(bytes(line))
        prev = line
    return rows, bpp


if not os.path.exists(shot):
    failures.append("chromium wrote no screenshot")
else:
    rows, bpp = png_pixels(shot)
    colours, coloured = set(), 0
    for row in rows[::4]:
        for x in range(0, len(row), bpp * 4):
            px = row[x:x + 3]
            colours.add(px)
            r, g, b = px
            if max(r, g, b) - min(r, g, b) > 60:  # saturated: a chart bar, not text
                coloured += 1
    if len(colours) < 8 or coloured < 50:
        failures.append(f"the screenshot looks blank: {len(colours)} colours, {coloured} coloured samples")
    else:
        print(f"screenshot: {len(colours)} colours, {coloured} coloured samples")

for f in failures:
    print("FAIL:", f)
if failures:
    print("kept:", d)
    sys.exit(1)
shutil.rmtree(d, ignore_errors=True)
print("ok:", charts.bars)
