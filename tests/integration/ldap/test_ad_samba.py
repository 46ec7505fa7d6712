"""The Active Directory profile of the LDAP directory against a real Samba AD DC
(peers_samba_ldap.py: LDAP on 389/636 inside this process's private network namespace, with
the people listed there), not slapd dressed up as AD.

- AdLiveTest: ldap_probe (lookups asked of the DC directly): the service bind over LDAPS and
  over StartTLS (and a CA the client does not trust refused), objectGUID ids, proxyAddresses,
  userAccountControl and accountExpires, nested groups through LDAP_MATCHING_RULE_IN_CHAIN,
  a group of 1,600 members, simple binds with the DC's password check.
- AdMailroomdTest: mailroomd with lookup = "replica" and the uSNChanged poll (interval 1 s,
  full compare every hour, so only the poll can explain a change seen within the test):
  logins by sAMAccountName, userPrincipalName and mail; delivery to the SMTP: and smtp:
  addresses; none to or for disabled and expired users; a group nested three deep; the
  paged initial sync; a rename on the DC keeps the account id and mailbox; a change and a
  deletion (tombstone) on the DC arrive by the poll; a disabled user's `manager` DN becomes
  the manager's objectGUID (offboarding).
- AdDcOutageTest: the DC stops under a running mailroomd and comes back (the one-DC form of
  fail-over and fail-back): mail keeps arriving from the replica, a user seen before logs in
  from the credential cache, one never seen gets a temporary error, the sync reports the
  error, and after the DC is back the poll resumes from its mark and logins go to the DC.
- AdDcIdentityTest: the high-water mark is bound to the DC's invocationId: a mark that would
  miss a change on the same DC does, and after the DC's identity changes (as a restore
  does) mailroomd reads everything again and sees it.

- AdGssapiTest: the service pool binds with Kerberos (bind_method = "gssapi": SASL GSSAPI with
  sealing over ldap://, as the service account from its keytab) while user password checks stay
  simple binds over LDAPS: the sync, lookups, delivery and IMAP logins; the credential renewed
  from the keytab (tickets of 6 minutes, renewed 5 s after each acquisition) and new
  connections bound with it; (AdGssapiOutageTest) the DC and its KDC gone: 4xx and
  [UNAVAILABLE], never a bounce, the renewal postponed with the previous credential kept, and
  back; a keytab with the wrong key, a principal the KDC does not know or the keytab does
  not hold, and a keytab others can read: `mailroomd --check-config` names the option and why.

Skipped (with the reason) where Samba's AD DC cannot run: not root, packages missing, or no
private network namespace while something holds 389/636 on the host.
"""
import glob
import imaplib
import os
import re
import shutil
import smtplib
import sqlite3
import subprocess
import tempfile
import time
import unittest

import peers_samba_ldap
from harness import Mailroom, bin_dir, make_tls
from ldap_fixture import Probe, fields
from peers_samba_ldap import BULK_COUNT, MAIL_DOMAIN as D, PASSWORDS, SambaLdapDc
from test_ldap_outage import imap_login

DC = None
WHY_NOT = None
LISTENERS = {"lmtp": ("lmtp", "none"), "imap": ("imap", "none")}
PAGE_SIZE = 200  # the initial sync crosses 8+ pages of the 1,600+ users


def setUpModule():
    global DC, WHY_NOT
    WHY_NOT = peers_samba_ldap.prepare()
    if WHY_NOT:
        return
    DC = SambaLdapDc()
    try:
        DC.start()
    except Exception:
        DC.close()
        raise
    print(f"samba AD DC: template {DC.template_seconds:.1f} s (0 = cached), "
          f"start {DC.start_seconds:.1f} s")


def tearDownModule():
    if DC:
        DC.close()


def need_dc():
    if WHY_NOT:
        raise unittest.SkipTest(f"no Samba AD DC with LDAP here: {WHY_NOT}")


