#!/usr/bin/python3
"""Webhook delivery rate: events/second from `rebound serve` to a loopback
HTTP receiver, and, in the same run, the receiver's own ceiling measured with
a plain Python sender (http.client, keep-alive, the same number of
connections, in its own process), so the figure says whether Rebound or the receiver is the limit.

The events are written straight into a fresh queue.db (messages and events
rows, as the Store writes them), so the outbox trigger queues them before
serve starts; serve runs with delivery off and only posts webhooks. The time
is from serve's start to the last POST the receiver answered (start-up
included), and from the first POST to the last (the dispatcher alone).

Usage: webhooks_bench.py REBOUND [EVENTS] [BATCH]
"""
import asyncio
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time


class CountingReceiver:
    """A minimal asyncio HTTP/1.1 server: reads each request, answers 200,
    counts requests and events (array elements for a batch)."""

    def __init__(self):
        self.requests = 0
        self.events = 0
        self.first = 0.0
        self.last = 0.0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0, backlog=512))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _client(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests += 1
                self.events += body.count(b'"webhook_id"')
                self.last = time.time()
                if not self.first:
                    self.first = self.last
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def python_sender(port, total, connections, body):
    """The peer: keep-alive POSTs of the same size from `connections` threads."""
    per = total // connections

    def run():
        c = http.client.HTTPConnection("127.0.0.1", port)
        for _ in range(per):
            c.request("POST", "/hook", body=body, headers={"Content-Type": "application/json", "webhook-id": "msg_1"})
            c.getresponse().read()
        c.close()

    threads = [threading.Thread(target=run) for _ in range(connections)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * connections / (time.time() - start)


def main():
    rebound = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    in_flight = 16
    work = tempfile.mkdtemp(prefix="rebound-webhooks-bench-")
    serve = None
    try:
        receiver = CountingReceiver()
        data = os.path.join(work, "data")
        cfg = os.path.join(work, "rebound.toml")
        with open(cfg, "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:{free_port()}"
data_dir = "{data}"
log = "{work}/server.log"
[delivery]
enabled = false
[webhooks]
max_in_flight = {in_flight}
poll_interval_ms = 50
claim_batch = 1000
""")
        subprocess.run([rebound, "account", "add", "bench", "--domain", "example.org", "--config", cfg],
                       input=b"pw\n", check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([rebound, "webhook", "add", f"http://127.0.0.1:{receiver.port}/hook", "--account", "bench",
                              "--batch", str(batch), "--config", cfg, "--format", "json"],
                             check=True, capture_output=True, text=True).stdout
        assert json.loads(out)["secret"].startswith("whsec_")
        con = sqlite3.connect(os.path.join(data, "queue.db"))
        now = int(time.time())
        con.execute("INSERT INTO messages(id, account, mail_from, size, queued_at, body) VALUES(1, 'bench', "
                    "'s@example.org', 10, ?, x'00')", (now,))
        reply = "550 5.1.1 <u@example.net>: Recipient address rejected: User unknown in virtual mailbox table"
        con.executemany("INSERT INTO events(time, message_id, recipient, state, reply, category, reason, permanent, "
                        "hard_bounce, rule, decision) VALUES(?, 1, ?, 'bounced', ?, 'recipient_not_found', "
                        "'userunknown', 1, 1, 'postfix.user_unknown', 'bounced')",
                        [(now, f"u{i}@example.net", reply) for i in range(total)])
        con.commit()
        queued = con.execute("SELECT count(*) FROM webhook_outbox").fetchone()[0]
        con.close()
        assert queued == total, queued

        start = time.time()
        serve = subprocess.Popen([rebound, "serve", "--config", cfg], stderr=subprocess.DEVNULL)
        deadline = start + 600
        while receiver.events < total and time.time() < deadline:
            time.sleep(0.01)
        events, requests, elapsed = receiver.events, receiver.requests, receiver.last - start
        sending = receiver.last - receiver.first
        rate = events / elapsed
        sample = b'{"type":"bounced","timestamp":"2026-01-01T00:00:00Z","webhook_id":"msg_1","data":' + b"x" * 700 + b"}"
        # In its own process, so it does not share the receiver's interpreter lock.
        with multiprocessing.Pool(1) as pool:
            peer = pool.apply(python_sender, (receiver.port, min(total, 5000), in_flight, sample * batch))
        print(f"rebound serve: {events} events in {requests} POSTs (batch {batch}) in "
              f"{elapsed:.2f} s from serve's start = {rate:.0f} events/s; first to last POST {sending:.2f} s = "
              f"{events / sending:.0f} events/s, {requests / sending:.0f} POSTs/s")
        print(f"peer, Python http.client keep-alive sender to the same receiver ({in_flight} connections): "
              f"{peer:.0f} POSTs/s")
        return 0
    finally:
        if serve and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            serve.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
