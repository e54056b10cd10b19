#!/usr/bin/python3
"""A receiving SMTP server for delivery tests (aiosmtpd on loopback).

The recipient's local part chooses the answer, so one server plays every
receiver a test needs:
  unknown@   550 5.1.1 user unknown (RCPT)
  full@      452 4.2.2 mailbox full (RCPT)
  grey@      450 4.2.0 greylisted on the first try; accepted once
             --grey-seconds have passed since the first try (RCPT)
  rate@      421 4.7.0 frequency limited (RCPT)
  rbl@       554 5.7.1 blocklisted client host (RCPT)
  said@      451 4.3.0 whose text reads like a wrapper ("... said: busy") (RCPT)
  spam@      554 5.7.1 spam, at the end of DATA
  drop@      the connection is dropped after the data, before the reply
  anything else: accepted.
Every accepted message is written to --outdir as one JSON file
(mail_from, rcpt_tos, data) before the 250 goes out.
"""
import argparse
import asyncio
import json
import os
import ssl
import threading
import time

from aiosmtpd.controller import Controller

RCPT_REPLIES = {
    "unknown": "550 5.1.1 <{a}>: Recipient address rejected: User unknown in virtual mailbox table",
    "full": "452 4.2.2 <{a}>: Mailbox full, over quota",
    "rate": "421 4.7.0 Too many messages, frequency limited, try again later",
    "rbl": "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org",
    "said": "451 4.3.0 <{a}>: Temporarily deferred, the scanner said: busy",
}


class Handler:
    def __init__(self, outdir, grey_seconds, data_delay=0.0):
        self.outdir = outdir
        self.data_delay = data_delay
        self.grey_seconds = grey_seconds
        self.grey_first = {}
        self.lock = threading.Lock()
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local in RCPT_REPLIES:
            return RCPT_REPLIES[local].format(a=address)
        if local == "grey":
            key = (envelope.mail_from, address)
            first = self.grey_first.setdefault(key, time.time())
            if time.time() - first < self.grey_seconds:
                return "450 4.2.0 <%s>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.test.html" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        locals_ = [a.split("@")[0].lower() for a in envelope.rcpt_tos]
        if "drop" in locals_:
            server.transport.close()
            return "250 2.0.0 never sent"
        if "spam" in locals_:
            return "554 5.7.1 Message rejected as spam by the content filter"
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        with self.lock:
            self.count += 1
            n = self.count
        data = envelope.content.decode("utf-8", "replace") if isinstance(envelope.content, bytes) else envelope.content
        path = os.path.join(self.outdir, "%d-%d.json" % (os.getpid(), n))
        with open(path + ".tmp", "w") as f:
            mail_from = envelope.mail_from if envelope.mail_from not in ("<>", None) else ""
            json.dump({"mail_from": mail_from, "rcpt_tos": envelope.rcpt_tos, "data": data}, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Ok: queued as %d" % n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--outdir", required=True)
    p.add_argument("--grey-seconds", type=float, default=2.0)
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--data-delay", type=float, default=0.0, help="seconds to wait before accepting DATA")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    kwargs = {"data_size_limit": a.size or None}
    if a.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        kwargs["tls_context"] = ctx
    c = Controller(Handler(a.outdir, a.grey_seconds, a.data_delay), hostname="127.0.0.1", port=a.port,
                   **kwargs)
    c.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    main()
