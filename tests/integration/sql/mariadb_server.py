"""A throwaway mariadbd for tests: temp datadir, a free loopback port, started and stopped
by the test itself (no system service, no /etc/mysql: --no-defaults comes first).

    with MariaDB() as db:
        db.sql("CREATE TABLE ...")           # as root over the unix socket
        db.port, db.user, db.password, db.database

When run as root, mariadbd refuses to start without --user; it runs as the `mysql` account
the Debian package creates, so the temp directory is made reachable for it.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
CLIENT = "/usr/bin/mariadb"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available():
    return all(os.path.exists(p) for p in (MARIADBD, INSTALL_DB, CLIENT))


class MariaDB:
    def __init__(self, database="mailroom", user="mailroom", password="secret", port=None,
                 base=None):
        self.database, self.user, self.password = database, user, password
        self.base = base or tempfile.mkdtemp(prefix="mr-maria-", dir="/tmp")
        self.datadir = os.path.join(self.base, "data")
        self.socket = os.path.join(self.base, "mysqld.sock")
        # Its own tmpdir: a starting mariadbd removes every "#sql*" file in its tmpdir, so two
        # servers bootstrapping at once in /tmp deleted each other's temporary tables
        # ("Error on delete of '/tmp/#sql-temptable-…'", mariadb-install-db failed).
        self.tmpdir = os.path.join(self.base, "tmp")
        self.port = port or free_port()
        self.proc = None
        self.runas = []
        if os.geteuid() == 0:
            os.chmod(self.base, 0o755)
            shutil.chown(self.base, "mysql", "mysql")
            self.runas = ["--user=mysql"]
        os.makedirs(self.tmpdir, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.tmpdir, "mysql", "mysql")

    # --- lifecycle ---
    def install(self):
        """A fresh system datadir. mariadb-install-db takes about 5 s, and a make test starts a
        dozen servers: it runs once per build and mariadbd version (harness.cached_tree), and
        each server gets a copy, owned by the account mariadbd runs as."""
        if os.path.isdir(os.path.join(self.datadir, "mysql")):
            return
        from harness import cached_tree
        st = os.stat(MARIADBD)
        os.makedirs(self.datadir, exist_ok=True)
        cached_tree(f"mariadb-datadir-{st.st_size}-{int(st.st_mtime)}", self.datadir,
                    self._install_db)
        if os.geteuid() == 0:
            for root, dirs, files in os.walk(self.datadir):
                for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                    shutil.chown(name, "mysql", "mysql")

    def _install_db(self, datadir):
        r = subprocess.run([INSTALL_DB, "--no-defaults", *self.runas, f"--datadir={datadir}",
                            f"--tmpdir={self.tmpdir}", "--auth-root-authentication-method=normal",
                            "--skip-test-db",
                            "--skip-name-resolve"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("mariadb-install-db failed: " + r.stdout + r.stderr)

    def _spawn(self, log):
        return subprocess.Popen(
            [MARIADBD, "--no-defaults", *self.runas, f"--datadir={self.datadir}",
             f"--tmpdir={self.tmpdir}", f"--socket={self.socket}", f"--port={self.port}",
             "--bind-address=127.0.0.1",
             "--skip-name-resolve", f"--pid-file={self.base}/mariadbd.pid",
             f"--log-error={self.base}/error.log", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_unicode_ci", "--innodb-buffer-pool-size=32M",
             "--innodb-log-file-size=16M", "--innodb-flush-log-at-trx-commit=2",
             "--skip-log-bin", "--max-connections=200"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)

    def start(self, timeout=60):
        self.install()
        with open(os.path.join(self.base, "stdout.log"), "ab") as log:
            self.proc = self._spawn(log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited: " + self.error_log())
            r = subprocess.run([CLIENT, "--no-defaults", "-uroot", f"--socket={self.socket}",
                                "-e", "SELECT 1"], capture_output=True)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("mariadbd not ready: " + self.error_log())
        self.sql(f"""
            CREATE DATABASE IF NOT EXISTS `{self.database}` CHARACTER SET utf8mb4;
            CREATE USER IF NOT EXISTS '{self.user}'@'127.0.0.1' IDENTIFIED BY '{self.password}';
            CREATE USER IF NOT EXISTS '{self.user}'@'localhost' IDENTIFIED BY '{self.password}';
            GRANT ALL ON `{self.database}`.* TO '{self.user}'@'127.0.0.1';
            GRANT ALL ON `{self.database}`.* TO '{self.user}'@'localhost';
        """, database="")
        return self

    def stop(self, kill=False):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def cleanup(self):
        self.stop()
        if os.environ.get("MAILROOM_KEEP_TEST_DATA") != "1":
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # --- tools ---
    def error_log(self):
        try:
            with open(os.path.join(self.base, "error.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return "(no error log)"

    def sql(self, text, database=None):
        """Runs SQL as root over the socket; returns the tab-separated rows."""
        db = self.database if database is None else database
        args = [CLIENT, "--no-defaults", "-uroot", f"--socket={self.socket}", "-N", "-B"]
        if db:
            args.append(db)
        r = subprocess.run(args, input=text, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("SQL failed: " + r.stderr)
        return [line.split("\t") for line in r.stdout.splitlines()]

    def load(self, path):
        with open(path) as f:
            self.sql(f.read())
