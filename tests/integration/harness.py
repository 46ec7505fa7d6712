"""Test harness: starts a real mailroomd on ephemeral loopback ports with a temporary data
directory, a throwaway CA and certificate, and an embedded directory seeded through
mailroomctl. Used by every integration test (run with /usr/bin/python3, Debian's modules).

    from harness import Mailroom
    with Mailroom() as m:
        m.seed_demo()                      # example.com, alice/wonderland, bob/builder, ...
        imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))

Binaries come from $MAILROOM_BIN (set by ctest), else build/debug/bin.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Listener name -> (protocol, tls mode). Ports are chosen by the kernel (port 0) and read
# back from <data>/run/listeners.json.
DEFAULT_LISTENERS = {
    "smtp": ("smtp", "starttls"),
    "submission": ("submission", "starttls"),
    "submissions": ("submission", "implicit"),
    "lmtp": ("lmtp", "none"),
    "imap": ("imap", "starttls"),
    "imaps": ("imap", "implicit"),
    "pop3": ("pop3", "starttls"),
    "pop3s": ("pop3", "implicit"),
}

DEMO_USERS = {"alice": "wonderland", "bob": "builder"}

# What AddressSanitizer, LeakSanitizer and UBSan print (to stderr when no log_path is set;
# under ctest they write to files that tests/run_pytests.py checks).
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "AddressSanitizer:DEADLYSIGNAL", "ERROR: UndefinedBehaviorSanitizer")


def ctl_env():
    """The environment of a mailroomctl run: LeakSanitizer off. Its exit scan was a quarter of
    each run's CPU, and the integration tests start mailroomctl hundreds of times; its code is
    leak-checked by the unit tests (tests/unit/ctl) and by mailroomd, which shares it. Other
    ASan/UBSan errors still fail the test (later ASAN_OPTIONS entries win)."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return env


def bin_dir():
    return os.environ.get("MAILROOM_BIN") or os.path.join(ROOT, "build", "debug", "bin")


def cache_dir():
    """Where the harness keeps what it made once for later tests of the same build (a test
    CA, the seeded demo directory): <build>/test-cache, or $MAILROOM_TEST_CACHE."""
    return os.environ.get("MAILROOM_TEST_CACHE") or \
        os.path.join(os.path.dirname(os.path.abspath(bin_dir())), "test-cache")


def cached_tree(key, target, make):
    """Fills the empty directory `target` with what make(target) writes, made once per key:
    the first caller runs `make` and publishes a copy under cache_dir()/key (an atomic rename,
    so parallel tests never see half a copy); later callers copy it. Modes are kept."""
    cached = os.path.join(cache_dir(), key)
    if os.path.isdir(cached):
        shutil.copytree(cached, target, dirs_exist_ok=True, symlinks=True)
        return
    make(target)
    os.makedirs(cache_dir(), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=key + ".", dir=cache_dir())
    shutil.copytree(target, staging, dirs_exist_ok=True, symlinks=True)
    try:
        os.rename(staging, cached)
    except OSError:  # another test published it first
        shutil.rmtree(staging, ignore_errors=True)


def make_tls(directory, fresh=False):
    """A throwaway CA and a leaf for localhost, 127.0.0.1 and ::1. Returns (ca, cert, key).
    Made once per build (cached_tree: two RSA key generations per test instance added up)
    unless `fresh`, for a test that needs a certificate no other instance has."""
    os.makedirs(directory, exist_ok=True)
    if fresh:
        _make_tls_files(directory)
    else:
        cached_tree("tls-v1", directory, _make_tls_files)
    return tuple(os.path.join(directory, f) for f in ("ca.pem", "cert.pem", "key.pem"))


def _make_tls_files(directory):
    ca_key = os.path.join(directory, "ca.key")
    ca = os.path.join(directory, "ca.pem")
    key = os.path.join(directory, "key.pem")
    csr = os.path.join(directory, "leaf.csr")
    cert = os.path.join(directory, "cert.pem")
    ext = os.path.join(directory, "leaf.ext")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
        "-out", ca, "-days", "2", "-subj", "/CN=Mailroom Test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)


