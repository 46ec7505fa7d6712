"""A throwaway clamd on loopback with a local signature database, for the antivirus tests
(tests/integration/filter). No internet and no freshclam: the database is written here.

    with Clamd() as clamd:
        m = Mailroom(extra_config=f'[antivirus]\\nengine = "clamd"\\n'
                                  f'clamd_address = "{clamd.socket}"')   # or clamd.tcp_address
        clamd.stop(); ...; clamd.start()       # take it away and bring it back

Signatures (clamd appends ".UNOFFICIAL" to names from a database that is not ClamAV's own):
- Mailroom.Test.EICAR-HDB   the MD5 of the 68-byte EICAR test file (an .hdb)
- Mailroom.Test.EICAR-NDB   the EICAR body string anywhere (an .ndb)
- Mailroom.Test.Custom      CUSTOM_MARKER anywhere (an .ndb)
add_signature(name, text) writes another .ndb (the libclamav reload test). clamd scans decoded
MIME and base64 itself, so a base64 attachment matches.

As root (and when the user exists) clamd runs as clamav (User clamav: it drops privileges
itself), so the temp dir is given to that user: it must read the database and write its
temporary files there. Needs clamav-daemon (Debian); scripts/setup installs it.
"""
import hashlib
import os
import pwd
import socket
import subprocess
import tempfile
import time

from peers_common import Guard, Peer, free_port, read_text, register, unregister

CLAMD = "/usr/sbin/clamd"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CUSTOM_MARKER = "MAILROOM-TEST-VIRUS-5d1c0a7e"


def available():
    """None when clamd is installed, else what is missing (for skipTest)."""
    return None if os.access(CLAMD, os.X_OK) else CLAMD


def ndb_line(name, text):
    return f"{name}:0:*:{text.encode().hex()}\n"


class Clamd(Peer):
    def __init__(self, stream_max_length="25M", tmp_dir=None):
        self.base = tempfile.mkdtemp(prefix="mr-clamd-")
        # TemporaryDirectory: where clamd spools INSTREAM data and decodes parts (the bench
        # puts it on tmpfs, as a busy site should).
        self.tmp_dir = tmp_dir or os.path.join(self.base, "tmp")
        self.db = os.path.join(self.base, "db")
        self.socket = os.path.join(self.base, "clamd.sock")
        self.conf = os.path.join(self.base, "clamd.conf")
        self.log_path = os.path.join(self.base, "clamd.log")
        self.stream_max_length = stream_max_length
        self.port = None
        self.proc = None
        self.guard = None
        self._write_db()

    def __repr__(self):
        return f"Clamd(127.0.0.1:{self.port})"

    @property
    def tcp_address(self):
        return f"127.0.0.1:{self.port}"

    def _write_db(self):
        os.makedirs(self.db)
        os.makedirs(os.path.join(self.base, "tmp"))
        with open(os.path.join(self.db, "mailroom-test.hdb"), "w") as f:
            f.write(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Mailroom.Test.EICAR-HDB\n")
        with open(os.path.join(self.db, "mailroom-test.ndb"), "w") as f:
            f.write(ndb_line("Mailroom.Test.EICAR-NDB", "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"))
            f.write(ndb_line("Mailroom.Test.Custom", CUSTOM_MARKER))

    def add_signature(self, name, text, file="mailroom-extra.ndb"):
        """Another signature in its own .ndb (written whole, then renamed into place)."""
        path = os.path.join(self.db, file)
        with open(path + ".tmp", "w") as f:
            f.write(ndb_line(name, text))
        os.chmod(path + ".tmp", 0o644)
        self._give_to_clamav(path + ".tmp")
        os.rename(path + ".tmp", path)

    def _clamav_user(self):
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("clamav")
        except KeyError:
            return None

    def _give_to_clamav(self, path):
        user = self._clamav_user()
        if user:
            os.chown(path, user.pw_uid, user.pw_gid)

    def _write_conf(self):
        user = self._clamav_user()
        lines = [
            "Foreground yes",
            f"DatabaseDirectory {self.db}",
            f"LocalSocket {self.socket}",
            "LocalSocketMode 666",
            f"TCPSocket {self.port}",
            "TCPAddr 127.0.0.1",
            f"LogFile {self.log_path}",
            "LogTime yes",
            f"TemporaryDirectory {self.tmp_dir}",
            f"StreamMaxLength {self.stream_max_length}",
            # Our database only: no bytecode, no official signature files to look for.
            "Bytecode no",
        ]
        if user:
            lines.append("User clamav")
            os.chmod(self.base, 0o755)
            for root, dirs, files in os.walk(self.base):
                for n in dirs + files:
                    os.chown(os.path.join(root, n), user.pw_uid, user.pw_gid)
            os.chown(self.base, user.pw_uid, user.pw_gid)
            os.chown(self.tmp_dir, user.pw_uid, user.pw_gid)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"zPING\0")
                return s.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def start(self, timeout=60):
        for attempt in range(3):
            # A restart keeps the port (mailroomd's config names it) unless it was taken.
            if self.port is None or attempt > 0:
                self.port = free_port()
            if os.path.exists(self.socket):
                os.unlink(self.socket)
            self._write_conf()
            self.proc = subprocess.Popen([CLAMD, f"--config-file={self.conf}"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            # clamd changes its user: the parent-death signal would not reach it.
            self.guard = Guard(self.proc.pid, self.conf)
            register(self)
            deadline = time.time() + timeout
            while time.time() < deadline and self.proc.poll() is None:
                if self.ping():
                    return self
                time.sleep(0.1)
            self.stop()
        raise RuntimeError(f"clamd did not start:\n{self.log()[-3000:]}")

    def stop(self):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self.guard:
            self.guard.release()
            self.guard = None
        unregister(self)

    def log(self):
        return read_text(self.log_path)
