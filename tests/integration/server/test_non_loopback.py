"""IMAP, submission and POP3 refuse plain-text logins before TLS from a non-loopback peer
(issue 23), even with allow_plaintext_on_loopback on. The checks in non_loopback_inner.py run
inside a private network namespace (unshare -n, as root; unshare -rn otherwise) where lo also
carries 192.0.2.10; mailroomd and the client both live there."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class NonLoopbackTest(unittest.TestCase):
    def test_in_a_network_namespace(self):
        unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
        script = ("ip link set lo up && ip addr add 192.0.2.10/32 dev lo && "
                  f"exec {sys.executable} -m unittest -v non_loopback_inner")
        p = subprocess.run(unshare + ["sh", "-c", script], cwd=HERE, capture_output=True,
                           text=True, timeout=600)
        print(p.stdout[-4000:], p.stderr[-8000:])
        self.assertEqual(p.returncode, 0, "the checks inside the namespace failed")
        self.assertIn("Ran 4 tests", p.stderr)


if __name__ == "__main__":
    unittest.main()
