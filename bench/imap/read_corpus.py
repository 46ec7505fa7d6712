"""A deterministic, realistic INBOX for the IMAP read-path benchmark (read_path.py): what a
client meets when it opens a real folder.

- threads: a reply takes its parent's subject with "Re:" (sometimes "RE:", "Re: Re:" or a
  "[team]" list tag), In-Reply-To and References chains (Outlook-style replies without
  In-Reply-To now and then); forwards start a new thread with "Fwd:";
- display names (plain, quoted "Last, First", RFC 2047 UTF-8 Chinese names), To and Cc lists,
  Received/Return-Path/X-Mailer lines as delivered mail has them;
- sizes averaging about 16 KB: text/plain (some quoted-printable), multipart/alternative with
  an HTML part, and multipart/mixed with a base64 attachment of 50-500 KB (PDF, ZIP, PNG);
- a few RFC 2047 subjects in Big5, GB2312 and UTF-8 (B and Q encodings);
- dates spread over six years in several time zones, in arrival order with some jitter;
- about one message in three unseen, a few flagged (flags are returned, not stored in the
  bytes: each server gets them its own way).

Messages are CRLF bytes, end with a non-empty line and CRLF, and contain no NUL, bare CR or
line starting with "From " or ">From ", so an mboxrd round trip (mailroomctl import) and a maildir
file with LF endings (Dovecot) both give back exactly these bytes. Generation is fast (pools
of text and random bytes sliced per message): 100,000 messages take well under a minute.
"""
import base64
import datetime
import random

WORDS = ("the a of to and in for on with by we our your this that project budget review "
         "plan quarter report customer release schedule team update deadline contract draft "
         "office server network invoice order shipment supplier design test results data "
         "please thanks regards attached below above agenda notes action items follow up "
         "question answer issue ticket fix deploy build version account payment travel "
         "hotel flight visa training policy security backup storage migration vendor price "
         "offer proposal approval manager director engineer support week month today "
         "tomorrow friday monday morning afternoon call discuss confirm send share check "
         "update new old final revised summary overview figures chart sales marketing "
         "product launch event conference room lunch dinner holiday leave sick benefits "
         "salary bonus hiring interview candidate onboarding laptop phone printer access "
         "password login portal website database report dashboard metrics growth risk "
         "audit compliance legal terms signature deliverable milestone estimate cost").split()
TOPICS = ["Q{q} budget review", "Release {v} schedule", "Customer escalation #{n}",
          "Invoice {n} from supplier", "Team offsite in {city}", "Security patch for {prod}",
          "Weekly status report", "Contract renewal: {cust}", "Interview feedback for {name}",
          "Server migration plan", "Travel request to {city}", "Quarterly sales figures",
          "Training registration", "Office move next {day}", "Design review of {prod}",
          "Holiday schedule {y}", "Printer on floor {q} broken", "New hire onboarding",
          "Purchase order {n}", "Minutes of the planning meeting", "Lunch on {day}?",
          "Network outage postmortem", "Marketing campaign draft", "Your access request",
          "Board presentation slides", "Expense report {n}", "Product launch checklist"]
