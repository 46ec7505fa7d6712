"""A throwaway Samba Active Directory domain controller whose KDC serves the GSSAPI login tests
against AD (tests/integration/auth/test_kerberos_samba.py).

    with SambaDc(host="localhost") as dc:      # provisions, seeds, starts the KDC
        dc.kinit("alice")                      # into dc.ccache, password USERS["alice"]
        m = Mailroom(auth_config=f'kerberos_keytab = "{dc.keytab}"')
        m.start(env=dc.server_env())          # mailroomd reads dc.krb5_conf

What it does, in a temp dir, as root (Samba's AD DC refuses to run otherwise):
- `samba-tool domain provision` of realm SAMDOM.EXAMPLE.COM (NetBIOS domain SAMDOM, host DC1,
  no DNS backend), reading no /etc/samba/smb.conf (an empty -s file), every path of the DC in
  the temp dir. Provisioning is the slow part: 8 s idle, up to 35 s on two busy cores.
- Offline, straight into sam.ldb (samba-tool -H, before the DC runs): users alice and erin
  (passwords in USERS), carol disabled (userAccountControl ACCOUNTDISABLE), and the service
  account mailsvc holding the SPNs imap/<host>, pop/<host> and smtp/<host>. mailsvc gets
  msDS-SupportedEncryptionTypes = AES128|AES256 (24), as an administrator sets it for a
  service: without it AD treats the account as RC4-only, and `samba-tool domain exportkeytab`
  exports nothing but its arcfour-hmac key. The keytab (`keytab`) is then exported with
  `samba-tool domain exportkeytab --principal=<spn>` per SPN.
- Runs `samba -F -M single` with `server services = kdc` only: the Kerberos KDC (and kpasswd)
  on free 127.0.0.1 ports, nothing else. AD's LDAP ports (389/636/3268/3269, hard-coded in
  Samba) are never bound, so the test neither needs them free nor clashes with a slapd or
  another DC on the machine, and the KDC is reachable from the host like any other.
  Ready about 1 s after start (the probe is a real kinit of alice).
No DNS is asked: the krb5.conf lists the KDC (TCP only, udp_preference_limit = 1) and maps
<host> to the realm. Needs samba, samba-ad-dc, samba-ad-provision, samba-dsdb-modules (and
Debian's /usr/bin/python3 with python3-samba, which samba-tool is written in) and krb5-user.
"""
import os
import subprocess
import tempfile
import time

from peers_common import Peer, die_with_parent, free_port, read_text, register, unregister

SAMBA = "/usr/sbin/samba"
SAMBA_TOOL = "/usr/bin/samba-tool"
KINIT = "/usr/bin/kinit"
PYTHON = "/usr/bin/python3"

REALM = "SAMDOM.EXAMPLE.COM"
DOMAIN = "SAMDOM"
ADMIN_PASSWORD = "Passw0rd!Adm"
# AD's default password policy wants three character classes and 7+ characters.
USERS = {"alice": "Passw0rd!1", "carol": "Passw0rd!3", "erin": "Passw0rd!5"}
DISABLED = ("carol",)
SERVICE_ACCOUNT = "mailsvc"
SERVICES = ("imap", "pop", "smtp")
AES_ONLY = 0x8 | 0x10  # msDS-SupportedEncryptionTypes: AES128-CTS-HMAC-SHA1-96, AES256-...

# Run with Debian's python3 (python3-samba): sets one attribute of an account, offline.
_SET_ATTRIBUTE = """
import sys
import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
conf, account, attr, value = sys.argv[1:]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
res = db.search(db.domain_dn(), scope=ldb.SCOPE_SUBTREE,
                expression="(sAMAccountName=%s)" % ldb.binary_encode(account), attrs=["dn"])
if len(res) != 1:
    sys.exit("no account " + account)
msg = ldb.Message(res[0].dn)
msg[attr] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE, attr)
db.modify(msg)
"""


