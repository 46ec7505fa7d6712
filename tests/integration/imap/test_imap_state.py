"""What IMAP tells a client about mailbox state (issue 13, conformance review): new
keywords, CONDSTORE data in untagged FETCH and ESEARCH, VANISHED, \\Recent under EXAMINE,
LIST patterns and LSUB attributes; quota roots (issue 24)."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapwire import ServerCase, Wire  # noqa: E402

MSG = b"From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n"


class StateBase(ServerCase):
    def login(self, user="alice", password="wonderland"):
        w = Wire(self.port)
        self.assertIn(b" OK ", w.cmd("LOGIN %s@example.com %s" % (user, password))[1])
        return w

    def fresh(self, w, name, count):
        w.cmd("DELETE %s" % name)
        self.assertIn(b" OK ", w.cmd("CREATE %s" % name)[1])
        for _ in range(count):
            self.append(w, name, MSG)

    def append(self, w, name, message, flags=b""):
        _, t = w.cmd(b"APPEND %s %s{%d+}\r\n" % (name.encode(), flags, len(message)) + message)
        self.assertIn(b"OK [APPENDUID ", t)
        return int(t.split(b"APPENDUID ")[1].split(b"]")[0].split()[1])

    def index(self, lines, prefix):
        for i, line in enumerate(lines):
            if line.startswith(prefix):
                return i
        self.fail("no %r in %r" % (prefix, lines))


def modseq(line):
    return int(re.search(rb"MODSEQ \((\d+)\)", line).group(1))


class TestKeywords(StateBase):
    def test_new_keyword_is_announced_before_its_fetch(self):
        # RFC 3501 7.2.6: the FLAGS response lists the mailbox's flags; a client records it.
        a = self.login()
        b = self.login()
        self.fresh(a, "Kw", 1)
        a.cmd("SELECT Kw")
        b.cmd("SELECT Kw")
        u, _ = b.cmd("STORE 1 +FLAGS ($Label1)")
        flags = self.index(u, b"* FLAGS (")
        self.assertIn(b"$Label1", u[flags])
        permanent = self.index(u, b"* OK [PERMANENTFLAGS (")
        self.assertIn(b"$Label1 \\*)]", u[permanent])
        self.assertLess(max(flags, permanent), self.index(u, b"* 1 FETCH (FLAGS ($Label1"))
        u, _ = b.cmd("STORE 1 +FLAGS ($Label1)")
        self.assertFalse(any(l.startswith(b"* FLAGS") for l in u), u)  # once per keyword
        u, _ = a.cmd("NOOP")
        self.assertLess(self.index(u, b"* FLAGS ("), self.index(u, b"* 1 FETCH"))
        self.assertIn(b"$Label1", u[self.index(u, b"* FLAGS (")])
        # A keyword brought in by a new message comes before its EXISTS.
        u, _ = a.cmd(b"APPEND Kw ($New) {%d+}\r\n" % len(MSG) + MSG)
        self.assertIn(b"$New", u[self.index(u, b"* FLAGS (")])
        self.assertLess(self.index(u, b"* FLAGS ("), self.index(u, b"* 2 EXISTS"))
        # EXAMINE: the FLAGS list grows, PERMANENTFLAGS stays empty.
        c = self.login()
        c.cmd("EXAMINE Kw")
        b.cmd("STORE 1 +FLAGS ($Third)")
        u, _ = c.cmd("NOOP")
        self.assertIn(b"$Third", u[self.index(u, b"* FLAGS (")])
        self.assertIn(b"* OK [PERMANENTFLAGS ()] Read-only mailbox", u)


class TestCondstore(StateBase):
    def test_untagged_fetch_carries_uid_and_modseq(self):
        # RFC 7162 3.1: once enabled, every untagged FETCH has UID and MODSEQ.
        a = self.login()
        b = self.login()
        self.fresh(a, "Cs", 3)
        self.assertIn(b"* ENABLED CONDSTORE", a.cmd("ENABLE CONDSTORE")[0])
        a.cmd("SELECT Cs")
        b.cmd("SELECT Cs")
        uids = [int(x) for x in a.cmd("UID SEARCH ALL")[0][0].split()[2:]]
        u, _ = a.cmd("STORE 1 +FLAGS (\\Flagged)")
        self.assertRegex(u[0], rb"^\* 1 FETCH \(UID %d FLAGS \(\\Flagged[^)]*\) MODSEQ \(\d+\)\)$"
                         % uids[0])
        b.cmd("STORE 2 +FLAGS (\\Seen)")
        u, _ = a.cmd("NOOP")
        self.assertRegex(u[0], rb"^\* 2 FETCH \(UID %d FLAGS \(\\Seen[^)]*\) MODSEQ \(\d+\)\)$"
                         % uids[1])
        # .SILENT still reports the new MODSEQ (RFC 7162 3.1.3).
        before = modseq(a.cmd("FETCH 1 (MODSEQ)")[0][0])
        u, _ = a.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % before)
        self.assertEqual(len(u), 1, u)
        self.assertRegex(u[0], rb"^\* 1 FETCH \(UID %d MODSEQ \(\d+\)\)$" % uids[0])
        self.assertGreater(modseq(u[0]), before)
        # A FETCH that sets \Seen reports UID and MODSEQ with the new flags.
        u, _ = a.cmd("FETCH 3 BODY[TEXT]")
        self.assertIn(b"FLAGS (\\Seen", u[0])
        self.assertIn(b"UID %d" % uids[2], u[0])
        self.assertIn(b"MODSEQ (", u[0])

    def test_first_enabling_command_reports_highestmodseq(self):
        a = self.login()
        b = self.login()
        self.fresh(a, "Cs2", 2)
        a.cmd("SELECT Cs2")
        b.cmd("SELECT Cs2")
        b.cmd("STORE 1 +FLAGS (\\Flagged)")
        u, _ = a.cmd("FETCH 1 (MODSEQ)")
        self.assertLess(self.index(u, b"* OK [HIGHESTMODSEQ "), self.index(u, b"* 1 FETCH"))
        u, _ = a.cmd("FETCH 1 (MODSEQ)")
        self.assertFalse(any(b"HIGHESTMODSEQ" in l for l in u), u)  # only the first time

    def test_status_highestmodseq_enables_condstore(self):
        a = self.login()
        b = self.login()
        self.fresh(a, "Cs3", 2)
        a.cmd("SELECT Cs3")
        b.cmd("SELECT Cs3")
        uid2 = int(a.cmd("UID SEARCH 2")[0][0].split()[2])
        u, _ = a.cmd("STATUS Cs3 (HIGHESTMODSEQ)")
        self.index(u, b"* OK [HIGHESTMODSEQ ")
        b.cmd("STORE 2 +FLAGS (\\Seen)")
        u, _ = a.cmd("NOOP")
        self.assertRegex(u[0], rb"^\* 2 FETCH \(UID %d FLAGS \(\\Seen[^)]*\) MODSEQ \(\d+\)\)$"
                         % uid2)

    def test_esearch_modseq_of_min_and_max(self):
        # RFC 4731 3.2: with MIN or MAX alone, MODSEQ is that message's.
        w = self.login()
        self.fresh(w, "Es", 3)
        w.cmd("SELECT Es (CONDSTORE)")
        m1 = modseq(w.cmd("STORE 1 +FLAGS (\\Seen)")[0][0])
        m3 = modseq(w.cmd("STORE 3 +FLAGS (\\Seen)")[0][0])
        self.assertGreater(m3, m1)
        for ret, expected in [("MIN", b"MIN 1 MODSEQ %d" % m1), ("MAX", b"MAX 3 MODSEQ %d" % m3),
                              ("MIN MAX", b"MIN 1 MAX 3 MODSEQ %d" % m3),
                              ("COUNT", b"COUNT 2 MODSEQ %d" % m3)]:
            u, t = w.cmd("SEARCH RETURN (%s) MODSEQ 1 SEEN" % ret)
            tag = t.split()[0]
            self.assertEqual(u, [b'* ESEARCH (TAG "%s") %s' % (tag, expected)], ret)

    def test_vanished_needs_qresync_and_star_is_open_ended(self):
        w = self.login()
        self.fresh(w, "Qr", 3)
        w.cmd("SELECT Qr")
        _, t = w.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertRegex(t, rb"^T\d+ BAD ")  # RFC 7162 3.2.6: only after ENABLE QRESYNC
        w.cmd("UNSELECT")
        w.cmd("ENABLE QRESYNC")
        u, _ = w.cmd("SELECT Qr")
        start = int(re.search(rb"HIGHESTMODSEQ (\d+)", b" ".join(u)).group(1))
        uids = [int(x) for x in w.cmd("UID SEARCH ALL")[0][0].split()[2:]]
        w.cmd("STORE 3 +FLAGS (\\Deleted)")
        u, _ = w.cmd("EXPUNGE")
        self.assertEqual(u, [b"* VANISHED %d" % uids[2]])
        u, _ = w.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % start)
        self.assertIn(b"* VANISHED (EARLIER) %d" % uids[2], u)


class TestRecentAndList(StateBase):
    def test_examine_shows_recent_without_claiming(self):
        # RFC 3501 6.3.2: EXAMINE returns the same output as SELECT, without losing \Recent.
        a = self.login()
        self.fresh(a, "Rx", 1)
        u, _ = a.cmd("STATUS Rx (RECENT)")
        self.assertIn(b"RECENT 1", u[0])
        u, _ = a.cmd("EXAMINE Rx")
        self.assertIn(b"* 1 RECENT", u)
        u, _ = a.cmd("FETCH 1 FLAGS")
        self.assertIn(b"\\Recent", u[0])
        u, _ = a.cmd("SEARCH RECENT")
        self.assertEqual(u, [b"* SEARCH 1"])
        # New mail seen while EXAMINEd is \Recent there too, and still for a SELECT.
        b = self.login()
        self.append(b, "Rx", MSG)
        u, _ = a.cmd("NOOP")
        self.assertIn(b"* 2 EXISTS", u)
        self.assertIn(b"* 2 RECENT", u)
        u, _ = b.cmd("SELECT Rx")
        self.assertIn(b"* 2 RECENT", u)
        u, _ = a.cmd("EXAMINE Rx")  # claimed by b now
        self.assertIn(b"* 0 RECENT", u)

    def test_list_patterns_are_matched_as_sent(self):
        # RFC 3501 9: list-mailbox is any string; one that names nothing matches nothing.
        w = self.login()
        w.cmd("CREATE &U,BTFw-/Sub")
        for cmd in ['LIST "" "&"', 'LIST "" "Foo&*"', 'LIST "&" "*"', 'LSUB "" "&*&"']:
            u, t = w.cmd(cmd)
            self.assertEqual(u, [], cmd)
            self.assertRegex(t, rb"^T\d+ OK ", cmd)
        u, _ = w.cmd('LIST "" "&U,BTFw-/%"')
        self.assertEqual(u, [b'* LIST (\\HasNoChildren) "/" "&U,BTFw-/Sub"'])
        u, _ = w.cmd('LIST "&U,BTFw-" "%"')
        self.assertEqual(u, [b'* LIST (\\HasNoChildren) "/" "&U,BTFw-/Sub"'])
        u, _ = w.cmd('LIST "" "&U*"')
        self.assertEqual(len(u), 2, u)

    def test_lsub_has_no_special_use_attributes(self):
        # RFC 6154 2: special-use attributes are LIST's.
        w = self.login()
        u, _ = w.cmd('LIST "" "*"')
        sent = [l for l in u if b"\\Sent" in l][0].rsplit(b" ", 1)[1]
        w.cmd(b"SUBSCRIBE " + sent)
        u, _ = w.cmd(b'LSUB "" ' + sent)
        self.assertEqual(u, [b'* LSUB () "/" ' + sent])
        u, _ = w.cmd(b'LIST (SUBSCRIBED) "" ' + sent)
        self.assertIn(b"\\Sent", u[0])


class TestQuotaRoot(StateBase):
    def test_account_without_quota_has_no_quota_root(self):
        # RFC 9208 4.3.1: a QUOTA response lists at least one resource; 4.2.2: QUOTAROOT may
        # name no root.
        w = self.login()
        u, t = w.cmd("GETQUOTAROOT INBOX")
        self.assertEqual(u, [b'* QUOTAROOT "INBOX"'])
        self.assertRegex(t, rb"^T\d+ OK ")
        u, t = w.cmd('GETQUOTA ""')
        self.assertEqual(u, [])
        self.assertRegex(t, rb"^T\d+ NO \[NONEXISTENT\] ")

    def test_account_with_quota(self):
        if not hasattr(self.m, "ctl"):
            self.skipTest("quotas come from the directory (mailroomd only)")
        self.m.ctl("user", "add", "carol@example.com", "--password", "pw",
                   "--quota-bytes", "1M")
        w = self.login("carol", "pw")
        u, _ = w.cmd("GETQUOTAROOT INBOX")
        self.assertEqual(u, [b'* QUOTAROOT "INBOX" ""', b'* QUOTA "" (STORAGE 0 1024)'])
        u, _ = w.cmd('GETQUOTA ""')
        self.assertEqual(u, [b'* QUOTA "" (STORAGE 0 1024)'])


class TestStatusSize(StateBase):
    """RFC 8438: STATUS=SIZE, the sum of the messages' RFC822.SIZE, for a mailbox selected or
    not, after an expunge, in LIST-STATUS, and 0 for an empty one."""

    def fetched_total(self, w, name):
        w.cmd("EXAMINE %s" % name)
        u, _ = w.cmd("FETCH 1:* (RFC822.SIZE)")
        w.cmd("UNSELECT")
        return sum(int(x) for x in re.findall(rb"RFC822\.SIZE (\d+)", b"".join(u)))

    def status_size(self, w, name):
        u, t = w.cmd("STATUS %s (SIZE MESSAGES)" % name)
        self.assertRegex(t, rb"^T\d+ OK ")
        return int(re.search(rb"SIZE (\d+)", u[0]).group(1))

    def test_size_is_the_sum_of_the_message_sizes(self):
        w = self.login()
        u, _ = w.cmd("CAPABILITY")
        self.assertIn(b" STATUS=SIZE", u[0])
        self.fresh(w, "Sz", 0)
        self.assertEqual(self.status_size(w, "Sz"), 0)
        for body in (b"short", b"x" * 5000, "\u00e9t\u00e9 \u4f60\u597d".encode()):
            self.append(w, "Sz", MSG.replace(b"\r\n\r\n", b"\r\nX-Pad: " + body + b"\r\n\r\n", 1))
        total = self.fetched_total(w, "Sz")
        self.assertGreater(total, 5000)
        self.assertEqual(self.status_size(w, "Sz"), total)
        w.cmd("SELECT Sz")
        self.assertEqual(self.status_size(w, "Sz"), total)  # the selected one, from the view
        w.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
        w.cmd("EXPUNGE")
        after = self.status_size(w, "Sz")
        self.assertLess(after, total - 5000)
        self.assertEqual(self.fetched_total(w, "Sz"), after)
        u, _ = w.cmd('LIST "" Sz RETURN (STATUS (SIZE))')
        self.assertIn(b'* STATUS "Sz" (SIZE %d)' % after, u)
        _, t = w.cmd("STATUS Sz (SIZE BOGUS)")
        self.assertRegex(t, rb"^T\d+ BAD ")



class TestSharedView(StateBase):
    """Sessions on one mailbox share one view of it (issue 25, src/imap/shared_mailbox.h); each
    must still see exactly what RFC 3501 7.4.1 and its own history allow. IDLE sessions
    hibernate after 1 s here (issue 20), so every IDLE test of this class may wake one."""
    extra_config = "[imap]\nidle_hibernate = 1\n"

    @staticmethod
    def let_hibernate():
        """Waits out idle_hibernate (1 s) with a margin: hibernation has no outside sign (its
        log line is at debug level, compiled out), so this is the one wait of the class; if a
        loaded machine is slower, the test still checks a woken-or-awake session's answers."""
        time.sleep(2.5)

    def test_hibernated_idle_session_wakes_for_new_mail_flags_and_expunge(self):
        if os.environ.get("MAILROOM_IMAP_DRIVER") == "1":
            self.skipTest("hibernation is configured through mailroomd's [imap]")
        a = self.login()
        b = self.login()
        self.fresh(a, "Sleepy", 3)
        a.cmd("SELECT Sleepy")
        a.send(b"I1 IDLE\r\n")
        self.assertTrue(a.read_response_line().startswith(b"+"))
        # a alone on the mailbox: its shared rows are dropped, the append loads them again.
        self.let_hibernate()
        self.append(b, "Sleepy", MSG)
        lines = []
        while b"* 4 EXISTS" not in lines:
            lines.append(a.read_response_line())
        # Asleep again; now b holds the rows and a wakes on b's version.
        self.let_hibernate()
        b.cmd("SELECT Sleepy")
        b.cmd("STORE 2 +FLAGS (\\Flagged)")
        while not any(b"FETCH" in l for l in lines):
            lines.append(a.read_response_line())
        self.assertIn(b"* 2 FETCH (FLAGS (\\Flagged \\Recent))", lines)
        b.cmd("STORE 1 +FLAGS (\\Deleted)")
        b.cmd("EXPUNGE")
        while b"* 1 EXPUNGE" not in lines:
            lines.append(a.read_response_line())
        a.send(b"DONE\r\n")
        while not lines[-1].startswith(b"I1 "):
            lines.append(a.read_response_line())
        self.assertIn(b"I1 OK", lines[-1])
        self.assertEqual(self.fetch_flags(a), self.fetch_flags(b))

    def fetch_flags(self, w):
        """Every message's UID and flags once the session is up to date (\\Recent is per
        session and left out)."""
        w.cmd("NOOP")
        u, t = w.cmd("FETCH 1:* (UID FLAGS)")
        self.assertIn(b" OK ", t)
        return [re.sub(rb" ?\\Recent", b"", l).replace(b"( ", b"(") for l in u]

    def test_expunges_wait_for_an_allowed_point_across_several_changes(self):
        a = self.login()
        b = self.login()
        self.fresh(a, "Shared1", 5)
        a.cmd("SELECT Shared1")
        b.cmd("SELECT Shared1")
        b.cmd("STORE 2 +FLAGS (\\Deleted)")
        b.cmd("EXPUNGE")
        u, _ = a.cmd("FETCH 5 UID")  # no EXPUNGE during FETCH; seq 5 still addressable
        self.assertFalse(any(b"EXPUNGE" in l for l in u), u)
        self.assertIn(b"* 5 FETCH (UID 5)", u)
        b.cmd("STORE 3 +FLAGS (\\Deleted \\Flagged)")  # b's seq 3 is UID 4
        b.cmd("EXPUNGE")
        u, _ = a.cmd("STORE 1 +FLAGS (\\Seen)")  # a second change, still no EXPUNGE
        self.assertFalse(any(b"EXPUNGE" in l for l in u), u)
        self.assertIn(b"* 1 FETCH (FLAGS (\\Seen \\Recent))", u)
        u, _ = a.cmd("NOOP")
        self.assertEqual([l for l in u if b"EXPUNGE" in l], [b"* 4 EXPUNGE", b"* 2 EXPUNGE"])
        self.assertEqual(self.fetch_flags(a), self.fetch_flags(b))

    def test_own_expunge_is_announced_once(self):
        a = self.login()
        b = self.login()
        self.fresh(a, "Shared2", 3)
        a.cmd("SELECT Shared2")
        b.cmd("SELECT Shared2")
        a.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)")
        u, _ = a.cmd("EXPUNGE")
        self.assertEqual(u, [b"* 3 EXPUNGE"])
        for _ in range(2):
            u, _ = a.cmd("NOOP")
            self.assertEqual(u, [])  # neither again nor as new mail
        u, _ = b.cmd("NOOP")
        self.assertIn(b"* 3 EXPUNGE", u)
        self.append(b, "Shared2", MSG)
        u, _ = a.cmd("NOOP")
        self.assertIn(b"* 3 EXISTS", u)

    def test_a_mailbox_created_again_is_not_served_from_the_old_view(self):
        a = self.login()
        self.fresh(a, "Shared3", 3)
        a.cmd("SELECT Shared3")
        a.cmd("STORE 1 +FLAGS (\\Flagged)")
        a.cmd("UNSELECT")  # the view stays warm after the last session leaves
        self.assertIn(b" OK ", a.cmd("DELETE Shared3")[1])
        self.assertIn(b" OK ", a.cmd("CREATE Shared3")[1])
        self.append(a, "Shared3", MSG)
        u, _ = a.cmd("SELECT Shared3")
        self.assertIn(b"* 1 EXISTS", u)
        self.assertEqual(self.fetch_flags(a), [b"* 1 FETCH (UID 1 FLAGS ())"])

    def test_status_of_the_selected_mailbox_is_current(self):
        a = self.login()
        b = self.login()
        self.fresh(a, "Shared4", 2)
        a.cmd("SELECT Shared4")
        self.append(b, "Shared4", MSG, b"(\\Seen) ")
        b.cmd("SELECT Shared4")
        b.cmd("STORE 1 +FLAGS (\\Seen)")
        # a has not synchronized yet; STATUS answers what the mailbox holds now, as for any
        # other mailbox (RFC 3501 6.3.10).
        u, _ = a.cmd("STATUS Shared4 (MESSAGES UNSEEN UIDNEXT SIZE)")
        want = b"(MESSAGES 3 UNSEEN 1 UIDNEXT 4 SIZE %d)" % (3 * len(MSG))
        self.assertTrue(any(l.endswith(want) for l in u), u)
        c = self.login()
        u, _ = c.cmd("STATUS Shared4 (MESSAGES UNSEEN UIDNEXT SIZE)")
        self.assertTrue(any(l.endswith(want) for l in u), u)

    def test_status_of_the_selected_mailbox_follows_the_sessions_own_changes(self):
        # With nothing reported by the store since the last sync, STATUS of the selected
        # mailbox is answered from the shared version, without asking the store.
        a = self.login()
        self.fresh(a, "Shared4b", 3)
        a.cmd("SELECT Shared4b")
        want = b"(MESSAGES 3 UNSEEN 3 UIDNEXT 4)"
        for _ in range(2):
            u, _ = a.cmd("STATUS Shared4b (MESSAGES UNSEEN UIDNEXT)")
            self.assertTrue(any(l.endswith(want) for l in u), u)
        a.cmd("STORE 1 +FLAGS.SILENT (\\Seen \\Deleted)")
        u, _ = a.cmd("STATUS Shared4b (MESSAGES UNSEEN UIDNEXT)")
        self.assertTrue(any(l.endswith(b"(MESSAGES 3 UNSEEN 2 UIDNEXT 4)") for l in u), u)
        a.cmd("EXPUNGE")
        self.append(a, "Shared4b", MSG, b"")
        u, _ = a.cmd("STATUS Shared4b (MESSAGES UNSEEN UIDNEXT)")
        self.assertTrue(any(l.endswith(b"(MESSAGES 3 UNSEEN 3 UIDNEXT 5)") for l in u), u)

    def test_reselect_answers_like_the_first_select_and_sees_changes_of_others(self):
        a = self.login()
        b = self.login()
        self.fresh(a, "Shared4c", 2)
        first, t = a.cmd("SELECT Shared4c")
        self.assertIn(b" OK ", t)
        # Nothing changed: the same answer, \Recent already claimed by the first SELECT.
        again, _ = a.cmd("SELECT Shared4c")
        self.assertIn(b"* 2 EXISTS", again)
        self.assertIn(b"* 0 RECENT", again)
        self.assertEqual([l for l in first if b"UIDNEXT" in l or b"UNSEEN" in l],
                         [l for l in again if b"UIDNEXT" in l or b"UNSEEN" in l])
        # Another session's append and flag change: the next re-SELECT shows both.
        self.append(b, "Shared4c", MSG)
        b.cmd("SELECT Shared4c")
        b.cmd("STORE 1 +FLAGS (\\Seen)")
        later, _ = a.cmd("SELECT Shared4c")
        self.assertIn(b"* 3 EXISTS", later)
        self.assertIn(b"* OK [UIDNEXT 4] Predicted next UID", later)
        self.assertIn(b"* OK [UNSEEN 2] First unseen", later)

    def test_idle_session_follows_changes_of_others(self):
        a = self.login()
        b = self.login()
        self.fresh(a, "Shared5", 2)
        a.cmd("SELECT Shared5")
        b.cmd("SELECT Shared5")
        a.send(b"I1 IDLE\r\n")
        self.assertTrue(a.read_response_line().startswith(b"+"))
        b.cmd("STORE 2 +FLAGS ($Work)")
        lines = []
        while not any(b"FETCH" in l for l in lines):
            lines.append(a.read_response_line())
        self.assertTrue(any(l.startswith(b"* FLAGS (") and b"$Work" in l for l in lines), lines)
        self.assertIn(b"* 2 FETCH (FLAGS ($Work \\Recent))", lines)  # a saw it first
        a.send(b"DONE\r\n")
        while not a.read_response_line().startswith(b"I1 "):
            pass
        self.assertEqual(self.fetch_flags(a), self.fetch_flags(b))

    def test_a_selected_mailbox_replaced_underneath_ends_the_session(self):
        # Its UIDs would now name other messages: a STORE or EXPUNGE must not reach them.
        a = self.login()
        b = self.login()
        self.fresh(a, "Shared6", 3)
        a.cmd("SELECT Shared6")
        a.cmd("STORE 3 +FLAGS (\\Deleted)")
        self.assertIn(b" OK ", b.cmd("DELETE Shared6")[1])
        self.assertIn(b" OK ", b.cmd("CREATE Shared6")[1])
        for _ in range(3):
            self.append(b, "Shared6", MSG)
        u, _ = a.cmd("NOOP")
        self.assertTrue(any(l.startswith(b"* BYE ") for l in u), u)
        u, _ = b.cmd("SELECT Shared6")
        self.assertIn(b"* 3 EXISTS", u)
        u, _ = b.cmd("FETCH 3 FLAGS")
        self.assertFalse(any(b"\\Deleted" in l for l in u), u)


if __name__ == "__main__":
    unittest.main()
