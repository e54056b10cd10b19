#!/usr/bin/python3
"""The generated documentation (cmake/docs.cmake, `rebound docs`) against the
binary it documents.

usage: docs_test.py CHECK REBOUND CMAKE SOURCE_DIR
  man_pages         every command in the tree has a page, and every page (and
                    rebound.toml.5) renders under man --warnings with no output
                    on stderr (what lintian runs)
  man_options       every option and argument `rebound X --help` shows is in
                    rebound-X.1, with its help text
  config_page       every key of `rebound config defaults` is in rebound.toml.5
  completion        the bash completion parses and completes commands, nested
                    commands, options and option values
  commented_config  `config defaults --commented --set` is accepted by
                    `config check` and sets exactly what was set

The pages are generated afresh by the same script the build runs, in a
temporary directory, so the gzip step is tested too. Exits 77 when man or
bash is missing.
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHECK, REBOUND, CMAKE, SOURCE_DIR = sys.argv[1:5]


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def generate(tmp):
    """Runs cmake/docs.cmake as the build does; returns (man dir, completion)."""
    man_dir, completion = os.path.join(tmp, "man"), os.path.join(tmp, "completion", "rebound")
    r = run([CMAKE, "-DREBOUND=" + REBOUND, "-DMAN_DIR=" + man_dir, "-DCOMPLETION=" + completion,
             "-DVERSION_LABEL=rebound test", "-DSTAMP=" + os.path.join(tmp, "stamp"),
             "-P", os.path.join(SOURCE_DIR, "cmake", "docs.cmake")])
    if r.returncode != 0:
        fail("cmake/docs.cmake failed:\n" + r.stdout + r.stderr)
    return man_dir, completion


def page_text(man_dir, name):
    """The roff source of a generated page (they are gzipped)."""
    path = os.path.join(man_dir, name + ".gz")
    if not os.path.exists(path):
        fail("no page " + name)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read()


def rendered(man_dir, name):
    """The page as man shows it, with plain ASCII hyphens."""
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="2000", MANROFFSEQ="")
    r = run(["man", "-E", "UTF-8", "-l", os.path.join(man_dir, name + ".gz")], env=env)
    text = r.stdout
    # Bold and underline as the tty device writes them (char, backspace, char).
    text = re.sub(r".\x08", "", text)
    for typographic, plain in (("\u2010", "-"), ("\u2011", "-"), ("\u2212", "-"), ("\u2019", "'"), ("\u2018", "`")):
        text = text.replace(typographic, plain)
    return text


def commands():
    """Every command path, found by walking --help (not the generator's own walk)."""
    found, todo = [], [[]]
    while todo:
        path = todo.pop(0)
        found.append(path)
        out = run([REBOUND] + path + ["--help"]).stdout
        if "\nSubcommands:\n" not in out:
            continue
        block = out.split("\nSubcommands:\n", 1)[1].split("\n\n", 1)[0]
        for line in block.splitlines():
            if line.startswith("  ") and line.strip():
                todo.append(path + [line.split()[0]])
    return found


def page_name(path):
    return "rebound" + "".join("-" + w for w in path) + ".1"


def collapse(text):
    return " ".join(text.split())


def help_entries(path):
    """Each option and argument as --help prints it (its left column, then its
    help, which may continue on lines indented to column 30), whitespace collapsed."""
    out = run([REBOUND] + path + ["--help"]).stdout
    entries, section = [], None
    for line in out.splitlines():
        if line in ("Options:", "Positionals:"):
            section = line
        elif not line.strip():
            section = None
        elif section and line.startswith(" " * 30) and entries:
            entries[-1] += " " + line.strip()
        elif section and line.startswith("  "):
            entries.append(line.strip())
    return [collapse(e) for e in entries]


def check_man_pages(tmp):
    if not shutil.which("man"):
        print("SKIP: man is not installed")
        sys.exit(77)
    man_dir, _ = generate(tmp)
    paths = commands()
    if len(paths) < 20:
        fail("walked only %d commands from --help" % len(paths))
    expected = {page_name(p) + ".gz" for p in paths} | {"rebound.toml.5.gz"}
    present = set(os.listdir(man_dir))
    if expected - present:
        fail("commands without a page: " + ", ".join(sorted(expected - present)))
    if present - expected:
        fail("pages of no visible command (docs is hidden): " + ", ".join(sorted(present - expected)))
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    for name in sorted(present):
        r = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", os.path.join(man_dir, name)], env=env)
        if r.returncode != 0 or r.stderr:
            fail("%s does not render cleanly (rc %d):\n%s" % (name, r.returncode, r.stderr))
    # A second run rewrites the directory: a page left from before must go.
    stale = os.path.join(man_dir, "rebound-gone.1.gz")
    open(stale, "w").close()
    generate(tmp)
    if os.path.exists(stale):
        fail("a stale page survived a re-run")
    # Reproducible: the same bytes twice (gzip -n, no build date).
    first = {n: open(os.path.join(man_dir, n), "rb").read() for n in present}
    generate(tmp)
    for n in present:
        if open(os.path.join(man_dir, n), "rb").read() != first[n]:
            fail(n + " differs between two runs")
    print("ok: %d pages, all lint-clean" % len(present))


def check_man_options(tmp):
    if not shutil.which("man"):
        print("SKIP: man is not installed")
        sys.exit(77)
    man_dir, _ = generate(tmp)
    checked = 0
    for path in commands():
        text = collapse(rendered(man_dir, page_name(path)))
        for entry in help_entries(path):
            if entry not in text:
                fail("%s: --help shows '%s' but the page does not" % (page_name(path), entry))
            checked += 1
    if checked < 100:
        fail("checked only %d options" % checked)
    roff = page_text(man_dir, "rebound-classify.1")
    if "\\fB\\-\\-jsonl\\fR" not in roff:
        fail("option names are not bold with \\- dashes in rebound-classify.1")
    print("ok: %d options and arguments on their pages" % checked)


def check_config_page(tmp):
    if not shutil.which("man"):
        print("SKIP: man is not installed")
        sys.exit(77)
    man_dir, _ = generate(tmp)
    text = rendered(man_dir, "rebound.toml.5")
    defaults = run([REBOUND, "config", "defaults"]).stdout
    keys, section = 0, None
    for line in defaults.splitlines():
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            section = m.group(1)
            if "[%s]" % section not in text:
                fail("section [%s] is not in rebound.toml.5" % section)
            continue
        m = re.match(r"^([a-z0-9_]+) = (.*)$", line)
        if not m:
            continue
        key, default = m.groups()
        # The key starts a line of its section, followed by its default.
        body = text.split("[%s]" % section, 1)[1]
        if not re.search(r"(?m)^ *%s = %s \(" % (re.escape(key), re.escape(default)), body):
            fail("%s.%s = %s is not in rebound.toml.5" % (section, key, default))
        keys += 1
    if keys < 50:
        fail("only %d keys in config defaults" % keys)
    print("ok: %d keys in rebound.toml.5" % keys)


def complete(script, words):
    """What the completion offers for the command line `words` (last one is being typed)."""
    program = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
               'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _rebound; printf "%s\\n" "${COMPREPLY[@]}"')
    r = run(["bash", "-c", program, "bash", script] + words)
    if r.returncode != 0:
        fail("completing %s failed: %s" % (words, r.stderr))
    return [w for w in r.stdout.splitlines() if w]


def check_completion(tmp):
    if not shutil.which("bash"):
        print("SKIP: bash is not installed")
        sys.exit(77)
    _, script = generate(tmp)
    r = run(["bash", "-n", script])
    if r.returncode != 0:
        fail("bash -n: " + r.stderr)
    cases = [
        (["rebound", "cl"], ["classify"]),
        (["rebound", "serve", "--con"], ["--config"]),
        (["rebound", "account", "se"], ["set-domains", "set-quota"]),
        (["rebound", "account", "add", "--dai"], ["--daily-quota"]),
        (["rebound", "classify", "--format", ""], ["json", "text"]),
        (["rebound", "classify", "--lang", "z"], ["zh"]),
        # An option's value is not taken for a command: `classify` stays the command.
        (["rebound", "classify", "-i", "serve", "--exp"], ["--explain"]),
        (["rebound", "do"], ["domain"]),  # the hidden `docs` is not offered
        # A flag takes no value: the word after it is still a command.
        (["rebound", "account", "--help", "ad"], ["add"]),
    ]
    for words, want in cases:
        got = sorted(complete(script, words))
        if got != want:
            fail("completing %r gave %r, want %r" % (" ".join(words), got, want))
    print("ok: %d completions" % len(cases))


def check_commented_config(tmp):
    path = os.path.join(tmp, "rebound.toml")
    r = run([REBOUND, "config", "defaults", "--commented", "--set", "server.data_dir=/var/lib/rebound",
             "--set", "classifier.rules=/etc/rebound/rules", "--set", "routes.example.test=127.0.0.1:2626"])
    if r.returncode != 0:
        fail("config defaults --commented: " + r.stderr)
    with open(path, "w") as f:
        f.write(r.stdout)
    check = run([REBOUND, "config", "check", path])
    if check.returncode != 0:
        fail("config check refused the commented config: " + check.stdout + check.stderr)
    live = [l for l in r.stdout.splitlines() if l and not l.startswith("#") and not l.startswith("[")]
    want = ['data_dir = "/var/lib/rebound"', 'rules = ["/etc/rebound/rules"]', '"example.test" = "127.0.0.1:2626"']
    if live != want:
        fail("the commented config sets %r, want %r" % (live, want))
    if "#listen = \"127.0.0.1:2525\"" not in r.stdout:
        fail("keys are not listed commented out with their defaults")
    # Every key of the plain document is in the commented one, commented out.
    plain = run([REBOUND, "config", "defaults"]).stdout
    for line in plain.splitlines():
        m = re.match(r"^([a-z0-9_]+) = ", line)
        if m and m.group(1) not in ("data_dir", "rules") and "#" + line not in r.stdout:
            fail("'%s' is not commented out in the commented config" % line)
    for bad, message in [(["--set", "server.nope=1"], "unknown configuration key 'server.nope'"),
                         (["--set", "server.threads=many"], "expected an integer"),
                         (["--set", "server.listen"], "KEY=VALUE"),
                         (["--set", "server.listen=a", "--set", "server.listen=b"], "set twice")]:
        r = run([REBOUND, "config", "defaults", "--commented"] + bad)
        if r.returncode != 2 or message not in r.stderr or r.stdout:
            fail("%r: rc %d, stderr %r, stdout %d bytes" % (bad, r.returncode, r.stderr, len(r.stdout)))
    print("ok: the commented config checks and sets exactly its --set keys")


with tempfile.TemporaryDirectory() as tmp:
    {"man_pages": check_man_pages, "man_options": check_man_options, "config_page": check_config_page,
     "completion": check_completion, "commented_config": check_commented_config}[CHECK](tmp)