class Mailroom:
    def __init__(self, extra_config="", listeners=None, directory_config=None,
                 keep=False, plaintext_on_loopback=True, hostname="mail.example.com",
                 auth_config="", listener_config=None, log_config="", tls_config=""):
        self.base = tempfile.mkdtemp(prefix="mailroom-test-")
        self.data = os.path.join(self.base, "data")
        os.makedirs(self.data)
        self.config_path = os.path.join(self.base, "mailroom.toml")
        self.log_path = os.path.join(self.base, "mailroomd.log")
        self.listeners = listeners or DEFAULT_LISTENERS
        self.extra_config = extra_config
        self.directory_config = directory_config
        self.plaintext_on_loopback = plaintext_on_loopback
        self.auth_config = auth_config            # extra lines for [auth]
        self.log_config = log_config              # extra lines for [log]
        self.tls_config = tls_config              # extra lines for [tls]
        self.listener_config = listener_config or {}  # listener name -> extra lines
        self.hostname = hostname
        self.keep = keep or os.environ.get("MAILROOM_KEEP_TEST_DATA") == "1"
        self.proc = None
        self.logf = None
        self.ports = {}
        self.ca, self.cert, self.key = make_tls(os.path.join(self.base, "tls"))
        self.write_config()

    # --- configuration ---
    def write_config(self):
        lines = [
            "[server]",
            f'data_dir = "{self.data}"',
            f'hostname = "{self.hostname}"',
            "io_threads = 2",
            "worker_threads = 4",
            "shutdown_grace = 5",
            "",
            "[log]",
            'level = "debug"',
            self.log_config,
            "",
            "[tls]",
            f'certificate = "{self.cert}"',
            f'private_key = "{self.key}"',
            self.tls_config,
            "",
            "[auth]",
            f"allow_plaintext_on_loopback = {'true' if self.plaintext_on_loopback else 'false'}",
            'postmaster = "alice@example.com"',
            self.auth_config,
            "",
        ]
        if self.directory_config is not None:
            lines += [self.directory_config, ""]
        for name, (protocol, tls) in self.listeners.items():
            extra = self.listener_config.get(name, "")
            address = "127.0.0.1"
            if "address =" in extra:
                address = None
            lines += ["[[listener]]", f'name = "{name}"', f'protocol = "{protocol}"']
            if address:
                lines.append(f'address = "{address}"')
            lines += ["port = 0", f'tls = "{tls}"', extra, ""]
        if "[dns]" not in self.extra_config:
            # No test asks the machine's DNS: remote domains stay deferred (a refused UDP port
            # answers at once, as a temporary failure) unless a test serves them (peers.py).
            lines += ["[dns]", 'servers = ["127.0.0.1:9"]', "timeout = 1", "tries = 1", ""]
        lines.append(self.extra_config)
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    # --- tools ---
    def ctl(self, *args, check=True, json_output=True, input=None):
        """Runs mailroomctl; returns parsed JSON (json_output) or the CompletedProcess."""
        cmd = [os.path.join(bin_dir(), "mailroomctl"), "--config", self.config_path]
        if json_output:
            cmd.append("--json")
        cmd += list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=120,
                           env=ctl_env())
        if check and p.returncode != 0:
            raise RuntimeError(f"mailroomctl {' '.join(args)} failed ({p.returncode}): "
                               f"{p.stdout}{p.stderr}")
        if json_output and p.returncode == 0 and p.stdout.strip():
            return json.loads(p.stdout)
        return p

    def seed_demo(self):
        """The demo directory of the README: example.com, alice, bob, staff@, info@ -> alice.
        Six mailroomctl runs (about 4 s under ASan) happen once per configuration and build:
        later instances copy the seeded data directory (cached_tree), keyed by mailroomctl and
        the configuration with this instance's paths taken out. Only from an empty data dir."""
        if os.path.isdir(self.data) and os.listdir(self.data):
            self._seed_demo(self.data)
            return
        ctl = os.stat(os.path.join(bin_dir(), "mailroomctl"))
        with open(self.config_path) as f:
            config = f.read().replace(self.base, "@BASE@")
        key = hashlib.sha256(f"{ctl.st_mtime_ns}:{ctl.st_size}\n{config}".encode()).hexdigest()
        cached_tree("seed-" + key[:32], self.data, self._seed_demo)

    def _seed_demo(self, _data):
        self.ctl("domain", "add", "example.com")
        for user, password in DEMO_USERS.items():
            self.ctl("user", "add", f"{user}@example.com", "--password", password,
                     "--name", user.capitalize())
        self.ctl("group", "add", "staff@example.com", "--member", "alice@example.com",
                 "--member", "bob@example.com")
        self.ctl("alias", "add", "info@example.com", "alice@example.com")

    def account_id(self, address):
        return self.ctl("user", "show", address)["id"]

    # --- process ---
    def start(self, wait=True, **popen_kwargs):
        cmd = [os.path.join(bin_dir(), "mailroomd"), "--config", self.config_path]
        if self.logf:
            self.logf.close()
        self.logf = open(self.log_path, "ab")
        listeners_file = os.path.join(self.data, "run", "listeners.json")
        if os.path.exists(listeners_file):
            os.unlink(listeners_file)
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     **popen_kwargs)
        if not wait:
            return self
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                raise RuntimeError(f"mailroomd exited with {rc}:\n{self.log()}")
            if os.path.exists(listeners_file):
                try:
                    with open(listeners_file) as f:
                        self.ports = {k: v["port"] for k, v in json.load(f).items()}
                    return self
                except (ValueError, KeyError):
                    pass
            time.sleep(0.05)
        raise RuntimeError("mailroomd did not become ready:\n" + self.log())

    def port(self, name):
        return self.ports[name]

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops mailroomd. After SIGTERM it must exit by itself, with status 0 and no
        sanitizer report in its log (a leak at shutdown, a late sanitizer abort, a hang):
        anything else raises AssertionError. SIGKILL must end it with -9."""
        if not self.proc:
            return None
        proc, self.proc = self.proc, None
        problem = None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                problem = f"mailroomd ignored signal {sig} for {timeout} s"
        rc = proc.returncode
        if self.logf:
            self.logf.close()
            self.logf = None
        if problem is None and sig == signal.SIGTERM and rc != 0:
            problem = f"mailroomd exited with {rc} after SIGTERM"
        if problem is None and sig == signal.SIGKILL and rc != -signal.SIGKILL:
            problem = f"mailroomd exited with {rc} before SIGKILL took it"
        if problem is None:
            found = [m for m in SANITIZER_MARKERS if m in self.log()]
            if found:
                problem = f"sanitizer report in the mailroomd log ({found[0]})"
        if problem:
            raise AssertionError(problem + "\n---- mailroomd log (tail) ----\n" +
                                 self.log()[-8000:])
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        return ctx

    def connect(self, name, timeout=10):
        return socket.create_connection(("127.0.0.1", self.port(name)), timeout=timeout)

    def close(self):
        try:
            self.stop()
        finally:
            if not self.keep:
                shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- mailroomd log (tail) ----")
            print(self.log()[-8000:])
            try:
                self.close()
            except AssertionError as e:  # do not hide the test's own failure
                print(f"also: {e}")
            return
        self.close()
