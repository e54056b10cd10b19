"""What the fixture checkers (check_fixture.py, check_exim_fixture.py) share:
running `rebound scan` and collecting failures, so a checker reports every
failed check, then exits 1."""
import subprocess

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(rebound, *args):
    """Runs `rebound scan ARGS` without progress output: (exit code, stdout, stderr)."""
    p = subprocess.run([rebound, "scan", "--no-progress", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr
