"""A throwaway MIT Kerberos KDC on loopback for the GSSAPI login tests (tests/integration/auth).

    with Kdc(host="mail.example.com") as kdc:
        kdc.kinit("alice")                     # into kdc.ccache, with the password alicepw
        m = Mailroom(auth_config=f'kerberos_keytab = "{kdc.keytab}"')
        m.start(env=kdc.server_env())         # mailroomd reads kdc.krb5_conf

One krb5kdc process (run in the foreground, -n) serves two realms, each with its own database
in a temp dir, on one free 127.0.0.1 port (UDP and TCP):
- EXAMPLE.COM: users alice, bob, carol, dave (password "<name>pw") and the service
  principals imap/, pop/, smtp/<host> (random keys), written to `keytab`;
- OTHER.COM: a foreign realm with a cross-realm trust to EXAMPLE.COM (krbtgt/EXAMPLE.COM@
  OTHER.COM in both databases, same password, hence same keys), so a user of OTHER.COM gets a
  ticket for our service principal: what a server sees from a trusted but unwanted realm.
No DNS is asked (dns_lookup_kdc = false, rdns = false): the krb5.conf lists the KDC and maps
<host> to EXAMPLE.COM. Needs krb5-kdc, krb5-admin-server (kadmin.local) and krb5-user.
"""
import os
import shutil
import subprocess
import tempfile
import time

from peers_common import Peer, die_with_parent, free_port, read_text, register, unregister

KRB5KDC = "/usr/sbin/krb5kdc"
KDB5_UTIL = "/usr/sbin/kdb5_util"
KADMIN_LOCAL = "/usr/sbin/kadmin.local"
KINIT = "/usr/bin/kinit"

REALM = "EXAMPLE.COM"
OTHER_REALM = "OTHER.COM"
USERS = ("alice", "bob", "carol", "dave")
SERVICES = ("imap", "pop", "smtp")


def available():
    """None when every program is installed, else what is missing (for skipTest)."""
    missing = [p for p in (KRB5KDC, KDB5_UTIL, KADMIN_LOCAL, KINIT) if not os.access(p, os.X_OK)]
    return ", ".join(missing) or None


class Kdc(Peer):
    def __init__(self, host="mail.example.com"):
        self.host = host
        self.base = tempfile.mkdtemp(prefix="mr-kdc-")
        self.krb5_conf = os.path.join(self.base, "krb5.conf")
        self.kdc_conf = os.path.join(self.base, "kdc.conf")
        self.keytab = os.path.join(self.base, "mail.keytab")
        self.ccache = "FILE:" + os.path.join(self.base, "cc.client")
        self.rcache = os.path.join(self.base, "rcache")
        self.log_path = os.path.join(self.base, "kdc.log")
        self.port = None
        self.proc = None

    def __repr__(self):
        return f"Kdc(127.0.0.1:{self.port})"

    # --- environments ---
    def client_env(self, ccache=None):
        """For kinit, curl and Python's gssapi: our krb5.conf and the client's ccache."""
        env = dict(os.environ)
        env.update(KRB5_CONFIG=self.krb5_conf, KRB5CCNAME=ccache or self.ccache)
        env.pop("KRB5_KTNAME", None)
        return env

    def server_env(self):
        """For mailroomd: our krb5.conf (default realm) and a private replay cache."""
        env = dict(os.environ)
        env.update(KRB5_CONFIG=self.krb5_conf, KRB5RCACHEDIR=self.rcache)
        for k in ("KRB5CCNAME", "KRB5_KTNAME"):
            env.pop(k, None)
        return env

    def _admin_env(self):
        env = dict(os.environ)
        env.update(KRB5_CONFIG=self.krb5_conf, KRB5_KDC_PROFILE=self.kdc_conf)
        return env

    # --- tools ---
    def kadmin(self, realm, *queries):
        """Runs kadmin.local queries on `realm`'s database; raises on any error."""
        for q in queries:
            p = subprocess.run([KADMIN_LOCAL, "-r", realm, "-q", q], env=self._admin_env(),
                               capture_output=True, text=True, timeout=60)
            out = p.stdout + p.stderr
            if p.returncode != 0 or "error" in out.lower() or "not found" in out.lower():
                raise RuntimeError(f"kadmin.local -r {realm} -q {q!r}: {out}")

    def kinit(self, user, password=None, ccache=None):
        """A TGT for `user` (a name of EXAMPLE.COM, or "name@REALM") into the ccache."""
        if password is None:
            password = user.split("@")[0] + "pw"
        p = subprocess.run([KINIT, user], input=password + "\n", env=self.client_env(ccache),
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"kinit {user}: {p.stdout}{p.stderr}\n{self.log()[-3000:]}")

    def write_keytab(self, path, *principals):
        """Another keytab holding the current keys of `principals` (full names)."""
        for p in principals:
            realm = p.rsplit("@", 1)[1]
            self.kadmin(realm, f"ktadd -norandkey -k {path} {p}")
        return path

    def log(self):
        return read_text(self.log_path)

    # --- lifecycle ---
    def _write_configs(self):
        with open(self.krb5_conf, "w") as f:
            f.write(f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{self.port}
    }}
    {OTHER_REALM} = {{
        kdc = 127.0.0.1:{self.port}
    }}
