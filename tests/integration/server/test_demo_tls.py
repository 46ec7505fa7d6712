"""The demo's certificates (issue 24): a local CA and a leaf for localhost that mail clients
accept once the CA is trusted. Thunderbird refused the earlier self-signed CA:TRUE certificate
(MOZILLA_PKIX_ERROR_CA_CERT_USED_AS_END_ENTITY); NSS (Thunderbird's library) validates the
chain here, and a TLS client that trusts only ca.pem connects to mailroomd by name."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import ROOT, Mailroom


def openssl_text(path):
    return subprocess.run(["openssl", "x509", "-in", path, "-noout", "-text"], check=True,
                          capture_output=True, text=True).stdout


class DemoTlsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mailroom-demo-tls-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        subprocess.run([os.path.join(ROOT, "scripts", "demo-tls"), self.dir], check=True)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")

    def test_leaf_is_an_end_entity_for_servers(self):
        text = openssl_text(self.cert)
        self.assertIn("CA:FALSE", text)
        self.assertIn("TLS Web Server Authentication", text)
        self.assertIn("DNS:localhost", text)
        self.assertIn("IP Address:127.0.0.1", text)
        self.assertIn("CA:TRUE", openssl_text(self.ca))
        self.assertEqual(os.stat(self.key).st_mode & 0o077, 0)
        self.assertEqual(os.stat(os.path.join(self.dir, "ca.key")).st_mode & 0o077, 0)
        v = subprocess.run(["openssl", "verify", "-x509_strict", "-purpose", "sslserver",
                            "-CAfile", self.ca, self.cert], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_nss_accepts_the_leaf_once_the_ca_is_trusted(self):
        nssdb = os.path.join(self.dir, "nssdb")
        os.makedirs(nssdb)
        run = lambda *a: subprocess.run(a, capture_output=True, text=True)
        self.assertEqual(run("certutil", "-N", "-d", f"sql:{nssdb}",
                             "--empty-password").returncode, 0)
        run("certutil", "-A", "-d", f"sql:{nssdb}", "-n", "demo-leaf", "-t", ",,", "-i", self.cert)
        # Before the CA is trusted: not valid for an SSL server.
        before = run("certutil", "-V", "-d", f"sql:{nssdb}", "-n", "demo-leaf", "-u", "V")
        self.assertNotIn("certificate is valid", before.stdout)
        run("certutil", "-A", "-d", f"sql:{nssdb}", "-n", "demo-ca", "-t", "C,,", "-i", self.ca)
        after = run("certutil", "-V", "-d", f"sql:{nssdb}", "-n", "demo-leaf", "-u", "V")
        self.assertIn("certificate is valid", after.stdout, after.stdout + after.stderr)
        # The CA itself must not be usable as the server's certificate (the old demo's mistake).
        as_server = run("certutil", "-V", "-d", f"sql:{nssdb}", "-n", "demo-ca", "-u", "V")
        self.assertNotIn("certificate is valid", as_server.stdout)

    def test_client_trusting_only_the_ca_connects_by_name(self):
        m = Mailroom(listeners={"imaps": ("imap", "implicit")})
        try:
            m.cert, m.key = self.cert, self.key
            m.write_config()
            m.start()
            ctx = ssl.create_default_context(cafile=self.ca)
            with socket.create_connection(("127.0.0.1", m.port("imaps")), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    self.assertTrue(s.recv(100).startswith(b"* OK"))
        finally:
            m.close()

    def test_existing_files_are_kept_and_old_demo_dirs_redone(self):
        with open(self.cert, "rb") as f:
            first = f.read()
        subprocess.run([os.path.join(ROOT, "scripts", "demo-tls"), self.dir], check=True)
        with open(self.cert, "rb") as f:
            self.assertEqual(f.read(), first)
        os.unlink(self.ca)  # a directory as the earlier demo left it
        subprocess.run([os.path.join(ROOT, "scripts", "demo-tls"), self.dir], check=True)
        self.assertTrue(os.path.exists(self.ca))
        self.assertIn("CA:FALSE", openssl_text(self.cert))


if __name__ == "__main__":
    unittest.main()
