"""A mailbox of realistic office mail for the IMAP benchmarks (bench/imap/compare.py
--shape mailbox): conversations (Message-ID / In-Reply-To / References chains, "Re:" and
"Fwd:" subjects, quoted text), plain, HTML-alternative and attachment-bearing messages (PDF,
images, Office documents as base64, sizes spread like real mail: most under 20 KB, a tail of
attachments up to ~1.5 MB), English, Traditional and Simplified Chinese subjects and bodies in
UTF-8, Big5 and GB2312. Deterministic for a seed, CRLF line ends.

    make_mailbox(count=1000, seed=1) -> [bytes, ...]
"""
import base64
import email.utils
import random

PEOPLE = [("Alice Chen", "alice"), ("Bob Lin", "bob"), ("Carol Wang", "carol"),
          ("David Huang", "david"), ("Erin Lee", "erin"), ("Frank Wu", "frank"),
          ("Grace Tsai", "grace"), ("Henry Liu", "henry"), ("Ivy Chang", "ivy"),
          ("Jack Kuo", "jack"), ("陳美玲", "meiling"), ("林志明", "zhiming"),
          ("王小華", "xiaohua"), ("張偉", "wei"), ("李娜", "na")]
DOMAINS = ["example.com", "partner.example", "supplier.example.net", "example.com.tw"]

TOPICS_EN = ["Quarterly budget review", "Project kickoff", "Contract draft v3", "Travel plan",
             "Meeting notes", "Invoice 2026-1187", "Release schedule", "Customer escalation",
             "Hiring update", "Office move", "Security training", "Design review",
             "Sales forecast", "Board deck", "Supplier audit", "Weekly status"]
TOPICS_ZH_TW = ["季度預算檢討", "專案啟動會議", "合約草案第三版", "出差行程", "會議記錄",
                "客戶問題升級", "人員招募進度", "辦公室搬遷"]
TOPICS_ZH_CN = ["季度预算审查", "项目启动会", "合同草案", "差旅安排", "会议纪要", "客户投诉处理",
                "招聘进展", "安全培训"]
WORDS_EN = ("please find the attached document and let me know if anything needs to change "
            "before we send it to the customer on friday the numbers look fine to me but the "
            "schedule is tight and we should agree on the next steps in the meeting").split()