def available():
    """None when everything needed is here, else why not (for skipTest)."""
    missing = [p for p in (SAMBA, SAMBA_TOOL, KINIT, PYTHON) if not os.access(p, os.X_OK)]
    if missing:
        return "Samba AD DC programs missing: " + ", ".join(missing)
    if os.geteuid() != 0:
        return "a Samba AD DC runs only as root"
    if subprocess.run([PYTHON, "-c", "import samba.samdb"], capture_output=True).returncode:
        return "Python's samba module (python3-samba) is missing"
    return None


class SambaDc(Peer):
    def __init__(self, host="localhost"):
        self.host = host
        self.base = tempfile.mkdtemp(prefix="mr-samba-")
        self.dc = os.path.join(self.base, "dc")          # provision --targetdir
        self.smb_conf = os.path.join(self.dc, "etc", "smb.conf")
        self.krb5_conf = os.path.join(self.base, "krb5.conf")
        self.keytab = os.path.join(self.base, "mail.keytab")
        self.ccache = "FILE:" + os.path.join(self.base, "cc.client")
        self.rcache = os.path.join(self.base, "rcache")
        self.log_path = os.path.join(self.base, "samba.log")
        self.port = None
        self.kpasswd_port = None
        self.proc = None
        self.provision_seconds = None  # samba-tool domain provision
        self.seed_seconds = None       # users, the service account, its SPNs, the keytab
        self.start_seconds = None      # samba started -> the first kinit answered

    def __repr__(self):
        return f"SambaDc({REALM} KDC 127.0.0.1:{self.port})"

    # --- environments ---
    def client_env(self, ccache=None):
        """For kinit, curl and Python's gssapi: our krb5.conf and the client's ccache."""
        env = dict(os.environ)
        env.update(KRB5_CONFIG=self.krb5_conf, KRB5CCNAME=ccache or self.ccache)
        env.pop("KRB5_KTNAME", None)
        return env

    def server_env(self):
        """For mailroomd: our krb5.conf (default realm SAMDOM.EXAMPLE.COM), a private replay
        cache."""
        env = dict(os.environ)
        env.update(KRB5_CONFIG=self.krb5_conf, KRB5RCACHEDIR=self.rcache)
        for k in ("KRB5CCNAME", "KRB5_KTNAME"):
            env.pop(k, None)
        return env

    # --- tools ---
    def _run(self, *cmd, timeout=120, input=None, env=None):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           cwd=self.base, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stdout}{p.stderr}")
        return p.stdout

    def samba_tool(self, *args, timeout=120):
        """samba-tool on this DC's configuration (offline on sam.ldb unless -H says else)."""
        return self._run(SAMBA_TOOL, *args, "-s", self.smb_conf, timeout=timeout)

    def kinit(self, user, password=None, ccache=None):
        """A TGT for `user` ("name" of the realm, or "name@REALM") into the ccache; raises
        RuntimeError with kinit's message when the KDC says no."""
        if password is None:
            password = USERS[user.split("@")[0]]
        p = subprocess.run([KINIT, user], input=password + "\n", env=self.client_env(ccache),
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"kinit {user}: {p.stdout}{p.stderr}")

    def log(self):
        return read_text(self.log_path)

    # --- provisioning ---
    def _provision(self):
        os.makedirs(os.path.join(self.dc, "run"), exist_ok=True)
        os.makedirs(os.path.join(self.dc, "log"), exist_ok=True)
        empty = os.path.join(self.base, "empty.conf")  # not /etc/samba/smb.conf
        open(empty, "w").close()
        run = os.path.join(self.dc, "run")
        options = {
            "interfaces": "127.0.0.1",
            "bind interfaces only": "yes",
            # Only the KDC: no LDAP (fixed ports 389/636/3268/3269), no smbd, no RPC, no DNS.
            "server services": "kdc",
            "krb5 port": str(self.port),
            "kpasswd port": str(self.kpasswd_port),
            "pid directory": run,
            "ncalrpc dir": os.path.join(run, "ncalrpc"),
            "winbindd socket directory": os.path.join(run, "winbindd"),
            "ntp signd socket directory": os.path.join(run, "ntp_signd"),
            "log file": os.path.join(self.dc, "log", "log.%m"),
        }
        t0 = time.monotonic()
        self._run(SAMBA_TOOL, "domain", "provision", "-s", empty, f"--targetdir={self.dc}",
                  f"--realm={REALM}", f"--domain={DOMAIN}", "--server-role=dc",
                  "--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}", "--host-name=DC1",
                  "--host-ip=127.0.0.1",
                  *[f"--option={k}={v}" for k, v in options.items()], timeout=240)
        self.provision_seconds = time.monotonic() - t0
        t0 = time.monotonic()
        sam = os.path.join(self.dc, "private", "sam.ldb")
        for user, password in USERS.items():
            self.samba_tool("user", "create", user, password, "-H", sam)
        for user in DISABLED:
            self.samba_tool("user", "disable", user, "-H", sam)
        self.samba_tool("user", "create", SERVICE_ACCOUNT, "--random-password", "-H", sam)
        self._run(PYTHON, "-c", _SET_ATTRIBUTE, self.smb_conf, SERVICE_ACCOUNT,
                  "msDS-SupportedEncryptionTypes", str(AES_ONLY))
        for service in SERVICES:
            self.samba_tool("spn", "add", f"{service}/{self.host}", SERVICE_ACCOUNT, "-H", sam)
        for service in SERVICES:
            self.samba_tool("domain", "exportkeytab", self.keytab,
                            f"--principal={service}/{self.host}")
        self.seed_seconds = time.monotonic() - t0

    def _write_krb5_conf(self):
        self.write_krb5_conf()

    def write_krb5_conf(self, path=None, extra=""):
        """A krb5.conf naming this DC's KDC (default: self.krb5_conf); `extra` goes into
        [libdefaults] (e.g. "ticket_lifetime = 6m"). Returns its path."""
        with open(path or self.krb5_conf, "w") as f:
            f.write(f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    {extra}
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{self.port}
        kpasswd_server = 127.0.0.1:{self.kpasswd_port}
    }}
