#!/usr/bin/python3
"""A receiving SMTP server for the scan fixtures: answers each recipient the
way a real provider would for the scenario its local part names, and writes
every answer it gives to a JSON Lines file (the oracle for the fixtures).

usage: receiver.py PORT ANSWERS.jsonl
Local parts (prefix match): ok, nouser, full, grey, rate, spam, block, big,
auth, busy. Anything else is accepted.
"""
import json
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller

PORT = int(sys.argv[1])
ANSWERS = open(sys.argv[2], "a", buffering=1)
seen_grey = set()


def note(rcpt, stage, reply):
    ANSWERS.write(json.dumps({"time": time.time(), "recipient": rcpt, "stage": stage, "reply": reply}) + "\n")
    return reply


def rcpt_reply(address, peer):
    local = address.split("@")[0].lower()
    if local.startswith("nouser"):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
    if local.startswith("full"):
        return f"452 4.2.2 <{address}>: Mailbox full"
    if local.startswith("grey"):
        if address not in seen_grey:
            seen_grey.add(address)
            return f"450 4.7.1 <{address}>: Recipient address rejected: Greylisted, please try again in 1 seconds"
        return None
    if local.startswith("rate"):
        return "550 Ip frequency limited"
    if local.startswith("block"):
        return f"554 5.7.1 Service unavailable; Client host [{peer}] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{peer}"
    if local.startswith("busy"):
        return f"421 4.7.0 [TSS04] Messages from {peer} temporarily deferred due to unexpected volume or user complaints"
    return None


def data_reply(address, peer):
    local = address.split("@")[0].lower()
    if local.startswith("spam"):
        return f"554 DT:SPM 163 mx14,QMCowEBZ1, please see http://mail.163.com/help/help_spam_16.htm?ip={peer}"
    if local.startswith("big"):
        return "552 5.3.4 Message size exceeds fixed limit"
    if local.startswith("auth"):
        return ("550 5.7.26 This mail has been blocked because the sender is unauthenticated. "
                "Gmail requires all senders to authenticate with either SPF or DKIM.")
    return None


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = rcpt_reply(address, session.peer[0])
        if reply:
            return note(address, "RCPT", reply)
        envelope.rcpt_tos.append(address)
        return note(address, "RCPT", "250 2.1.5 Ok")

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            reply = data_reply(rcpt, session.peer[0])
            if reply:
                return note(rcpt, "DATA", reply)
        for rcpt in envelope.rcpt_tos:
            note(rcpt, "DATA", "250 2.0.0 Ok: queued")
        return "250 2.0.0 Ok: queued"


def main():
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller = Controller(Handler(), hostname="127.0.0.1", port=PORT)
    controller.start()
    print("ready", flush=True)
    stop.wait()
    controller.stop()


main()
