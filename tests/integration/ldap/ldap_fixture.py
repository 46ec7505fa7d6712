"""A throwaway slapd for the LDAP integration tests (scripts/ldap/slapd.sh on a free port)
and a driver for the ldap_probe helper (one command per line)."""
import base64
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SLAPD_SH = os.path.join(ROOT, "scripts", "ldap", "slapd.sh")
BIN = os.environ.get("MAILROOM_BIN", os.path.join(ROOT, "build", "ldap", "bin"))
SUFFIX = "dc=example,dc=com"
ADMIN_DN = "cn=admin," + SUFFIX
ADMIN_PW = "secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def guid_b64(text):
    """objectGUID as AD stores it (first three fields little-endian), base64 for LDIF."""
    return base64.b64encode(uuid.UUID(text).bytes_le).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def make_certs(directory, cn="ca"):
    """A throwaway CA (ca.pem) and a leaf for 127.0.0.1/localhost (cert.pem, key.pem)."""
    os.makedirs(directory, exist_ok=True)
    def run(*args):
        subprocess.run(args, cwd=directory, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=Mailroom test " + cn, "-keyout", "ca.key", "-out", "ca.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "key.pem", "-out", "leaf.csr")
    with open(os.path.join(directory, "leaf.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext", "-out", "cert.pem")
    os.chmod(os.path.join(directory, "key.pem"), 0o644)
    return directory


class Slapd:
    def __init__(self, seed_ldif, ad_schema=True, tls_dir=None, ppolicy=False):
        self.dir = tempfile.mkdtemp(prefix="mr-ldap-", dir="/tmp")
        self.port = free_port()
        self.uri = "ldap://127.0.0.1:%d" % self.port
        self.ad_schema = ad_schema
        self.ppolicy = ppolicy  # the ppolicy overlay: pwdChangedTime on password changes
        self.tls_dir = tls_dir
        self.ldaps_port = free_port() if tls_dir else None
        self.ldaps_uri = "ldaps://127.0.0.1:%d" % self.ldaps_port if tls_dir else None
        with open(os.path.join(self.dir, "seed.ldif"), "w", encoding="utf-8") as f:
            f.write(seed_ldif)
        try:
            self.start(os.path.join(self.dir, "seed.ldif"))
        except Exception:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _env(self):
        env = dict(os.environ, LDAP_PORT=str(self.port), LDAP_SUFFIX=SUFFIX, LDAP_ADMIN_PW=ADMIN_PW)
        if self.ad_schema:
            env["MAILROOM_SLAPD_AD"] = "1"
        if self.ppolicy:
            env["MAILROOM_SLAPD_PPOLICY"] = "1"
        if self.tls_dir:
            env["MAILROOM_SLAPD_TLS"] = self.tls_dir
            env["LDAPS_PORT"] = str(self.ldaps_port)
        return env

    def start(self, *ldifs):
        subprocess.run([SLAPD_SH, "start", os.path.join(self.dir, "s"), *ldifs], env=self._env(),
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run([SLAPD_SH, "stop", os.path.join(self.dir, "s")], env=self._env(), check=True)

    def modify(self, ldif):
        subprocess.run(["ldapmodify", "-x", "-H", self.uri, "-D", ADMIN_DN, "-w", ADMIN_PW],
                       input=ldif.encode(), check=True, stdout=subprocess.DEVNULL)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Probe:
    """ldap_probe CONFIG: open_ldap_directory + one lookup per line."""

    def __init__(self, config_text, data_dir=None):
        self.dir = tempfile.mkdtemp(prefix="mr-probe-", dir="/tmp")
        self.config = os.path.join(self.dir, "mailroom.toml")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(config_text)
        args = [os.path.join(BIN, "ldap_probe"), self.config, data_dir or self.dir]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.ready = self.proc.stdout.readline().strip()
        if not self.ready.startswith("ready"):
            self.proc.wait(timeout=30)
            self.error = self.proc.stderr.read()
            self.returncode = self.proc.returncode
        else:
            self.error = None
            self.returncode = None

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            self.proc.wait(timeout=30)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def ad_replica_directory(uri):
    """[directory] for the Active Directory profile against AD-shaped entries in slapd (no
    LDAP_MATCHING_RULE_IN_CHAIN there, hence nested_groups = "member"), on the replica, polling
    uSNChanged every second (slapd does not maintain it: tests set it, as AD would)."""
    return f"""[directory]
backend = "ldap"
[directory.ldap]
profile = "activedirectory"
uris = ["{uri}"]
bind_dn = "{ADMIN_DN}"
bind_password = "{ADMIN_PW}"
base_dn = "ou=corp,{SUFFIX}"
domains = ["corp.example"]
nested_groups = "member"
lookup = "replica"
[directory.ldap.sync]
mode = "poll"
interval = "1s"
"""


def fields(answer):
    """'found a=1 b=x' -> {'a': '1', 'b': 'x'}"""
    out = {}
    for part in answer.split(" ")[1:]:
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out
