"""A throwaway Samba AD DC serving LDAP (389, LDAPS 636, StartTLS), seeded with AD-shaped
people, for the Active Directory tests of the LDAP directory backend
(tests/integration/ldap/test_ad_samba.py).

    why_not = peers_samba_ldap.prepare()       # None, or why the DC cannot run (skipTest)
    dc = SambaLdapDc().start()                 # ~1 s from the cached template
    dc.uri("ldaps"), dc.ca, dc.bind_dn, dc.bind_password, dc.base_dn
    dc.modify(ldif)                            # ldapmodify as Administrator over LDAPS
    dc.keytab, dc.principal, dc.krb5_conf      # the service account's Kerberos identity
    dc.close()

Ports: Samba hard-codes AD's LDAP ports (389/636/3268/3269; see peers_samba.py). prepare()
moves the test process into a private network namespace (netns.py) first, so the DC, the
mailroomd and the clients the test starts afterwards all meet on 127.0.0.1 inside it, and
nothing on the machine (a slapd test of ctest -j2, a system slapd) can clash. Where a
namespace cannot be made, the host's loopback is used if those ports are free there; else
the tests skip saying which port is taken.

Provisioning (samba-tool domain provision, 8-35 s on two cores) and seeding (1,600 users)
happen once per build: the provisioned, seeded, never started DC is kept as a template under
the harness's cache (harness.cached_tree) and copied for each DC, with the paths of its
smb.conf rewritten (the ldb/tdb files hold none). Its key covers the Samba version, this
file's people and scripts/ad/samba-seed.py, so a change of either provisions again.

The people (PEOPLE): users with mail and proxyAddresses (SMTP: primary, smtp: secondary), a
disabled user (userAccountControl 514), an expired one (accountExpires in 2009), a UPN that is
not the mail address, groups with mail nested three deep, a group of 1,600 members
(BULK_COUNT; more than AD's MaxValRange of 1,500), and the service account mailsvc for the
bind, allowed to list CN=Deleted Objects (tombstones) as an administrator would allow it.
Realm SAMDOM.EXAMPLE.COM, mail domain samdom.example.com.

Kerberos (the GSSAPI service bind): the DC runs its KDC too, on a free port chosen at each
start (written into smb.conf and into `krb5_conf`, which lists that KDC; TCP only, no DNS).
The template holds the service account's keytab (`keytab`, 0600, exported with
`samba-tool domain exportkeytab --principal=mailsvc@REALM` after mailsvc got AES keys,
msDS-SupportedEncryptionTypes = 24), and the DC's machine account DC1$ holds the extra SPN
ldap/127.0.0.1: libldap, told not to canonicalise (LDAP_OPT_X_SASL_NOCANON), asks for a
ticket to ldap/<the host of the URI>.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import netns
import peers_samba
from harness import cached_tree, make_tls
from peers_common import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEED_SCRIPT = os.path.join(ROOT, "scripts", "ad", "samba-seed.py")
LDAPSEARCH = "/usr/bin/ldapsearch"
LDAPMODIFY = "/usr/bin/ldapmodify"

REALM = peers_samba.REALM
DOMAIN = peers_samba.DOMAIN
MAIL_DOMAIN = REALM.lower()
BASE_DN = ",".join("DC=" + p for p in MAIL_DOMAIN.split("."))
ADMIN_PASSWORD = peers_samba.ADMIN_PASSWORD
AD_LDAP_PORTS = (389, 636, 3268, 3269)

SERVICE_ACCOUNT = "mailsvc"
SERVICE_PASSWORD = "Svc-Passw0rd!1"
SERVICE_PRINCIPAL = f"{SERVICE_ACCOUNT}@{REALM}"
LDAP_SPN = "ldap/127.0.0.1"  # the host of ldap://127.0.0.1:389, not canonicalised
BULK_PREFIX = "bulk"
BULK_COUNT = 1600
NEVER_EXPIRES = "9223372036854775807"
EXPIRED_2009 = "128752128000000000"  # FILETIME ticks (100 ns since 1601): 2009-01-01


def _user(name, password, **kw):
    return dict(name=name, password=password, mail=kw.pop("mail", f"{name}@{MAIL_DOMAIN}"), **kw)


PEOPLE = {
    "users": [
        _user(SERVICE_ACCOUNT, SERVICE_PASSWORD, mail=None),
        _user("alice", "Passw0rd!1", display="Alice Liddell",
              proxy=[f"SMTP:alice@{MAIL_DOMAIN}", f"smtp:a.liddell@{MAIL_DOMAIN}",
                     "X500:/o=Samdom/ou=First/cn=Recipients/cn=alice"]),
        # The primary address (SMTP:) is not `mail`; the UPN is neither.
        _user("bob", "Passw0rd!2", upn=f"builder@{MAIL_DOMAIN}",
              proxy=[f"SMTP:robert.builder@{MAIL_DOMAIN}", f"smtp:bob@{MAIL_DOMAIN}"]),
        _user("carol", "Passw0rd!3", uac=514),        # ACCOUNTDISABLE | NORMAL_ACCOUNT
        _user("dave", "Passw0rd!4", expires=EXPIRED_2009),
        _user("erin", "Passw0rd!5"),                   # renamed by a test
        _user("frank", "Passw0rd!6"),                  # in the innermost group
        _user("grace", "Passw0rd!7"),                  # in the middle group
        _user("heidi", "Passw0rd!8"),                  # deleted by a test
        _user("ivan", "Passw0rd!9"),                   # disabled on the DC by a test
        _user("judy", "Passw0rd!10"),                  # changed while the DC's identity changes
        _user("kim", "Passw0rd!11", mail=None, proxy=[f"SMTP:kim@{MAIL_DOMAIN}"]),  # no `mail`
    ],
    "bulk": {"prefix": BULK_PREFIX, "count": BULK_COUNT, "domain": MAIL_DOMAIN},
    "groups": [
        {"name": "all-staff", "mail": f"all-staff@{MAIL_DOMAIN}",
         "members": ["alice", "engineering"]},
        {"name": "engineering", "mail": f"engineering@{MAIL_DOMAIN}",
         "members": ["grace", "backend"]},
        {"name": "backend", "members": ["frank"]},   # a security group without mail
        {"name": "everyone", "mail": f"everyone@{MAIL_DOMAIN}", "bulk": True},
    ],
    "tombstone_reader": SERVICE_ACCOUNT,
}
PASSWORDS = {u["name"]: u["password"] for u in PEOPLE["users"]}


def available():
    """None when everything needed is here, else why not (for skipTest)."""
    why = peers_samba.available()
    if why:
        return why
    missing = [p for p in (LDAPSEARCH, LDAPMODIFY) if not os.access(p, os.X_OK)]
    if missing:
        return "ldap-utils missing: " + ", ".join(missing)
    return None


def prepare():
    """Makes AD's fixed LDAP ports usable for this process: a private network namespace, or
    the host's loopback when they are free there. None, or why the DC cannot run."""
    why = available()
    if why:
        return why
    ns_error = netns.enter_private_network()
    if ns_error is None:
        return None
    taken = netns.ports_in_use(AD_LDAP_PORTS)
    if taken:
        return (f"Samba's AD LDAP needs 127.0.0.1 ports {AD_LDAP_PORTS}; no private network "
                f"namespace ({ns_error}) and {taken} in use on the host")
    return None