CITIES = ["Taipei", "Hsinchu", "Kaohsiung", "Tokyo", "Berlin", "Austin", "Singapore"]
PRODUCTS = ["Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon"]
CUSTOMERS = ["Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
FIRST = ["Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter",
         "Yvonne", "Chen", "Wei", "Mei", "Jun", "Hiro", "Anna", "Lukas", "Sofia"]
LAST = ["Smith", "Jones", "Lin", "Wang", "Chang", "Huang", "Tanaka", "Mueller", "Garcia",
        "Brown", "Lee", "Wu", "Kim", "Novak", "Rossi", "Dubois", "Cohen", "Singh"]
CJK_NAMES = ["王小明", "陳美玲", "林志偉", "張家豪", "李淑芬", "黃建國", "吳怡君"]
DOMAINS = ["example.com", "example.com", "example.com", "example.org", "example.net",
           "mail.example.tw", "partner.test", "vendor.test", "corp.test"]
# (charset, text) pairs for the few non-ASCII encoded-word subjects
CJK_SUBJECTS = [("big5", "季度報告 第{n}號"), ("big5", "請查收附件 {n}"), ("big5", "員工旅遊通知"),
                ("gb2312", "会议纪要 {n}"), ("gb2312", "项目进度更新"), ("gb2312", "报价单 {n}"),
                ("utf-8", "會議通知 第{n}次"), ("utf-8", "Grüße aus Köln #{n}"),
                ("utf-8", "日本語の件名 {n}"), ("utf-8", "Résumé du projet {n}")]
ZONES = [(8 * 60, "+0800"), (8 * 60, "+0800"), (0, "+0000"), (-5 * 60, "-0500"),
         (60, "+0100"), (9 * 60, "+0900"), (-8 * 60, "-0800")]
ATTACHMENTS = [("application/pdf", "pdf"), ("application/zip", "zip"), ("image/png", "png"),
               ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")]
MAILERS = ["Microsoft Outlook 16.0", "Mozilla Thunderbird 115.3", "Apple Mail (2.3731)",
           "Mailroom Webmail", "K-9 Mail 6.7"]
DOWS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
START = 1546300800  # 2019-01-01 00:00 UTC
SPAN = 6 * 365 * 86400  # dates spread over six years, whatever the count

UNSEEN_SHARE = 1 / 3


class Message:
    """One message: its bytes (CRLF), its date (UTC seconds; the internal date on both
    servers) and its flags."""
    __slots__ = ("data", "date", "seen", "flagged")

    def __init__(self, data, date, seen, flagged):
        self.data, self.date, self.seen, self.flagged = data, date, seen, flagged


class _Pools:
    def __init__(self, rng):
        # Text lines (wrapped at <= 76) from the word list; "meeting" only where placed.
        self.lines = []
        for _ in range(4000):
            words, width = [], 0
            target = rng.randint(40, 76)
            while width < target:
                w = rng.choice(WORDS)
                words.append(w)
                width += len(w) + 1
            line = " ".join(words)
            self.lines.append(line[0].upper() + line[1:] + ("." if rng.random() < 0.4 else ""))
        self.random_bytes = rng.randbytes(520 * 1024)


def _rfc2047(charset, text, rng):
    raw = text.encode(charset)
    if charset == "utf-8" and rng.random() < 0.4:
        q = "".join(chr(b) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122) else
                    "_" if b == 32 else "=%02X" % b for b in raw)
        return "=?UTF-8?Q?" + q + "?="
    return "=?%s?B?%s?=" % (charset.upper(), base64.b64encode(raw).decode())


def _person(rng, people):
    return rng.choice(people)


def _make_people(rng):
    people = []
    for i in range(400):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first.lower()}.{last.lower()}{i % 7 or ''}"
        addr = f"{local}@{rng.choice(DOMAINS)}"
        r = rng.random()
        if r < 0.55:
            name = f"{first} {last} <{addr}>"
        elif r < 0.7:
            name = f'"{last}, {first}" <{addr}>'
        elif r < 0.82:
            name = _rfc2047("utf-8", rng.choice(CJK_NAMES), rng) + f" <{addr}>"
        elif r < 0.9:
            name = f'"{first} {last} (IT)" <{addr}>'
        else:
            name = addr
        people.append(name)
    return people


def _date_header(ts, zone):
    offset, text = zone
    t = datetime.datetime.fromtimestamp(ts + offset * 60, datetime.timezone.utc)
    return "%s, %d %s %d %02d:%02d:%02d %s" % (DOWS[t.weekday()], t.day, MONTHS[t.month - 1],
                                              t.year, t.hour, t.minute, t.second, text)


def _text(rng, pools, size, meeting):
    n = len(pools.lines)
    start = rng.randrange(n)
    out, total, i = [], 0, 0
    while total < size:
        line = pools.lines[(start + i) % n]
        if rng.random() < 0.12:
            line = ""
        out.append(line)
        total += len(line) + 2
        i += 1
    if meeting:
        out.insert(rng.randrange(len(out) + 1),
                   rng.choice(["Can we move the meeting to Thursday afternoon?",
                               "Notes from today's meeting are below.",
                               "Please join the project meeting in room 3B."]))
    while out and out[-1] == "":
        out.pop()
    out.append("Best regards,")
    return out


