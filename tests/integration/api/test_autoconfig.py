"""Client autoconfiguration against a real mailroomd on an HTTP listener: every document is
fetched with urllib and read by an independent parser (xml.etree, plistlib, json); the ports
and host must be those of the configured listeners (with [autoconfig] public ports applied);
a domain that is not ours gets 404; hostile Autodiscover bodies (huge, DTD with entities,
external entities) are refused; the answer never depends on whether the user exists."""
import json
import os
import plistlib
import socket
import sys
import unittest
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import DEFAULT_LISTENERS, Mailroom  # noqa: E402

LISTENERS = dict(DEFAULT_LISTENERS, http=("http", "none"))
POX_NS = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
POX_ERROR_NS = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
# src/api/autoconfig.cpp kAutoconfigNamespace: the profiles' UUIDs are version 5 in it.
PROFILE_NAMESPACE = uuid.UUID("5b0c1e3a-7d2f-4c61-9a4e-3f8d2b6c1a70")

REQUEST = (
    '<?xml version="1.0" encoding="utf-8"?>\r\n'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
    'requestschema/2006">\r\n<Request>\r\n<EMailAddress>{email}</EMailAddress>\r\n'
    "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/"
    "responseschema/2006a</AcceptableResponseSchema>\r\n</Request>\r\n</Autodiscover>\r\n")


def start(extra_config):
    m = Mailroom(listeners=LISTENERS, extra_config=extra_config)
    m.seed_demo()
    try:
        m.start()
    except BaseException:
        m.close()
        raise
    return m


class Client:
    def __init__(self, m):
        self.base = f"http://127.0.0.1:{m.port('http')}"

    def fetch(self, path, body=None, headers=None, method=None):
        """(status, headers, body bytes); HTTP errors are answers too."""
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {},
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def pox(self, body):
        return self.fetch("/autodiscover/autodiscover.xml", body=body,
                          headers={"Content-Type": "text/xml"}, method="POST")


class AutoconfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # pop3_port: clients reach the STARTTLS POP3 listener through a NAT on port 110.
        cls.m = start('[autoconfig]\nhostname = "mail.example.com"\npop3_port = 110\n'
                      'display_name = "Example & Co <Mail>"\n')
        cls.c = Client(cls.m)
        p = cls.m.port
        # (protocol, port, socket) of every TLS listener clients should use; smtp and lmtp
        # are not for clients.
        cls.expected = {
            ("imap", p("imaps"), "SSL"), ("imap", p("imap"), "STARTTLS"),
            ("pop3", p("pop3s"), "SSL"), ("pop3", 110, "STARTTLS"),
            ("smtp", p("submissions"), "SSL"), ("smtp", p("submission"), "STARTTLS"),
        }

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def thunderbird(self, path, headers=None):
        status, h, body = self.c.fetch(path, headers=headers)
        self.assertEqual(status, 200, body)
        self.assertIn("xml", h["Content-Type"])
        return body, ET.fromstring(body)

    def test_thunderbird(self):
        body, root = self.thunderbird(
            "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.com")
        self.assertEqual(root.tag, "clientConfig")
        provider = root.find("emailProvider")
        self.assertEqual(provider.get("id"), "example.com")
        self.assertEqual(provider.findtext("displayName"), "Example & Co <Mail>")
        got = set()
        for tag in ("incomingServer", "outgoingServer"):
            for s in provider.findall(tag):
                self.assertEqual(s.findtext("hostname"), "mail.example.com")
                self.assertEqual(s.findtext("username"), "%EMAILADDRESS%")
                self.assertEqual([a.text for a in s.findall("authentication")],
                                 ["password-cleartext"])
                got.add((s.get("type"), int(s.findtext("port")), s.findtext("socketType")))
        self.assertEqual(got, self.expected)
        self.assertIsNone(root.find("oAuth2"))
        # Implicit TLS is listed first (RFC 8314): the client's first choice.
        first = provider.find("incomingServer")
        self.assertEqual((first.get("type"), first.findtext("socketType")), ("imap", "SSL"))

        # The autoconfig.<domain> form, by Host; an unknown user; an alias-free other path:
        # the same document, because it depends only on the domain.
        same, _ = self.thunderbird("/mail/config-v1.1.xml",
                                   headers={"Host": "autoconfig.example.com"})
        self.assertEqual(same, body)
        same, _ = self.thunderbird("/mail/config-v1.1.xml?emailaddress=nobody%40example.com")
        self.assertEqual(same, body)

    def test_autodiscover_pox(self):
        for path in ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"):
            status, h, body = self.c.fetch(path, body=REQUEST.format(
                email="alice@example.com").encode(), method="POST")
            self.assertEqual(status, 200, body)
            root = ET.fromstring(body)
            account = root.find(f"{POX_NS}Response/{POX_NS}Account")
            self.assertEqual(account.findtext(f"{POX_NS}Action"), "settings")
            protocols = {p.findtext(f"{POX_NS}Type"): p for p in account.findall(f"{POX_NS}Protocol")}
            self.assertEqual(set(protocols), {"IMAP", "POP3", "SMTP"})
            want = {"IMAP": self.m.port("imaps"), "POP3": self.m.port("pop3s"),
                    "SMTP": self.m.port("submissions")}
            for kind, p in protocols.items():
                self.assertEqual(int(p.findtext(f"{POX_NS}Port")), want[kind])
                self.assertEqual(p.findtext(f"{POX_NS}Server"), "mail.example.com")
                self.assertEqual(p.findtext(f"{POX_NS}Encryption"), "SSL")
                self.assertEqual(p.findtext(f"{POX_NS}LoginName"), "alice@example.com")
                self.assertEqual(p.findtext(f"{POX_NS}SPA"), "off")

    def pox_error(self, body):
        return ET.fromstring(body).findtext(f"{POX_ERROR_NS}Response/{POX_ERROR_NS}Error/"
                                            f"{POX_ERROR_NS}ErrorCode")

    def test_autodiscover_pox_refuses_hostile_bodies(self):
        laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                  + REQUEST.format(email="&lol3;@example.com").split("?>", 1)[1])
        xxe = ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               + REQUEST.format(email="&x;").split("?>", 1)[1])
        for body in (laughs, xxe, "<Autodiscover>", "not xml at all"):
            status, _, answer = self.c.pox(body.encode())
            self.assertEqual(status, 400, body)
            self.assertEqual(self.pox_error(answer), "600")
            self.assertNotIn(b"root:", answer)
        # Larger than the reader takes (16 KiB), and larger than the server takes at all.
        padded = REQUEST.format(email="alice@example.com").replace(
            "<Request>", " " * 20000 + "<Request>")
        status, _, _ = self.c.pox(padded.encode())
        self.assertEqual(status, 413)
        # The server refuses that from the header and closes without reading the body (a
        # client still writing it sees the connection end), so ask over a raw socket.
        with socket.create_connection(("127.0.0.1", self.m.port("http")), timeout=30) as s:
            s.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\n\r\n" % (2 << 20) + b" " * 4096)
            self.assertRegex(s.makefile("rb").readline(), rb"^HTTP/1\.1 413 ")
        # The server is still well.
        status, _, _ = self.c.pox(REQUEST.format(email="bob@example.com").encode())
        self.assertEqual(status, 200)

    def test_autodiscover_json(self):
        for path in ("/autodiscover/autodiscover.json?Email=alice%40example.com"
                     "&Protocol=AutodiscoverV1",
                     "/autodiscover/autodiscover.json/v1.0/alice@example.com"
                     "?Protocol=AutodiscoverV1"):
            status, h, body = self.c.fetch(path)
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body), {
                "Protocol": "AutodiscoverV1",
                "Url": "https://mail.example.com/autodiscover/autodiscover.xml"})
        status, _, body = self.c.fetch(
            "/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol=ActiveSync")
        self.assertEqual(status, 404)
        self.assertIn("ErrorCode", json.loads(body))

    def test_mobileconfig(self):
        status, h, body = self.c.fetch("/mobileconfig?email=alice%40example.com")
        self.assertEqual(status, 200, body)
        self.assertEqual(h["Content-Type"], "application/x-apple-aspen-config")
        self.assertIn("attachment", h["Content-Disposition"])
        profile = plistlib.loads(body)
        self.assertEqual(profile["PayloadType"], "Configuration")
        mail = profile["PayloadContent"][0]
        self.assertEqual(mail["PayloadType"], "com.apple.mail.managed")
        self.assertEqual(mail["EmailAddress"], "alice@example.com")
        self.assertEqual(mail["IncomingMailServerHostName"], "mail.example.com")
        self.assertEqual(mail["IncomingMailServerPortNumber"], self.m.port("imaps"))
        self.assertTrue(mail["IncomingMailServerUseSSL"])
        self.assertEqual(mail["OutgoingMailServerPortNumber"], self.m.port("submissions"))
        # Version 5 UUIDs of domain and address, as Python computes them: the same profile
        # installs over the previous one.
        seed = "example.com\nalice@example.com"
        self.assertEqual(profile["PayloadUUID"],
                         str(uuid.uuid5(PROFILE_NAMESPACE, "profile\n" + seed)).upper())
        self.assertEqual(mail["PayloadUUID"],
                         str(uuid.uuid5(PROFILE_NAMESPACE, "mail\n" + seed)).upper())
        _, _, again = self.c.fetch("/mobileconfig?email=ALICE%40example.com")
        self.assertEqual(plistlib.loads(again)["PayloadUUID"], profile["PayloadUUID"])
        # An address that tries to break out of the plist stays one string.
        status, _, body = self.c.fetch("/mobileconfig?email=%22%3C%2Fstring%3E%22%40example.com")
        self.assertEqual(status, 200, body)
        self.assertEqual(plistlib.loads(body)["PayloadContent"][0]["EmailAddress"],
                         '"</string>"@example.com')

    def test_other_domains_get_nothing(self):
        for path in ("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%40example.org",
                     "/mail/config-v1.1.xml?emailaddress=a%40example.org",
                     "/autodiscover/autodiscover.json?Email=a%40example.org"
                     "&Protocol=AutodiscoverV1",
                     "/mobileconfig?email=a%40example.org"):
            status, _, _ = self.c.fetch(path)
            self.assertEqual(status, 404, path)
        status, _, body = self.c.pox(REQUEST.format(email="a@example.org").encode())
        self.assertEqual(status, 404)
        self.assertEqual(self.pox_error(body), "500")
        status, _, _ = self.c.fetch("/mail/config-v1.1.xml",
                                    headers={"Host": "autoconfig.example.org"})
        self.assertEqual(status, 404)