def _samba_version():
    p = subprocess.run([peers_samba.SAMBA, "-V"], capture_output=True, text=True)
    return p.stdout.strip()


def template_key():
    h = hashlib.sha256()
    h.update(_samba_version().encode())
    h.update(json.dumps(PEOPLE, sort_keys=True).encode())
    with open(SEED_SCRIPT, "rb") as f:
        h.update(f.read())
    with open(__file__, "rb") as f:  # the provisioning options below
        h.update(f.read())
    return "samba-ad-ldap-" + h.hexdigest()[:24]


def guid_text(b64):
    """objectGUID (base64 from ldapsearch) as Mailroom shows it: the UUID of MS-DTYP 2.3.4.2,
    the first three fields little-endian."""
    return str(uuid.UUID(bytes_le=base64.b64decode(b64)))


class SambaLdapDc(peers_samba.SambaDc):
    """SambaDc's tools and stop(); its own provisioning (LDAP, TLS, the template) and start."""

    def __init__(self):  # not SambaDc's: no KDC, no keytab, fixed LDAP ports
        self.base = tempfile.mkdtemp(prefix="mr-samba-ldap-")
        self.dc = os.path.join(self.base, "dc")
        self.smb_conf = os.path.join(self.dc, "etc", "smb.conf")
        self.tls_dir = os.path.join(self.dc, "tls")
        self.ca = os.path.join(self.tls_dir, "ca.pem")
        self.log_path = os.path.join(self.base, "samba.log")
        self.keytab = os.path.join(self.dc, "mailsvc.keytab")
        self.principal = SERVICE_PRINCIPAL
        self.krb5_conf = os.path.join(self.base, "krb5.conf")
        self.host = "127.0.0.1"  # SambaDc's krb5.conf maps it to the realm
        self.port = None          # the KDC's (SambaDc's name)
        self.kpasswd_port = None
        self.bind_dn = f"CN={SERVICE_ACCOUNT},CN=Users,{BASE_DN}"
        self.bind_password = SERVICE_PASSWORD
        self.base_dn = BASE_DN
        self.admin = f"Administrator@{MAIL_DOMAIN}"
        self.proc = None
        self.template_seconds = None  # 0 when copied from the cache
        self.start_seconds = None

    def __repr__(self):
        return f"SambaLdapDc({REALM} ldap://127.0.0.1:389)"

    @staticmethod
    def uri(kind="ldaps"):
        return "ldaps://127.0.0.1:636" if kind == "ldaps" else "ldap://127.0.0.1:389"

    # --- tools (and _run, samba_tool, log, stop of SambaDc) ---
    def _ldap_env(self):
        return dict(os.environ, LDAPTLS_CACERT=self.ca, LDAPTLS_REQCERT="demand")

    def modify(self, ldif):
        """ldapmodify as Administrator over LDAPS (the DC is running)."""
        self._run(LDAPMODIFY, "-x", "-H", self.uri("ldaps"), "-D", self.admin,
                  "-w", ADMIN_PASSWORD, input=ldif, env=self._ldap_env())

    def search(self, base, filter_, *attrs, scope="sub", controls=()):
        """ldapsearch -LLL as Administrator: the LDIF text (lines unfolded)."""
        args = [LDAPSEARCH, "-LLL", "-o", "ldif-wrap=no", "-x", "-H", self.uri("ldaps"),
                "-D", self.admin, "-w", ADMIN_PASSWORD, "-b", base, "-s", scope]
        for c in controls:
            args += ["-E", c]
        return self._run(*args, filter_, *attrs, env=self._ldap_env())

    def user_dn(self, name):
        return f"CN={name},CN=Users,{BASE_DN}"

    def guid(self, name):
        """objectGUID of the account sAMAccountName=name, as Mailroom shows ids."""
        out = self.search(BASE_DN, f"(sAMAccountName={name})", "objectGUID")
        for line in out.splitlines():
            if line.startswith("objectGUID:: "):
                return guid_text(line.split(":: ", 1)[1])
        raise RuntimeError(f"no objectGUID for {name}: {out}")

    def root_dse(self, *attrs):
        out = self.search("", "(objectClass=*)", *attrs, scope="base")
        values = {}
        for line in out.splitlines():
            if ": " in line:
                k, v = line.split(": ", 1)
                values[k.rstrip(":")] = v
        return values

    # --- the template: provisioned and seeded once per build ---
    def _make_template(self, target):
        t0 = time.monotonic()
        dc = os.path.join(target, "dc")
        run = os.path.join(dc, "run")
        os.makedirs(run)
        os.makedirs(os.path.join(dc, "log"))
        tls = os.path.join(dc, "tls")
        ca, cert, key = make_tls(os.path.join(target, "harness-tls"))
        os.makedirs(tls)
        for src, name in ((ca, "ca.pem"), (cert, "cert.pem"), (key, "key.pem")):
            shutil.copy(src, os.path.join(tls, name))
        os.chmod(os.path.join(tls, "key.pem"), 0o600)  # Samba refuses a readable key
        shutil.rmtree(os.path.join(target, "harness-tls"))
        empty = os.path.join(target, "empty.conf")  # not /etc/samba/smb.conf
        open(empty, "w").close()
        options = {
            "interfaces": "127.0.0.1",
            "bind interfaces only": "yes",
            # LDAP and the KDC (the GSSAPI bind): no smbd, RPC or DNS. cldap (UDP 389) is not
            # needed by LDAP clients that are given the DC's address.
            "server services": "ldap kdc",
            "krb5 port": "88",  # both set again at each start (_set_kdc_ports)
            "kpasswd port": "464",
            "tls enabled": "yes",
            "tls keyfile": os.path.join(tls, "key.pem"),
            "tls certfile": os.path.join(tls, "cert.pem"),
            "tls cafile": os.path.join(tls, "ca.pem"),
            "pid directory": run,
            "ncalrpc dir": os.path.join(run, "ncalrpc"),
            "winbindd socket directory": os.path.join(run, "winbindd"),
            "ntp signd socket directory": os.path.join(run, "ntp_signd"),
            "log file": os.path.join(dc, "log", "log.%m"),
        }
        self._run(peers_samba.SAMBA_TOOL, "domain", "provision", "-s", empty,
                  f"--targetdir={dc}", f"--realm={REALM}", f"--domain={DOMAIN}",
                  "--server-role=dc", "--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}",
                  "--host-name=DC1", "--host-ip=127.0.0.1",
                  *[f"--option={k}={v}" for k, v in options.items()], timeout=300)
        people = os.path.join(target, "people.json")
        with open(people, "w") as f:
            json.dump(PEOPLE, f)
        conf = os.path.join(dc, "etc", "smb.conf")
        self._run(peers_samba.PYTHON, SEED_SCRIPT, conf, people, timeout=300)
        # The GSSAPI service bind: AES keys for mailsvc (else AD treats it as RC4-only and
        # exports only that key), its keytab, and the SPN libldap asks a ticket for.
        self._run(peers_samba.PYTHON, "-c", peers_samba._SET_ATTRIBUTE, conf, SERVICE_ACCOUNT,
                  "msDS-SupportedEncryptionTypes", str(peers_samba.AES_ONLY))
        sam = os.path.join(dc, "private", "sam.ldb")
        self._run(peers_samba.SAMBA_TOOL, "spn", "add", LDAP_SPN, "DC1$", "-H", sam, "-s", conf)
        keytab = os.path.join(dc, "mailsvc.keytab")
        self._run(peers_samba.SAMBA_TOOL, "domain", "exportkeytab", keytab,
                  f"--principal={SERVICE_PRINCIPAL}", "-s", conf)
        os.chmod(keytab, 0o600)
        with open(os.path.join(target, "origin"), "w") as f:
            f.write(target)
        self.template_seconds = time.monotonic() - t0

    def _from_template(self):
        self.template_seconds = 0
        cached_tree(template_key(), self.base, self._make_template)
        with open(os.path.join(self.base, "origin")) as f:
            origin = f.read()
        if origin != self.base:
            with open(self.smb_conf) as f:
                text = f.read()
            with open(self.smb_conf, "w") as f:
                f.write(text.replace(origin + "/", self.base + "/"))

    def _set_kdc_ports(self):
        """Free ports for the KDC and kpasswd into smb.conf, and a krb5.conf naming them; a
        restart keeps them (a running client's krb5.conf stays right)."""
        if self.port is None:
            self.port, self.kpasswd_port = free_port(udp=True), free_port(udp=True)
        with open(self.smb_conf) as f:
            lines = f.read().splitlines()
        for i, line in enumerate(lines):
            key = line.split("=", 1)[0].strip()
            if key in ("krb5 port", "kpasswd port"):
                lines[i] = f"\t{key} = {self.port if key == 'krb5 port' else self.kpasswd_port}"
        with open(self.smb_conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.write_krb5_conf()

    # --- lifecycle ---
    def start(self, timeout=90):
        if not os.path.exists(self.smb_conf):
            self._from_template()
        self._set_kdc_ports()
        t0 = time.monotonic()
        self._launch()
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            try:
                self.root_dse("dsServiceName")
                self.start_seconds = time.monotonic() - t0
                return self
            except RuntimeError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"samba (AD DC with LDAP) did not start:\n{self.log()[-3000:]}")

    def restart(self):
        self.stop()
        return self.start()

    def set_invocation_id(self, new_id=None):
        """Gives the DC a new identity, as a restore from backup does (MS-ADTS 3.1.1.1.9):
        stops it, writes a new invocationId on its nTDSDSA object offline, starts it again.
        Returns the new id (text)."""
        new_id = new_id or str(uuid.uuid4())
        self.stop()
        self.offline("import uuid\n"
                     "ds = db.get_dsServiceName()\n"
                     "m = ldb.Message(ldb.Dn(db, ds))\n"
                     "m['invocationId'] = ldb.MessageElement(uuid.UUID(sys.argv[2]).bytes_le,"
                     " ldb.FLAG_MOD_REPLACE, 'invocationId')\n"
                     "db.modify(m)\n", new_id)
        self.start()
        return new_id

    def invocation_id(self):
        ds = self.root_dse("dsServiceName")["dsServiceName"]
        out = self.search(ds, "(objectClass=*)", "invocationId", scope="base")
        for line in out.splitlines():
            if line.startswith("invocationId:: "):
                return guid_text(line.split(":: ", 1)[1])
        raise RuntimeError(f"no invocationId: {out}")

    def offline(self, code, *args):
        """Runs Python `code` with Debian's python3 against this DC's sam.ldb while it is
        stopped: sys.argv[1] is smb.conf, then `args`; `db` is an open SamDB."""
        prelude = ("import sys, ldb\nfrom samba.auth import system_session\n"
                   "from samba.param import LoadParm\nfrom samba.samdb import SamDB\n"
                   "lp = LoadParm()\nlp.load(sys.argv[1])\n"
                   "db = SamDB(url=lp.private_path('sam.ldb'), session_info=system_session(),"
                   " lp=lp)\n")
        return self._run(peers_samba.PYTHON, "-c", prelude + code, self.smb_conf, *args)