TEXT_ZH_TW = "請參考附件中的文件，如果有需要修改的地方請告訴我。我們預計在週五之前寄給客戶。"
TEXT_ZH_CN = "请参考附件中的文件，如有需要修改的地方请告诉我。我们计划在周五之前发给客户。"
ATTACHMENTS = [("application/pdf", "pdf"), ("image/jpeg", "jpg"), ("image/png", "png"),
               ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
               ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")]


def _addr(rng):
    name, local = rng.choice(PEOPLE)
    return name, f"{local}@{rng.choice(DOMAINS)}"


def _header_text(text, charset):
    """An RFC 2047 encoded-word for non-ASCII text (B encoding), else the text."""
    if all(ord(c) < 128 for c in text):
        return text
    data = text.encode(charset)
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def _mailbox(name, addr, charset="utf-8"):
    return f"{_header_text(name, charset)} <{addr}>"


def _paragraphs(rng, lang, n):
    if lang == "en":
        out = []
        for _ in range(n):
            words = [rng.choice(WORDS_EN) for _ in range(rng.randint(12, 40))]
            words[0] = words[0].capitalize()
            out.append(" ".join(words) + ".")
        return out
    base = TEXT_ZH_TW if lang == "zh-tw" else TEXT_ZH_CN
    return [base * rng.randint(1, 3) for _ in range(n)]


def _wrap(text, width=76):
    lines, line = [], ""
    for word in text.split(" "):
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def _b64_lines(data):
    text = base64.b64encode(data).decode()
    return [text[i:i + 76] for i in range(0, len(text), 76)]


def _attachment_size(rng):
    # Most attachments are tens of KB, a few are large (scans, decks).
    return min(int(rng.lognormvariate(10.3, 1.1)), 1_500_000)


def make_mailbox(count=1000, seed=1):
    rng = random.Random(seed)
    threads = []  # [(subject, [message ids], lang, charset)]
    messages = []
    when = 1_790_000_000  # 2026-09
    for i in range(count):
        when += rng.randint(60, 4 * 3600)
        frm_name, frm = _addr(rng)
        to_name, to = _addr(rng)
        msgid = f"<{seed}.{i}.{rng.getrandbits(40):x}@{frm.split('@')[1]}>"
        reply_to_thread = threads and rng.random() < 0.55
        if reply_to_thread:
            t = rng.choice(threads[-60:])
            subject, ids, lang, charset = t
            prefix = "Fwd: " if rng.random() < 0.1 else "Re: "
            subj = prefix + subject
            refs = ids[-8:]
            ids.append(msgid)
        else:
            lang = rng.choices(["en", "zh-tw", "zh-cn"], [6, 2, 2])[0]
            charset = {"en": "us-ascii", "zh-tw": rng.choice(["utf-8", "big5"]),
                       "zh-cn": rng.choice(["utf-8", "gb2312"])}[lang]
            topics = {"en": TOPICS_EN, "zh-tw": TOPICS_ZH_TW, "zh-cn": TOPICS_ZH_CN}[lang]
            subject = rng.choice(topics) + f" #{i}"
            subj, refs = subject, []
            threads.append((subject, [msgid], lang, charset))
        body_charset = "utf-8" if charset == "us-ascii" else charset
        head = [f"Return-Path: <{frm}>",
                f"Received: from mx.{frm.split('@')[1]} (mx.{frm.split('@')[1]} [192.0.2.{i % 250 + 1}])"
                f" by mail.example.com with ESMTPS id {rng.getrandbits(48):x}; "
                f"{email.utils.formatdate(when, localtime=False)}",
                f"From: {_mailbox(frm_name, frm, 'utf-8')}",
                f"To: {_mailbox(to_name, to, 'utf-8')}"]
        if rng.random() < 0.3:
            cc_name, cc = _addr(rng)
            head.append(f"Cc: {_mailbox(cc_name, cc, 'utf-8')}")
        head += [f"Subject: {_header_text(subj, 'utf-8' if charset == 'us-ascii' else charset)}",
                 f"Date: {email.utils.formatdate(when, localtime=False)}",
                 f"Message-ID: {msgid}", "MIME-Version: 1.0"]
        if refs:
            head += [f"In-Reply-To: {refs[-1]}", "References: " + " ".join(refs)]
        paras = _paragraphs(rng, lang, rng.randint(1, 6))
        text_lines = []
        for p in paras:
            text_lines += _wrap(p) if lang == "en" else [p[k:k + 30] for k in range(0, len(p), 30)]
            text_lines.append("")
        if refs:
            text_lines += ["", f"On an earlier day, someone wrote:"]
            text_lines += ["> " + l for l in _wrap(" ".join(_paragraphs(rng, "en", 2)))]
        text = "\r\n".join(text_lines).encode(body_charset, "replace")
        kind = rng.choices(["plain", "alternative", "attachment"], [50, 30, 20])[0]
        boundary = f"=_b{i}_{rng.getrandbits(32):x}"
        if kind == "plain":
            head.append(f"Content-Type: text/plain; charset={body_charset}")
            head.append("Content-Transfer-Encoding: 8bit" if body_charset != "us-ascii"
                        else "Content-Transfer-Encoding: 7bit")
            body = text
        else:
            parts = []
            if kind == "alternative" or rng.random() < 0.5:
                html = ("<html><body>" + "".join(f"<p>{p}</p>" for p in paras) +
                        "</body></html>").encode(body_charset, "replace")
                alt = f"=_a{i}_{rng.getrandbits(32):x}"
                parts.append(
                    f"Content-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n"
                    f"--{alt}\r\nContent-Type: text/plain; charset={body_charset}\r\n"
                    f"Content-Transfer-Encoding: 8bit\r\n\r\n".encode() + text +
                    f"\r\n--{alt}\r\nContent-Type: text/html; charset={body_charset}\r\n"
                    f"Content-Transfer-Encoding: 8bit\r\n\r\n".encode() + html +
                    f"\r\n--{alt}--".encode())
            else:
                parts.append(f"Content-Type: text/plain; charset={body_charset}\r\n"
                             f"Content-Transfer-Encoding: 8bit\r\n\r\n".encode() + text)
            if kind == "attachment":
                for k in range(rng.choices([1, 2, 3], [70, 20, 10])[0]):
                    ctype, ext = rng.choice(ATTACHMENTS)
                    data = rng.randbytes(_attachment_size(rng))
                    parts.append(
                        (f"Content-Type: {ctype}; name=\"file{i}_{k}.{ext}\"\r\n"
                         f"Content-Disposition: attachment; filename=\"file{i}_{k}.{ext}\"\r\n"
                         f"Content-Transfer-Encoding: base64\r\n\r\n" +
                         "\r\n".join(_b64_lines(data))).encode())
            mixed = kind == "attachment"
            head.append(f"Content-Type: multipart/{'mixed' if mixed else 'alternative'}; "
                        f"boundary=\"{boundary}\"" if mixed else parts[0].split(b"\r\n")[0].decode())
            if mixed:
                body = b"This is a multi-part message in MIME format.\r\n\r\n"
                for p in parts:
                    body += f"--{boundary}\r\n".encode() + p + b"\r\n"
                body += f"--{boundary}--\r\n".encode()
            else:
                body = parts[0].split(b"\r\n\r\n", 1)[1]
        messages.append(("\r\n".join(head) + "\r\n\r\n").encode() + body + b"\r\n")
    return messages


if __name__ == "__main__":
    ms = make_mailbox()
    sizes = sorted(len(m) for m in ms)
    print(f"{len(ms)} messages, {sum(sizes) / 1e6:.1f} MB, median {sizes[len(sizes) // 2]} B, "
          f"p90 {sizes[len(sizes) * 9 // 10]} B, max {sizes[-1]} B")