[domain_realm]
    {self.host} = {REALM}
[capaths]
    {OTHER_REALM} = {{
        {REALM} = .
    }}
""")
        realms = ""
        for realm in (REALM, OTHER_REALM):
            db = os.path.join(self.base, realm.lower())
            os.makedirs(db, exist_ok=True)
            realms += f"""    {realm} = {{
        database_name = {db}/principal
        key_stash_file = {db}/stash
        acl_file = {db}/kadm5.acl
        max_life = 1d
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
"""
            open(os.path.join(db, "kadm5.acl"), "w").close()
        with open(self.kdc_conf, "w") as f:
            f.write(f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{self.port}
    kdc_tcp_listen = 127.0.0.1:{self.port}
[realms]
{realms}[dbmodules]
    {REALM} = {{
        disable_last_success = true
        disable_lockout = true
    }}
    {OTHER_REALM} = {{
        disable_last_success = true
        disable_lockout = true
    }}
[logging]
    kdc = FILE:{self.log_path}
    default = FILE:{self.log_path}
""")

    def _make_realms(self):
        for realm in (REALM, OTHER_REALM):
            # -W: do not wait for /dev/random entropy; -P: the master password, no prompt.
            p = subprocess.run([KDB5_UTIL, "create", "-s", "-W", "-r", realm, "-P", "masterpw"],
                               env=self._admin_env(), capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                raise RuntimeError(f"kdb5_util create {realm}: {p.stdout}{p.stderr}")
        self.kadmin(REALM, *[f"addprinc -pw {u}pw {u}" for u in USERS])
        self.kadmin(REALM, *[f"addprinc -randkey {s}/{self.host}" for s in SERVICES])
        self.kadmin(REALM, "ktadd -k {} {}".format(
            self.keytab, " ".join(f"{s}/{self.host}" for s in SERVICES)))
        self.kadmin(OTHER_REALM, *[f"addprinc -pw {u}pw {u}" for u in USERS])
        # The cross-realm key: one principal name in both databases, one password, so both
        # derive the same keys (the salt is made of the principal's name).
        cross = f"krbtgt/{REALM}@{OTHER_REALM}"
        for realm in (REALM, OTHER_REALM):
            self.kadmin(realm, f"addprinc -pw crossrealmpw {cross}")

    def start(self, timeout=20):
        os.makedirs(self.rcache, exist_ok=True)
        for _ in range(3):
            self.port = free_port(udp=True)
            self._write_configs()
            if not os.path.exists(os.path.join(self.base, REALM.lower(), "principal")):
                self._make_realms()
            # -n: stay in the foreground (so proc is the KDC); one -r per realm served.
            self.proc = subprocess.Popen(
                [KRB5KDC, "-n", "-r", REALM, "-r", OTHER_REALM], env=self._admin_env(),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent)
            register(self)
            deadline = time.time() + timeout
            probe = "FILE:" + os.path.join(self.base, "cc.probe")
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    self.kinit("alice", ccache=probe)
                    os.unlink(probe[5:])
                    return self
                except RuntimeError:
                    time.sleep(0.1)
            self.stop()  # the port was taken in between, or the KDC failed: try another
        raise RuntimeError(f"krb5kdc did not start:\n{self.log()[-3000:]}")

    def stop(self):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        unregister(self)

    def close(self):
        try:
            self.stop()
        finally:
            if os.environ.get("MAILROOM_KEEP_TEST_DATA") != "1":
                shutil.rmtree(self.base, ignore_errors=True)