def ldap_config(tls="ldaps", ca=None, lookup="live", extra="", sync="", bind=None):
    """[directory.ldap] for the DC; `bind`: the service bind's keys (default: a simple bind as
    the service account)."""
    uri = DC.uri("ldaps" if tls == "ldaps" else "ldap")
    if bind is None:
        bind = f'bind_dn = "{DC.bind_dn}"\nbind_password = "{DC.bind_password}"'
    return f"""
[directory.ldap]
profile = "activedirectory"
uris = ["{uri}"]
tls = "{tls}"
ca_file = "{ca or DC.ca}"
{bind}
base_dn = "{DC.base_dn}"
page_size = {PAGE_SIZE}
connect_timeout = 2
# Samba evaluates LDAP_MATCHING_RULE_IN_CHAIN by walking every user: the in-chain search of the
# 1,600-member group takes 1 s at load 3 and 7-8 s at load 6, and the time grows with the load
# (a make test reaches 34). `timeout` is also the time limit the search sends, and Samba answers
# "Time limit exceeded (3): 00002022: Indexed and full searches both failed!" when it runs out
# (a directory-unavailable answer, 4xx for mail, never a wrong directory): 30 s ran out in a
# loaded make test. Generous here; a stopped DC refuses connections, so no test waits for it.
timeout = 120
retry_down_after = 1
lookup = "{lookup}"
{extra}
{sync}
"""


POLL = """[directory.ldap.sync]
mode = "poll"
interval = "1s"
full_compare_interval = "1h"
"""


def wait_until(predicate, what, attempts=300, every=0.1):
    """Polls predicate() (the change travels through the DC and the sync thread); fails
    with `what` after `attempts` tries."""
    for _ in range(attempts):
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class AdLiveTest(unittest.TestCase):
    """Lookups asked of the DC itself (lookup = "live")."""

    @classmethod
    def setUpClass(cls):
        need_dc()

    def probe(self, config):
        p = Probe(config)
        self.addCleanup(p.close)
        self.assertIsNone(p.error, p.error)
        return p

    def test_service_bind_over_ldaps_and_starttls(self):
        for tls in ("ldaps", "starttls"):
            with self.subTest(tls=tls):
                p = self.probe(ldap_config(tls=tls))
                a = fields(p.ask("login alice"))
                self.assertEqual(a["id"], DC.guid("alice"))
                self.assertEqual(p.ask("password alice " + PASSWORDS["alice"]), "ok")
                self.assertEqual(p.ask("password alice Wrong-Passw0rd"), "mismatch")

    def test_a_dc_certificate_from_an_untrusted_ca_is_refused(self):
        d = tempfile.mkdtemp(prefix="mr-ad-ca-")
        self.addCleanup(shutil.rmtree, d, True)
        other = make_tls(d, fresh=True)[0]
        for tls, says in (("ldaps", "Can't contact LDAP server"), ("starttls", "StartTLS failed")):
            with self.subTest(tls=tls):
                p = Probe(ldap_config(tls=tls, ca=other))
                self.addCleanup(p.close)
                self.assertIsNotNone(p.error, "the directory opened with an untrusted DC")
                self.assertIn(says, p.error)

    def test_objectguid_proxy_addresses_and_account_control(self):
        p = self.probe(ldap_config())
        ans = p.ask(f"address a.liddell@{D}")
        alice = fields(ans)
        self.assertEqual(alice["id"], DC.guid("alice"))
        self.assertEqual(alice["address"], f"alice@{D}")
        self.assertEqual(alice["other"], f"a.liddell@{D}")  # X500: is not an address
        self.assertIn('name="Alice Liddell"', ans)  # displayName
        self.assertEqual(fields(p.ask("id " + alice["id"]))["login"], "alice")
        # SMTP: names the primary address even when `mail` says otherwise.
        bob = fields(p.ask(f"address bob@{D}"))
        self.assertEqual((bob["address"], bob["other"]), (f"robert.builder@{D}", f"bob@{D}"))
        self.assertEqual(fields(p.ask(f"login builder@{D}"))["id"], bob["id"])  # the UPN
        self.assertEqual(fields(p.ask(f"address carol@{D}"))["status"], "disabled")
        self.assertEqual(fields(p.ask(f"address dave@{D}"))["status"], "disabled")  # expired
        self.assertEqual(fields(p.ask(f"address erin@{D}"))["status"], "active")
        self.assertEqual(p.ask(f"address nobody@{D}"), "not_found")
        # The DC's own password check (simple bind as the user's DN).
        self.assertEqual(p.ask("password bob " + PASSWORDS["bob"]), "ok")
        self.assertEqual(p.ask("password bob " + PASSWORDS["alice"]), "mismatch")

    def test_nested_groups_and_a_group_of_1600(self):
        p = self.probe(ldap_config())
        ans = p.ask(f"group all-staff@{D}")
        self.assertTrue(ans.startswith("found "), ans)
        members = sorted(fields(ans)["members"].split(","))
        # alice directly, grace through engineering, frank through engineering -> backend.
        self.assertEqual(members, [f"alice@{D}", f"frank@{D}", f"grace@{D}"])
        everyone = fields(p.ask(f"group everyone@{D}"))["members"].split(",")
        self.assertEqual(len(everyone), BULK_COUNT)
        self.assertEqual(len(set(everyone)), BULK_COUNT)
        self.assertIn(f"bulk{BULK_COUNT:04d}@{D}", everyone)