[domain_realm]
    {self.host} = {REALM}
""")
        return path or self.krb5_conf

    def _set_ports(self):
        """New free ports into smb.conf (provisioned with others when a retry needs them)."""
        self.port = free_port(udp=True)
        self.kpasswd_port = free_port(udp=True)
        while self.kpasswd_port == self.port:
            self.kpasswd_port = free_port(udp=True)
        if os.path.exists(self.smb_conf):
            with open(self.smb_conf) as f:
                lines = f.read().splitlines()
            for i, line in enumerate(lines):
                key = line.split("=", 1)[0].strip()
                if key == "krb5 port":
                    lines[i] = f"\tkrb5 port = {self.port}"
                elif key == "kpasswd port":
                    lines[i] = f"\tkpasswd port = {self.kpasswd_port}"
            with open(self.smb_conf, "w") as f:
                f.write("\n".join(lines) + "\n")
        self._write_krb5_conf()

    # --- lifecycle ---
    def _launch(self):
        """Starts samba on self.smb_conf, its output appended to self.log_path."""
        logf = open(self.log_path, "ab")
        try:
            # -F: foreground, so proc is the DC; -M single: one process for every service.
            self.proc = subprocess.Popen(
                [SAMBA, "-F", "--no-process-group", "-M", "single", "-s", self.smb_conf,
                 "--debug-stdout", "-d", "1"],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                cwd=self.base, preexec_fn=die_with_parent)
        finally:
            logf.close()
        register(self)

    def start(self, timeout=60):
        os.makedirs(self.rcache, exist_ok=True)
        for _ in range(3):
            self._set_ports()
            if not os.path.exists(self.smb_conf):
                self._provision()
            t0 = time.monotonic()
            self._launch()
            deadline = time.time() + timeout
            probe = "FILE:" + os.path.join(self.base, "cc.probe")
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    self.kinit("alice", ccache=probe)
                    os.unlink(probe[5:])
                    self.start_seconds = time.monotonic() - t0
                    return self
                except RuntimeError:
                    time.sleep(0.1)
            self.stop()  # a port was taken in between, or samba failed: try other ports
        raise RuntimeError(f"samba (AD DC) did not start:\n{self.log()[-3000:]}")

    def stop(self):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        unregister(self)
