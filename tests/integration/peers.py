"""The remote side of outbound-mail tests: what mailroomd's queue talks to when it sends mail.

    from peers import Dnsmasq, PostfixPeer, ScriptedSmtpPeer
    with Dnsmasq() as dns, \\
         PostfixPeer(["b.test"], listen=[("127.0.0.2", None), ("127.0.0.3", None,
                     {"smtpd_discard_ehlo_keywords": "8bitmime"})]) as mx:
        dns.mx("b.test", "mx1.b.test", 10).host("mx1.b.test", "127.0.0.2").reload()
        ...        # mailroom.toml: [dns] servers = [dns.server]; remote SMTP port mx.port
        mx.wait_for(1, "bob@b.test")

- Dnsmasq (peers_dnsmasq.py): authoritative DNS for test zones: MX, null MX, A/AAAA, TXT
  (long ones in 255-octet strings), PTR, CNAME; NXDOMAIN for unknown names under .test.
- PostfixPeer (peers_postfix.py): a real Postfix 3.7 as the receiving MX: listeners on one
  port over several 127.0.0.x with their own smtpd options, STARTTLS, a Maildir, an access
  map a test rewrites (set_access) to make recipients answer 4xx/5xx.
- ScriptedSmtpPeer (peers_smtp.py): an aiosmtpd server in a thread, for what Postfix cannot
  easily show: chosen EHLO keywords, AUTH, replies that change per attempt, greeting 421,
  a record of every transaction with its parameters, TLS version and AUTH user.

Each picks free loopback ports itself and is a context manager: start() in __enter__, stop()
and removal of its temp dir in __exit__ (close()); stop() alone for a test that takes a peer
away on purpose. Whatever still runs when this interpreter exits or gets SIGTERM (a ctest
timeout) is stopped; dnsmasq and Postfix also stop should it die by SIGKILL. Temp dirs are
kept with MAILROOM_KEEP_TEST_DATA=1. Postfix needs root (it drops privileges itself); the
Debian packages are in scripts/setup. Run with /usr/bin/python3 (Debian's aiosmtpd, dnspython).
"""
from peers_common import close_all, free_port, tls_files
from peers_dnsmasq import DNSMASQ, Dnsmasq
from peers_postfix import POSTFIX, PostfixPeer
from peers_smtp import DEFAULT_EXTENSIONS, Rcpt, ScriptedSmtpPeer, Transaction

__all__ = ["close_all", "Dnsmasq", "PostfixPeer", "ScriptedSmtpPeer", "Transaction", "Rcpt",
           "free_port", "tls_files", "DNSMASQ", "POSTFIX", "DEFAULT_EXTENSIONS"]