def lmtp_rcpt(m, *recipients):
    """The LMTP reply code of each RCPT TO (one transaction, reset afterwards)."""
    with smtplib.LMTP("127.0.0.1", m.port("lmtp")) as lmtp:
        lmtp.ehlo("client.example")
        lmtp.mail("sender@remote.example")
        codes = [lmtp.rcpt(r)[0] for r in recipients]
        lmtp.rset()
        return codes


def lmtp_send(m, recipient, subject):
    msg = (f"From: sender@remote.example\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\n"
           "hello\r\n")
    with smtplib.LMTP("127.0.0.1", m.port("lmtp")) as lmtp:
        lmtp.sendmail("sender@remote.example", [recipient], msg)


def imap_subjects(m, user, password):
    imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
    try:
        imap.login(user, password)
        imap.select("INBOX", readonly=True)
        _, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return [part[1].decode().strip() for part in data if isinstance(part, tuple)]
    except imaplib.IMAP4.error:
        return []
    finally:
        try:
            imap.logout()
        except Exception:  # noqa: BLE001 - closing only
            pass


def replica(m, sql, *args):
    with sqlite3.connect(f"file:{os.path.join(m.data, 'directory.db')}?mode=ro", uri=True) as db:
        return db.execute(sql, args).fetchall()


def start_mailroomd(extra="", sync=POLL, directory_extra=""):
    m = Mailroom(listeners=LISTENERS,
                 directory_config='[directory]\nbackend = "ldap"\n' + directory_extra +
                 ldap_config(lookup="replica", extra=extra, sync=sync))
    try:
        m.start()
        wait_until(lambda: m.ctl("directory", "sync", "status").get("ldap.last_sync"),
                   "the first sync")
    except Exception:
        m.close()
        raise
    return m


def gssapi_config(lookup="replica", sync=POLL, keytab=None, principal=None, extra=""):
    """The service pool on Kerberos: sealed GSSAPI over ldap:// (Samba refuses it inside TLS);
    user password checks (simple binds) over LDAPS."""
    bind = (f'service_uris = ["{DC.uri("ldap")}"]\nbind_method = "gssapi"\n'
            f'keytab = "{keytab or DC.keytab}"\nprincipal = "{principal or DC.principal}"\n'
            'sasl_ssf = "seal"')
    return ldap_config(lookup=lookup, sync=sync, bind=bind,
                       extra=f'user_base = "CN=Users,{DC.base_dn}"\n{extra}')


# The test's krb5.conf asks for tickets of 6 minutes (Samba's KDC refuses service tickets from
# a TGT with less than its 5-minute clock skew left): renewed 5 s after each acquisition.
TICKET_LIFETIME = "ticket_lifetime = 6m"
RENEW_BEFORE = 'gssapi_renew_before = "355s"'


def kerberos_env(krb5_conf):
    env = dict(os.environ, KRB5_CONFIG=krb5_conf)
    for k in ("KRB5CCNAME", "KRB5_KTNAME", "KRB5_CLIENT_KTNAME"):
        env.pop(k, None)
    return env