def _qp(lines):
    # Quoted-printable of ASCII text: soft line breaks never needed (lines <= 76).
    return [l.replace("=", "=3D") for l in lines]


def _html(lines):
    body = ["<html><head><meta http-equiv=3D\"Content-Type\" content=3D\"text/html; "
            "charset=3Dutf-8\"></head>", "<body>"]
    for l in lines:
        body.append("<p>" + l.replace("=", "=3D") + "</p>" if l else "<br>")
    body.append("</body></html>")
    return body


def make_corpus(count, seed=20261205):
    """Returns `count` Message objects: the same list for the same (count, seed)."""
    rng = random.Random(seed)
    pools = _Pools(rng)
    people = _make_people(rng)
    me = "Bench Reader <reader@example.com>"
    messages, meta = [], []  # meta: (subject, message_id, references list)
    step = SPAN / max(count, 1)
    for k in range(count):
        ts = int(START + k * step + rng.uniform(-0.4, 0.4) * step)
        zone = rng.choice(ZONES)
        sender = _person(rng, people)
        msgid = "<%d.%08x@%s>" % (k, rng.getrandbits(32), sender.rsplit("@", 1)[1].rstrip(">"))
        r = rng.random()
        in_reply_to, references = None, []
        if r < 0.45 and meta:
            parent = meta[max(0, len(meta) - 1 - int(rng.expovariate(1 / 40)))]
            base = parent[0]
            rr = rng.random()
            prefix = "Re: " if rr < 0.75 else "RE: " if rr < 0.88 else "Re: Re: " if rr < 0.94 \
                else "[team] Re: "
            subject = base if base.startswith(("Re: ", "RE: ")) and rr < 0.75 else prefix + base
            references = (parent[2] + [parent[1]])[-12:]
            in_reply_to = None if rng.random() < 0.08 else parent[1]
        elif r < 0.50 and meta:
            subject = "Fwd: " + rng.choice(meta[-200:])[0]
        else:
            rs = rng.random()
            if rs < 0.06:
                charset, text = rng.choice(CJK_SUBJECTS)
                subject = _rfc2047(charset, text.format(n=k), rng)
            else:
                subject = rng.choice(TOPICS).format(
                    q=rng.randint(1, 4), v="%d.%d" % (rng.randint(1, 9), rng.randint(0, 20)),
                    n=rng.randint(1000, 99999), city=rng.choice(CITIES), prod=rng.choice(PRODUCTS),
                    cust=rng.choice(CUSTOMERS), name=rng.choice(FIRST), day=rng.choice(DOWS),
                    y=2019 + k * 6 // max(count, 1))
        meta.append((subject, msgid, references))
        to = [me] + [_person(rng, people) for _ in range(rng.choice([0, 0, 1, 2, 4]))]
        cc = [_person(rng, people) for _ in range(rng.choice([0, 0, 0, 1, 2, 3]))]
        host = "mx%d.%s" % (rng.randint(1, 4), rng.choice(DOMAINS))
        h = ["Return-Path: <%s>" % sender.rsplit("<", 1)[-1].rstrip(">"),
             "Received: from %s (%s [192.0.2.%d])\r\n\tby mail.example.com (Mailroom) with ESMTPS"
             " id %08X\r\n\tfor <reader@example.com>; %s"
             % (host, host, rng.randint(1, 254), rng.getrandbits(32), _date_header(ts + 2, zone)),
             "Received: from [10.%d.%d.%d] by %s with ESMTPSA; %s"
             % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254), host,
                _date_header(ts + 1, zone)),
             "From: " + sender,
             "To: " + ",\r\n\t".join(to)]
        if cc:
            h.append("Cc: " + ",\r\n\t".join(cc))
        h += ["Subject: " + subject, "Date: " + _date_header(ts, zone), "Message-ID: " + msgid]
        if in_reply_to:
            h.append("In-Reply-To: " + in_reply_to)
        if references:
            h.append("References: " + "\r\n\t".join(references))
        h += ["X-Mailer: " + rng.choice(MAILERS), "MIME-Version: 1.0"]
        # Body: text size ~ log-uniform 300 B .. 24 KB; quoted parent for replies.
        size = int(300 * (80 ** rng.random()))
        text = _text(rng, pools, size, rng.random() < 0.10)
        if references and rng.random() < 0.7:
            text += ["", "On %s, %s wrote:" % (_date_header(ts - 3600, zone), "someone")] + \
                ["> " + l if l else ">" for l in _text(rng, pools, size // 2, False)]
        kind = rng.random()
        boundary = "----=_Part_%d_%08x" % (k, rng.getrandbits(32))
        if kind < 0.025:  # multipart/mixed with an attachment of 50-500 KB
            ctype, ext = rng.choice(ATTACHMENTS)
            raw_len = int(50 * 1024 * (10 ** rng.random()))
            off = rng.randrange(len(pools.random_bytes) - raw_len)
            b64 = base64.encodebytes(pools.random_bytes[off:off + raw_len]).decode()
            b64_lines = b64.rstrip("\n").split("\n")
            inner = "----=_Alt_%d" % k
            h += ['Content-Type: multipart/mixed; boundary="%s"' % boundary]
            body = ["This is a multi-part message in MIME format.", "", "--" + boundary]
            if rng.random() < 0.5:
                body += ['Content-Type: multipart/alternative; boundary="%s"' % inner, "",
                         "--" + inner, "Content-Type: text/plain; charset=utf-8",
                         "Content-Transfer-Encoding: quoted-printable", ""] + _qp(text) + \
                        ["--" + inner, "Content-Type: text/html; charset=utf-8",
                         "Content-Transfer-Encoding: quoted-printable", ""] + _html(text) + \
                        ["--" + inner + "--", ""]
            else:
                body += ["Content-Type: text/plain; charset=us-ascii",
                         "Content-Transfer-Encoding: 7bit", ""] + text + [""]
            body += ["--" + boundary,
                     'Content-Type: %s; name="document-%d.%s"' % (ctype, k, ext),
                     "Content-Transfer-Encoding: base64",
                     'Content-Disposition: attachment; filename="document-%d.%s"' % (k, ext),
                     ""] + b64_lines + ["--" + boundary + "--"]
        elif kind < 0.30:  # multipart/alternative: plain + HTML
            h += ['Content-Type: multipart/alternative; boundary="%s"' % boundary]
            body = ["--" + boundary, "Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: quoted-printable", ""] + _qp(text) + \
                   ["--" + boundary, "Content-Type: text/html; charset=utf-8",
                    "Content-Transfer-Encoding: quoted-printable", ""] + _html(text) + \
                   ["--" + boundary + "--"]
        elif kind < 0.45:
            h += ["Content-Type: text/plain; charset=utf-8; format=flowed",
                  "Content-Transfer-Encoding: quoted-printable"]
            body = _qp(text)
        else:
            h += ["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"]
            body = text
        data = ("\r\n".join(h) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()
        r = rng.random()
        messages.append(Message(data, ts, seen=r >= UNSEEN_SHARE, flagged=rng.random() < 0.03))
    return messages


def write_mboxrd(path, messages):
    """An mboxrd file whose "From " lines carry each message's date (the internal date that
    `mailroomctl import mbox` keeps). The messages hold no line that needs quoting."""
    with open(path, "wb") as f:
        for m in messages:
            t = datetime.datetime.fromtimestamp(m.date, datetime.timezone.utc)
            f.write(("From MAILER-DAEMON %s %s %2d %02d:%02d:%02d %d\n" % (
                DOWS[t.weekday()], MONTHS[t.month - 1], t.day, t.hour, t.minute, t.second,
                t.year)).encode())
            f.write(m.data.replace(b"\r\n", b"\n"))
            f.write(b"\n")


if __name__ == "__main__":
    import sys
    import time
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    t0 = time.time()
    ms = make_corpus(n)
    sizes = sorted(len(m.data) for m in ms)
    print(f"{n} messages in {time.time() - t0:.1f} s: {sum(sizes) / 1e6:.1f} MB, mean "
          f"{sum(sizes) / n / 1024:.1f} KiB, median {sizes[n // 2] / 1024:.1f} KiB, max "
          f"{sizes[-1] / 1024:.0f} KiB; unseen {sum(not m.seen for m in ms)}")
