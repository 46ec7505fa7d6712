#include "src/queue/envelope_codec.h"

#include <vector>

#include "src/core/split.h"

namespace mailroom::queue {
namespace {

std::string enc(std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (c == '%' || c == '\t' || c == '\r' || c == '\n' || c == '\0' || c == ' ') {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out.empty() ? std::string("%") : out;  // "%" alone = empty value
}

std::optional<std::string> dec(std::string_view v) {
  if (v == "%") return std::string();
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    auto h = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int a = h(v[i + 1]), b = h(v[i + 2]);
    if (a < 0 || b < 0) return std::nullopt;
    out += static_cast<char>(a * 16 + b);
    i += 2;
  }
  return out;
}

using core::split;

}  // namespace

std::string encode_envelope(const Envelope& e) {
  std::string out;
  auto kv = [&](const char* k, std::string_view v) {
    out += k;
    out += ' ';
    out += enc(v);
    out += '\n';
  };
  kv("sender", e.sender);
  kv("body", e.body);
  kv("smtputf8", e.smtputf8 ? "1" : "0");
  kv("ret", e.ret);
  kv("envid", e.envid);
  kv("auth", e.auth_account_id);
  kv("ip", e.client_ip);
  kv("helo", e.helo);
  kv("time", std::to_string(e.received_at));
  for (const auto& r : e.recipients) {
    const auto& d = r.destination;
    out += "R " + enc(r.rcpt) + ' ' + enc(r.orcpt) + ' ' + enc(r.notify) + ' ' +
           (d.kind == auth::Destination::Kind::remote ? "remote" : "mailbox") + ' ' +
           enc(d.account_id) + ' ' + enc(d.address) + ' ' + enc(d.folder) + ' ' +
           std::to_string(d.quota_bytes) + ' ' + std::to_string(d.quota_messages);
    // Field 11 (since the recall work): who forwarded this copy; older spools lack it.
    if (!d.forwarded_by.empty()) out += ' ' + enc(d.forwarded_by);
    out += '\n';
  }
  return out;
}

std::optional<Envelope> decode_envelope(std::string_view text) {
  Envelope e;
  for (auto line : split(text, '\n')) {
    if (line.empty()) continue;
    auto f = split(line, ' ');
    if (f[0] == "R") {
      if (f.size() < 10) return std::nullopt;
      EnvelopeRecipient r;
      auto rcpt = dec(f[1]), orcpt = dec(f[2]), notify = dec(f[3]), id = dec(f[5]),
           addr = dec(f[6]), folder = dec(f[7]);
      if (!rcpt || !orcpt || !notify || !id || !addr || !folder) return std::nullopt;
      r.rcpt = *rcpt;
      r.orcpt = *orcpt;
      r.notify = *notify;
      r.destination.kind =
          f[4] == "remote" ? auth::Destination::Kind::remote : auth::Destination::Kind::mailbox;
      r.destination.account_id = *id;
      r.destination.address = *addr;
      r.destination.folder = *folder;
      try {
        r.destination.quota_bytes = std::stoull(std::string(f[8]));
        r.destination.quota_messages = std::stoull(std::string(f[9]));
      } catch (...) {
        return std::nullopt;
      }
      if (f.size() > 10) {
        auto via = dec(f[10]);
        if (!via) return std::nullopt;
        r.destination.forwarded_by = *via;
      }
      e.recipients.push_back(std::move(r));
      continue;
    }
    if (f.size() != 2) return std::nullopt;
    auto v = dec(f[1]);
    if (!v) return std::nullopt;
    if (f[0] == "sender")
      e.sender = *v;
    else if (f[0] == "body")
      e.body = *v;
    else if (f[0] == "smtputf8")
      e.smtputf8 = *v == "1";
    else if (f[0] == "ret")
      e.ret = *v;
    else if (f[0] == "envid")
      e.envid = *v;
    else if (f[0] == "auth")
      e.auth_account_id = *v;
    else if (f[0] == "ip")
      e.client_ip = *v;
    else if (f[0] == "helo")
      e.helo = *v;
    else if (f[0] == "time")
      e.received_at = std::atoll(v->c_str());
  }
  return e;
}

}  // namespace mailroom::queue