def gssapi_binds(m):
    """The credential generations new service connections were bound with, in log order."""
    return [int(g) for g in re.findall(r"event=ldap_gssapi_bind uri=\S+ generation=(\d+)",
                                       m.log())]


class AdGssapiOutageTest(unittest.TestCase):
    """The DC and its KDC go away under a mailroomd whose service pool binds with Kerberos
    (a class of its own: AdGssapiTest's mailroomd must not see the outage)."""

    @classmethod
    def setUpClass(cls):
        need_dc()

    def test_dc_and_kdc_down_is_a_temporary_error_never_a_bounce(self):
        tmp = tempfile.mkdtemp(prefix="mr-ad-gssapi-")
        self.addCleanup(shutil.rmtree, tmp, True)
        krb5_conf = DC.write_krb5_conf(os.path.join(tmp, "krb5.conf"), TICKET_LIFETIME)
        m = Mailroom(listeners=LISTENERS,
                     directory_config='[directory]\nbackend = "ldap"\n' +
                     gssapi_config(lookup="live", sync="", extra=RENEW_BEFORE))
        self.addCleanup(m.close)
        m.start(env=kerberos_env(krb5_conf))
        self.assertEqual(lmtp_rcpt(m, f"grace@{D}"), [250])
        DC.stop()
        self.addCleanup(lambda: DC.proc or DC.start())

        def kdc_unreachable():
            # the pooled connection is dead, then the credential falls due and the KDC cannot
            # be asked for a new one: every answer meanwhile is "try later"
            self.assertEqual(lmtp_rcpt(m, f"grace@{D}"), [451])
            return "Cannot contact any KDC" in m.log()

        wait_until(kdc_unreachable, "a renewal without a KDC", attempts=150)
        # the previous credential is kept (it has minutes left) and the renewal tried later
        self.assertIn("event=ldap_gssapi_credentials result=renewal_postponed generation=1",
                      m.log())
        self.assertIn("UNAVAILABLE", imap_login(m, "grace", PASSWORDS["grace"]))
        DC.start()
        wait_until(lambda: lmtp_rcpt(m, f"grace@{D}") == [250], "the DC and its KDC back")
        self.assertEqual(imap_login(m, "grace", PASSWORDS["grace"]), "OK")