class AutoconfigNothingToAdvertiseTest(unittest.TestCase):
    """Only a plaintext IMAP listener and the default host name: mailroomd warns at start,
    and clients get 404 rather than a document that sends passwords in the clear."""

    def test_warns_and_answers_404(self):
        m = Mailroom(listeners={"http": ("http", "none"), "imap": ("imap", "none")},
                     hostname="localhost")
        m.seed_demo()
        try:
            m.start()
            status, _, _ = Client(m).fetch(
                "/mail/config-v1.1.xml?emailaddress=alice%40example.com")
            self.assertEqual(status, 404)
            log = m.log()
            self.assertIn("[autoconfig] has nothing to advertise", log)
            self.assertIn("mail clients would be told to connect to themselves", log)
        finally:
            m.close()


class AutoconfigOAuth2Test(unittest.TestCase):
    """With [sso] trusting an issuer, Thunderbird is told about OAuth2; oauth2 = false hides
    it. The provider need not answer: the documents come from the configuration."""

    SSO = ('[sso]\nallow_http = true\nfetch_timeout = "1s"\n[[sso.issuer]]\n'
           'issuer = "http://127.0.0.1:9/realms/corp"\naudiences = ["mail"]\n'
           'required_scope = "mail"\n')

    def document(self, autoconfig):
        m = start(self.SSO + autoconfig)
        try:
            status, _, body = Client(m).fetch(
                "/mail/config-v1.1.xml?emailaddress=alice%40example.com")
            self.assertEqual(status, 200, body)
            return ET.fromstring(body)
        finally:
            m.close()

    def test_advertised_and_hidden(self):
        root = self.document('[autoconfig]\noauth2_token_url = "https://idp.example.com/t"\n')
        for s in root.find("emailProvider").findall("incomingServer"):
            self.assertEqual([a.text for a in s.findall("authentication")],
                             ["OAuth2", "password-cleartext"])
        oauth = root.find("oAuth2")
        self.assertEqual(oauth.findtext("issuer"), "127.0.0.1")
        self.assertEqual(oauth.findtext("scope"), "openid email mail")
        self.assertEqual(oauth.findtext("tokenURL"), "https://idp.example.com/t")

        root = self.document("[autoconfig]\noauth2 = false\n")
        self.assertIsNone(root.find("oAuth2"))
        for s in root.find("emailProvider").findall("incomingServer"):
            self.assertEqual([a.text for a in s.findall("authentication")],
                             ["password-cleartext"])


if __name__ == "__main__":
    unittest.main()
