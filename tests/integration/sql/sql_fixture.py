"""Shared pieces of the SQL directory tests: demo rows, hashes and the driver process."""
import base64
import hashlib
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SCHEMA = os.path.join(ROOT, "schema", "sql", "mariadb", "001_directory.sql")


def driver_path():
    return os.environ.get("MAILROOM_SQL_DRIVER") or os.path.join(
        os.environ.get("MAILROOM_BIN", os.path.join(ROOT, "build", "debug", "bin")),
        "sql_directory_driver")


def ssha512(password, salt=b"pepper12"):
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def sha512_crypt(password, salt="saltsalt"):
    out = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, password],
                         capture_output=True, text=True, check=True).stdout.strip()
    return "{SHA512-CRYPT}" + out


def q(s):
    """SQL literal for fixture rows written by the test itself (never for inputs under test)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def demo_rows(tag=""):
    """example.com with alice (SHA512-CRYPT), bob (SSHA512), carol (disabled), staff@ group,
    info@ alias, example.net as an alias domain. `tag` marks display names per server."""
    return f"""
    INSERT INTO domains (name, kind, alias_of, catch_all) VALUES
      ('example.com', 'local', NULL, NULL), ('example.net', 'alias', 'example.com', NULL);
    INSERT INTO accounts (id, login, address, display_name, password_hash, scram_secret, status,
                          quota_bytes) VALUES
      ('id-alice', 'alice', 'alice@example.com', {q('Alice Liddell' + tag)},
       {q(sha512_crypt('wonderland'))}, 'SCRAM-SHA-256$4096:c2FsdA==$AAAA:BBBB', 'active',
       1000000),
      ('id-bob', 'bob', 'bob@example.com', {q('Bob Builder' + tag)}, {q(ssha512('builder'))},
       NULL, 'active', 0),
      ('id-carol', 'carol', 'carol@example.com', 'Carol', {q(ssha512('secret'))}, NULL,
       'disabled', 0);
    INSERT INTO account_addresses (account_id, kind, address) VALUES
      ('id-alice', 'other', 'a.liddell@example.com'),
      ('id-alice', 'send_as', 'queen@example.com'),
      ('id-bob', 'forward', 'bob@elsewhere.example'),
      ('id-bob', 'forward', 'builder@elsewhere.example');
    UPDATE accounts SET forward_keep_copy = FALSE WHERE id = 'id-bob';
    INSERT INTO aliases (address, target) VALUES
      ('info@example.com', 'alice@example.com'), ('info@example.com', 'bob@example.com');
    INSERT INTO `groups` (address, display_name, send_policy) VALUES
      ('staff@example.com', 'Staff', 'moderators');
    INSERT INTO group_members (group_address, member) VALUES
      ('staff@example.com', 'alice@example.com'), ('staff@example.com', 'bob@example.com');
    INSERT INTO group_senders (group_address, sender) VALUES ('staff@example.com', 'alice@example.com');
    """


def sql_config(servers, user="mailroom", password="secret", database="mailroom", extra="",
               queries=""):
    server_list = ", ".join(f'"127.0.0.1:{p}"' for p in servers)
    text = f"""[directory]
backend = "sql"

[directory.sql]
servers = [{server_list}]
database = "{database}"
user = "{user}"
password = "{password}"
pool_size = 3
connect_timeout = "2s"
read_timeout = "5s"
write_timeout = "5s"
retry_after = "30s"
{extra}
"""
    if queries:
        text += "\n[directory.sql.queries]\n" + queries + "\n"
    return text


class Driver:
    """One sql_directory_driver process: one open SqlDirectory with its pool."""

    def __init__(self, config_text, data_dir=None):
        fd, self.config = tempfile.mkstemp(suffix=".toml", prefix="mr-sql-")
        with os.fdopen(fd, "w") as f:
            f.write(config_text)
        args = [driver_path(), self.config] + ([data_dir] if data_dir else [])
        # The driver's log (warnings and up) goes to a file the test can read while the driver
        # runs (log_text), to wait for an event such as event=sql_sync_failed.
        fd, self.log_path = tempfile.mkstemp(suffix=".log", prefix="mr-sql-driver-")
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, text=True)
        self.opened = json.loads(self.proc.stdout.readline() or '{"open":"crashed"}')

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def ask(self, *fields):
        self.proc.stdin.write("\t".join(fields) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("driver died: " + self.log_text())
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.stderr = self.log_text()
        self.proc.stdout.close()
        self.proc.stdin.close()
        os.unlink(self.config)
        os.unlink(self.log_path)
        return self.proc.returncode