class AdGssapiTest(unittest.TestCase):
    """The service account binds with Kerberos (SASL GSSAPI) instead of a password."""

    @classmethod
    def setUpClass(cls):
        need_dc()
        cls.tmp = tempfile.mkdtemp(prefix="mr-ad-gssapi-")
        cls.krb5_conf = DC.write_krb5_conf(os.path.join(cls.tmp, "krb5.conf"), TICKET_LIFETIME)
        cls.m = Mailroom(listeners=LISTENERS,
                         directory_config='[directory]\nbackend = "ldap"\n' +
                         gssapi_config(extra=RENEW_BEFORE))
        try:
            cls.m.start(env=kerberos_env(cls.krb5_conf))
            wait_until(lambda: cls.m.ctl("directory", "sync", "status").get("ldap.last_sync"),
                       "the first sync")
            cls.log_at_start = cls.m.log()
        except Exception:
            cls.m.close()
            shutil.rmtree(cls.tmp, True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        shutil.rmtree(cls.tmp, True)

    def test_sync_lookup_and_logins_with_the_service_pool_on_kerberos(self):
        status = self.m.ctl("directory", "sync", "status")
        self.assertEqual(status["ldap.last_error"], "")
        self.assertRegex(status["ldap.last_counts"], r" errors=0$")
        # Every search ran on GSSAPI connections: no bind_dn is configured, and Samba answers
        # no anonymous search of CN=Users.
        log = self.log_at_start
        self.assertIn("event=ldap_gssapi_bind uri=ldap://127.0.0.1:389 generation=1", log)
        self.assertNotIn("event=ldap_connect_failed", log)
        self.assertEqual(replica(self.m, "SELECT id FROM accounts WHERE login = ?", "alice"),
                         [(DC.guid("alice"),)])
        self.assertEqual(lmtp_rcpt(self.m, f"a.liddell@{D}", f"nobody@{D}"), [250, 550])
        lmtp_send(self.m, f"alice@{D}", "over kerberos")
        # The user's password is checked by a simple bind over LDAPS (the bind pool).
        self.assertIn("Subject: over kerberos",
                      imap_subjects(self.m, "alice", PASSWORDS["alice"]))
        self.assertIn("AUTHENTICATIONFAILED", imap_login(self.m, "alice", PASSWORDS["bob"]))

    def test_the_credential_is_renewed_from_the_keytab_and_binds_again(self):
        # The poll (every second) needs a service connection: once the credential is due, the
        # pooled one is retired, a new credential comes from the keytab and a new connection
        # is bound with it.
        before = len(self.m.log())
        generation = max(gssapi_binds(self.m))
        wait_until(lambda: max(gssapi_binds(self.m)) > generation,
                   "a bind with a renewed credential", attempts=600)
        renewed = self.m.log()[before:]
        acquired = re.search(r"event=ldap_gssapi_credentials result=acquired \S+ "
                             rf"generation={generation + 1} lifetime_s=(\d+) renew_in_s=(\d+)",
                             renewed)
        self.assertIsNotNone(acquired, renewed)
        # Renewal is due gssapi_renew_before (355 s) before the end of the 6-minute ticket. The
        # lifetime left is read a moment after the KDC issued it, so it may be 359 s (CI saw
        # renew_in_s=4): the arithmetic is checked, not one exact second.
        lifetime, renew_in = int(acquired[1]), int(acquired[2])
        self.assertEqual(lifetime - renew_in, 355, acquired[0])
        self.assertIn(lifetime, range(356, 361), acquired[0])
        seen = max(gssapi_binds(self.m))
        DC.modify(f"dn: {DC.user_dn('frank')}\nchangetype: modify\n"
                  f"add: proxyAddresses\nproxyAddresses: smtp:frank.kerberos@{D}\n")
        wait_until(lambda: lmtp_rcpt(self.m, f"frank.kerberos@{D}") == [250],
                   "the change, read with the renewed credential")
        self.assertGreaterEqual(max(gssapi_binds(self.m)), seen)
        self.assertNotIn("event=ldap_gssapi_credentials result=failed", self.m.log()[before:])
        self.assertEqual(self.m.ctl("directory", "sync", "status")["ldap.last_error"], "")

    def check_config(self, **kw):
        """mailroomd --check-config on a GSSAPI configuration: (exit status, stderr)."""
        m = Mailroom(listeners=LISTENERS,
                     directory_config='[directory]\nbackend = "ldap"\n' +
                     gssapi_config(lookup="live", sync="", **kw))
        self.addCleanup(m.close)
        p = subprocess.run([os.path.join(bin_dir(), "mailroomd"), "--check-config", "--config",
                            m.config_path], capture_output=True, text=True, timeout=120,
                           env=kerberos_env(self.krb5_conf))
        return p.returncode, p.stderr

    def keytab(self, principal, password="Not-Her-Passw0rd!"):
        """A keytab made with ktutil from a password: a key the KDC does not have."""
        if not os.access("/usr/bin/ktutil", os.X_OK):
            self.skipTest("ktutil (krb5-user) missing")
        path = os.path.join(tempfile.mkdtemp(prefix="mr-kt-", dir=self.tmp), "svc.keytab")
        subprocess.run(["/usr/bin/ktutil"], capture_output=True, text=True, timeout=30, check=True,
                       input=f"addent -password -p {principal} -k 2 -e aes256-cts-hmac-sha1-96\n"
                             f"{password}\nwkt {path}\nquit\n")
        self.assertTrue(os.path.exists(path), "ktutil wrote no keytab")
        return path

    def test_a_wrong_keytab_or_principal_is_named_at_start(self):
        rc, err = self.check_config()  # the control: the right keytab passes
        self.assertEqual(rc, 0, err)
        readable = os.path.join(self.tmp, "readable.keytab")
        shutil.copy(DC.keytab, readable)
        os.chmod(readable, 0o644)
        cases = {
            "the account's name, another key": (
                dict(keytab=self.keytab(DC.principal)),
                "directory.ldap.keytab: Kerberos credentials of " + DC.principal,
                "Preauthentication failed"),
            "a principal the KDC does not know": (
                dict(keytab=self.keytab("nobody@" + peers_samba_ldap.REALM),
                     principal="nobody@" + peers_samba_ldap.REALM),
                "directory.ldap.principal:", "not found in Kerberos database"),
            "a principal the keytab does not hold": (
                dict(principal="alice@" + peers_samba_ldap.REALM),
                "directory.ldap.principal: the keytab", "has no key for 'alice@"),
            "a keytab others can read": (
                dict(keytab=readable), "directory.ldap.keytab:", "readable by other users"),
        }
        for name, (kw, where, why) in cases.items():
            with self.subTest(name):
                rc, err = self.check_config(**kw)
                self.assertNotEqual(rc, 0, err)
                self.assertIn(where, err)
                self.assertIn(why, err)


class AdMailroomdTest(unittest.TestCase):
    """mailroomd on the replica, kept in step by the uSNChanged poll."""

    @classmethod
    def setUpClass(cls):
        need_dc()
        cls.m = start_mailroomd()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def status(self):
        return self.m.ctl("directory", "sync", "status")

    def test_initial_sync_pages_through_every_user(self):
        status = self.status()
        self.assertEqual(status["ldap.last_error"], "")
        # krbtgt, Guest, Administrator, mailsvc have no address: not read, not errors
        self.assertRegex(status["ldap.last_counts"], r" errors=0$")
        self.assertEqual(status["ldap.invocation_id"], DC.invocation_id())
        # the mark is the DC's highestCommittedUSN read before the searches
        self.assertLessEqual(int(status["ldap.usn"]),
                             int(DC.root_dse("highestCommittedUSN")["highestCommittedUSN"]))
        n = replica(self.m, "SELECT count(*) FROM accounts WHERE source = 'ldap'")[0][0]
        self.assertGreater(BULK_COUNT, 5 * PAGE_SIZE)
        self.assertGreaterEqual(n, BULK_COUNT + 9)  # everyone with mail, disabled ones too
        members = replica(self.m, "SELECT count(*) FROM group_members WHERE group_address = ?",
                          f"everyone@{D}")[0][0]
        self.assertEqual(members, BULK_COUNT)
        self.assertEqual(
            sorted(r[0] for r in replica(self.m, "SELECT member FROM group_members "
                                                 "WHERE group_address = ?", f"all-staff@{D}")),
            [f"alice@{D}", f"frank@{D}", f"grace@{D}"])
        # the service account has no mail: not an account
        self.assertEqual(replica(self.m, "SELECT count(*) FROM accounts WHERE login = ?",
                                 "mailsvc")[0][0], 0)

    def test_logins_by_samaccountname_upn_and_mail(self):
        self.assertEqual(imap_login(self.m, "alice", PASSWORDS["alice"]), "OK")
        self.assertEqual(imap_login(self.m, f"alice@{D}", PASSWORDS["alice"]), "OK")
        self.assertEqual(imap_login(self.m, f"builder@{D}", PASSWORDS["bob"]), "OK")  # UPN
        self.assertEqual(imap_login(self.m, "bob", PASSWORDS["bob"]), "OK")
        self.assertIn("AUTHENTICATIONFAILED", imap_login(self.m, "alice", PASSWORDS["bob"]))
        # disabled (userAccountControl 514) and expired (accountExpires 2009), right passwords
        self.assertNotEqual(imap_login(self.m, "carol", PASSWORDS["carol"]), "OK")
        self.assertNotEqual(imap_login(self.m, "dave", PASSWORDS["dave"]), "OK")

    def test_proxy_addresses_deliver_and_inactive_users_get_nothing(self):
        self.assertEqual(lmtp_rcpt(self.m, f"alice@{D}", f"a.liddell@{D}",
                                   f"robert.builder@{D}", f"bob@{D}", f"kim@{D}"),
                         [250, 250, 250, 250, 250])  # kim: proxyAddresses only, no mail
        self.assertEqual(lmtp_rcpt(self.m, f"carol@{D}", f"dave@{D}", f"nobody@{D}"),
                         [550, 550, 550])
        lmtp_send(self.m, f"a.liddell@{D}", "to the secondary address")
        lmtp_send(self.m, f"bob@{D}", "to bob's secondary")
        self.assertIn("Subject: to the secondary address",
                      imap_subjects(self.m, "alice", PASSWORDS["alice"]))
        self.assertIn("Subject: to bob's secondary",
                      imap_subjects(self.m, "bob", PASSWORDS["bob"]))

    def test_a_group_nested_three_deep_reaches_everyone_inside(self):
        lmtp_send(self.m, f"all-staff@{D}", "to all staff")
        for user in ("alice", "grace", "frank"):
            self.assertIn("Subject: to all staff", imap_subjects(self.m, user, PASSWORDS[user]),
                          user)

    def test_rename_on_the_dc_keeps_the_account_and_its_mailbox(self):
        guid = DC.guid("erin")
        lmtp_send(self.m, f"erin@{D}", "before the rename")
        DC.modify(f"dn: {DC.user_dn('erin')}\nchangetype: modify\n"
                  "replace: sAMAccountName\nsAMAccountName: erin2\n-\n"
                  f"replace: mail\nmail: erin.new@{D}\n")
        wait_until(lambda: lmtp_rcpt(self.m, f"erin.new@{D}") == [250], "the new address")
        self.assertEqual(lmtp_rcpt(self.m, f"erin@{D}"), [550])
        self.assertEqual(replica(self.m, "SELECT id, login FROM accounts WHERE address = ?",
                                 f"erin.new@{D}"), [(guid, "erin2")])
        self.assertEqual(imap_subjects(self.m, "erin2", PASSWORDS["erin"]),
                         ["Subject: before the rename"])
        self.assertEqual([os.path.basename(p) for p in
                          glob.glob(os.path.join(self.m.data, "mail", guid + "*"))], [guid])

    def test_a_change_on_the_dc_arrives_by_the_poll(self):
        full_before = self.status()["ldap.full_compare_at"]
        self.assertEqual(imap_login(self.m, "ivan", PASSWORDS["ivan"]), "OK")
        DC.modify(f"dn: {DC.user_dn('ivan')}\nchangetype: modify\n"
                  "replace: userAccountControl\nuserAccountControl: 514\n")
        wait_until(lambda: lmtp_rcpt(self.m, f"ivan@{D}") == [550], "ivan disabled")
        self.assertNotEqual(imap_login(self.m, "ivan", PASSWORDS["ivan"]), "OK")
        self.assertEqual(self.status()["ldap.full_compare_at"], full_before)  # not a full pass

    def test_a_deletion_on_the_dc_arrives_by_the_poll_through_its_tombstone(self):
        full_before = self.status()["ldap.full_compare_at"]
        guid = DC.guid("heidi")
        self.assertEqual(lmtp_rcpt(self.m, f"heidi@{D}"), [250])
        DC.modify(f"dn: {DC.user_dn('heidi')}\nchangetype: delete\n")
        wait_until(lambda: replica(self.m, "SELECT status FROM accounts WHERE id = ?", guid)
                   == [("disabled",)], "heidi disabled")
        self.assertEqual(lmtp_rcpt(self.m, f"heidi@{D}"), [550])
        self.assertEqual(self.status()["ldap.full_compare_at"], full_before)  # not a full pass
        self.assertIn("event=ldap_sync_account_removed", self.m.log())

    def test_the_manager_dn_of_a_disabled_user_becomes_the_managers_guid(self):
        # Offboarding (issue 22, G7) forwards a departed user's mail to their manager: AD's
        # `manager` DN, which the sync turns into the manager's objectGUID (the account id).
        DC.modify(f"dn: {DC.user_dn('ivan')}\nchangetype: modify\n"
                  "replace: userAccountControl\nuserAccountControl: 514\n-\n"
                  f"replace: manager\nmanager: {DC.user_dn('alice')}\n")
        ivan, alice = DC.guid("ivan"), DC.guid("alice")
        wait_until(lambda: replica(self.m, "SELECT status, manager FROM accounts WHERE id = ?",
                                   ivan) == [("disabled", alice)], "ivan's manager")


class AdDcIdentityTest(unittest.TestCase):
    """The uSNChanged mark belongs to one DC (its invocationId)."""

    @classmethod
    def setUpClass(cls):
        need_dc()

    def test_a_new_dc_identity_makes_a_full_resync(self):
        # CN=Users only (not the 1,600 of OU=Bulk): three passes here, each a full one
        m = start_mailroomd(extra=f'user_base = "CN=Users,{DC.base_dn}"')
        self.addCleanup(m.close)
        m.stop()
        # A change on the DC, and a stored mark at its USN: a poll from that mark cannot see
        # it (what a DC restored from a backup, whose USNs start lower again, looks like).
        DC.modify(f"dn: {DC.user_dn('judy')}\nchangetype: modify\n"
                  f"replace: mail\nmail: judy.new@{D}\n")
        out = DC.search(DC.base_dn, "(sAMAccountName=judy)", "uSNChanged")
        usn = int(out.split("uSNChanged: ")[1].split()[0])
        db = sqlite3.connect(os.path.join(m.data, "directory.db"))
        with db:
            db.execute("UPDATE sync_state SET value = ? WHERE key = 'ldap.usn'", (str(usn),))
        db.close()

        # Same DC: the poll resumes from the mark and misses the change (the control).
        m.start()
        seen = m.ctl("directory", "sync", "status")["ldap.last_sync"]
        wait_until(lambda: m.ctl("directory", "sync", "status")["ldap.last_sync"] != seen,
                   "a poll pass")
        self.assertEqual(lmtp_rcpt(m, f"judy.new@{D}"), [550])
        m.stop()

        # The DC gets a new invocationId: the mark is not its, everything is read again.
        new_id = DC.set_invocation_id()
        m.start()
        # the marks are stored at the end of the pass, after the groups
        wait_until(lambda: m.ctl("directory", "sync", "status")["ldap.invocation_id"] == new_id,
                   "a pass on the new DC")
        self.assertEqual(lmtp_rcpt(m, f"judy.new@{D}"), [250])
        self.assertIn("event=ldap_sync_full_resync reason=other_dc", m.log())


class AdDcOutageTest(unittest.TestCase):
    """The DC goes away under a running mailroomd and comes back."""

    @classmethod
    def setUpClass(cls):
        need_dc()

    def test_dc_down_then_back(self):
        m = start_mailroomd(extra=f'user_base = "CN=Users,{DC.base_dn}"',
                            directory_extra='credential_cache_ttl = "1h"\n')
        self.addCleanup(m.close)
        self.assertEqual(imap_login(m, "grace", PASSWORDS["grace"]), "OK")  # cached from now
        DC.stop()
        self.addCleanup(lambda: DC.proc or DC.start())
        # Delivery needs only the replica: mail keeps arriving.
        self.assertEqual(lmtp_rcpt(m, f"grace@{D}", f"alice@{D}"), [250, 250])
        # Logins: from the cache for grace; a temporary error, never "wrong password", for
        # alice, whose password was never checked here; a wrong password is still wrong.
        self.assertEqual(imap_login(m, "grace", PASSWORDS["grace"]), "OK")
        self.assertIn("UNAVAILABLE", imap_login(m, "alice", PASSWORDS["alice"]))
        self.assertNotEqual(imap_login(m, "grace", "not-her-password"), "OK")
        wait_until(lambda: m.ctl("directory", "sync", "status")["ldap.last_error"],
                   "the poll to report the DC down")

        DC.start()
        # Fail-back: the poll resumes from its mark, and a change made now arrives by it.
        DC.modify(f"dn: {DC.user_dn('grace')}\nchangetype: modify\n"
                  f"add: proxyAddresses\nproxyAddresses: smtp:grace.back@{D}\n")
        wait_until(lambda: lmtp_rcpt(m, f"grace.back@{D}") == [250], "the change after the outage")
        self.assertEqual(m.ctl("directory", "sync", "status")["ldap.last_error"], "")
        self.assertEqual(imap_login(m, "alice", PASSWORDS["alice"]), "OK")
        self.assertNotIn("event=ldap_sync_full_resync", m.log())  # same DC: the mark held


if __name__ == "__main__":
    unittest.main()
