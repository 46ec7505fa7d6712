"""What the peers of tests/integration/peers.py share: free loopback ports, a temp dir and
context-manager lifecycle (Peer), the certificates, and stopping whatever still runs when
this process exits (atexit, SIGTERM) or dies (die_with_parent, Guard)."""
import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import make_tls

KEEP = os.environ.get("MAILROOM_KEEP_TEST_DATA") == "1"


def free_port(hosts=("127.0.0.1",), udp=False):
    """A TCP port (and UDP too if `udp`) that is free on every address in `hosts` right now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        try:
            kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else [])
            for host in hosts:
                for kind in kinds:
                    family = socket.AF_INET6 if ":" in host else socket.AF_INET
                    with socket.socket(family, kind) as s:
                        s.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError(f"no free port on {hosts}")


def die_with_parent():
    """preexec_fn: SIGTERM to the child when this process dies, even by SIGKILL. The kernel
    forgets it when the child changes credentials (Postfix's master does: see Guard)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Guard:
    """A small process that sends SIGTERM to `pid` when this process ends, however it ends:
    it waits for EOF on a pipe whose only writer is this process. Checks that the pid still
    runs a command line containing `tag` first (the pid may have been reused)."""

    CODE = ("import os, signal, sys\n"
            "sys.stdin.buffer.read()\n"
            "pid, tag = int(sys.argv[1]), sys.argv[2].encode()\n"
            "try:\n"
            "    with open(f'/proc/{pid}/cmdline', 'rb') as f:\n"
            "        if tag in f.read():\n"
            "            os.kill(pid, signal.SIGTERM)\n"
            "except OSError:\n"
            "    pass\n")

    def __init__(self, pid, tag):
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", self.CODE, str(pid), tag],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     start_new_session=True)

    def release(self):
        """After the guarded process is gone: lets the guard exit."""
        self.proc.stdin.close()
        self.proc.wait(10)


# --- everything still running is stopped (and its temp dir removed) at exit and on SIGTERM ---
_live = set()
_live_lock = threading.Lock()
_hooks_installed = False


def _stop_all():
    with _live_lock:
        peers = list(_live)
    for peer in peers:
        try:
            peer.close()
        except Exception as e:  # at exit: report, go on with the others
            print(f"peers: stopping {peer!r} at exit: {e}")


def _on_sigterm(signum, frame):
    _stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def register(peer):
    global _hooks_installed
    with _live_lock:
        _live.add(peer)
        if _hooks_installed:
            return
        _hooks_installed = True
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def unregister(peer):
    with _live_lock:
        _live.discard(peer)


def close_all(owner, names):
    """Closes owner.<name> for each name (close(), else stop()), all of them even when one
    fails, then raises the first failure: a mailroomd that exited uncleanly or with a sanitizer
    report in tearDownClass must fail the test file, not be swallowed by the clean-up."""
    first = None
    for name in names:
        obj = getattr(owner, name, None)
        if obj is None:
            continue
        try:
            close = getattr(obj, "close", None)
            if close is not None:
                close()
            else:
                obj.stop()
        except Exception as e:  # noqa: BLE001 - clean up the rest, then raise the first
            first = first or e
    if first is not None:
        raise first


def wait_greeting(host, port, deadline):
    """True once host:port accepts a connection and sends a 220 greeting."""
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


class Peer:
    """Lifecycle shared by the three peers: start()/stop(), a temp dir, context manager."""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None and hasattr(self, "log"):
            print(f"---- {self!r} log (tail) ----\n{self.log()[-6000:]}")
        self.close()

    def close(self):
        try:
            self.stop()
        finally:
            if not KEEP:
                shutil.rmtree(self.base, ignore_errors=True)


def tls_files(directory, names=None):
    """(ca, cert, key) for a peer: the harness's test CA and its leaf for localhost,
    127.0.0.1 and ::1, or with `names` (host names and IP addresses) a leaf for those, signed
    by the same CA, for tests where the client checks the MX host's name."""
    ca, cert, key = make_tls(directory)
    if not names:
        return ca, cert, key
    cert, key = os.path.join(directory, "named.pem"), os.path.join(directory, "named.key")
    csr, ext = os.path.join(directory, "named.csr"), os.path.join(directory, "named.ext")
    alt = ",".join(("IP:" if re.fullmatch(r"[\d.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*", n)
                    else "DNS:") + n for n in names)
    with open(ext, "w") as f:
        f.write(f"subjectAltName={alt}\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={names[0]}")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca,
        "-CAkey", os.path.join(directory, "ca.key"), "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    return ca, cert, key
