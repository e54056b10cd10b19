"""Loopback helpers every Python test of a listener shares: a free TCP port
and a wait until something listens on one. Tests import it by putting this
folder (tests/) on sys.path."""
import socket
import time


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=20.0):
    """True once something listens on 127.0.0.1:port, False after limit seconds."""
    end = time.time() + limit
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
