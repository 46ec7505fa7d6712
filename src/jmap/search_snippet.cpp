// SearchSnippet/get (RFC 8621 5): the subject and a preview of each Email with the filter's
// search terms marked. The terms are the "text", "subject" and "body" conditions of the filter
// (outside NOT), matched as Email/query matches them (IMAP SEARCH: Unicode case folding,
// decoded header and body text, CJK included); "subject" marks the subject only, "body" the
// preview only, "text" both. subject and preview are null when nothing matched in them.
// Output is HTML-escaped text with <mark></mark> around each match (RFC 8621 5).
#include <algorithm>
#include <boost/json.hpp>

#include "src/jmap/methods.h"
#include "src/jmap/views.h"
#include "src/mime/facts.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

constexpr size_t kMaxBodyBytes = 256 * 1024;  // of decoded text searched for the preview
constexpr size_t kPreviewCodePoints = 255;    // RFC 8621 5: "at most 255 characters"
constexpr size_t kContextBefore = 40;         // code points shown before the first match
constexpr size_t kMaxTerms = 16;

struct Terms {
  std::vector<std::string> subject, body;  // fold_case()d
};

void collect_terms(const json::value& f, Terms& t, int depth) {
  if (depth > 16 || !f.is_object()) return;
  const auto& o = f.as_object();
  if (const auto* op = o.if_contains("operator")) {
    if (op->is_string() && op->as_string() == "NOT") return;  // not what was searched for
    if (const auto* c = o.if_contains("conditions"); c && c->is_array())
      for (const auto& x : c->as_array()) collect_terms(x, t, depth + 1);
    return;
  }
  for (const char* k : {"text", "subject", "body"}) {
    const auto* v = o.if_contains(k);
    if (!v || !v->is_string() || v->as_string().empty()) continue;
    std::string folded = mime::fold_case(v->as_string());
    if (std::string_view(k) != "body" && t.subject.size() < kMaxTerms) t.subject.push_back(folded);
    if (std::string_view(k) != "subject" && t.body.size() < kMaxTerms) t.body.push_back(folded);
  }
}

// Text as code points, each with its folded form, so that a match in the folded text maps
// back to whole characters of the original (folding may change lengths: "ß" -> "ss").
struct Folded {
  std::vector<std::string_view> chars;  // views into the original, one code point each
  std::string folded;
  std::vector<size_t> char_at;  // folded byte -> index in chars
};

Folded fold(std::string_view s) {
  Folded f;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    n = std::min(n, s.size() - i);
    std::string_view ch = s.substr(i, n);
    std::string fc =
        c < 0x80 ? std::string(1, static_cast<char>(std::tolower(c))) : mime::fold_case(ch);
    for (size_t k = 0; k < fc.size(); ++k) f.char_at.push_back(f.chars.size());
    f.folded += fc;
    f.chars.push_back(ch);
    i += n;
  }
  return f;
}

// Marked ranges [first, last) in code points, merged.
std::vector<std::pair<size_t, size_t>> matches(const Folded& f,
                                               const std::vector<std::string>& terms) {
  std::vector<std::pair<size_t, size_t>> out;
  for (const auto& t : terms) {
    for (size_t p = f.folded.find(t); p != std::string::npos && out.size() < 256;
         p = f.folded.find(t, p + t.size())) {
      out.emplace_back(f.char_at[p], f.char_at[p + t.size() - 1] + 1);
    }
  }
  std::sort(out.begin(), out.end());
  std::vector<std::pair<size_t, size_t>> merged;
  for (const auto& r : out) {
    if (!merged.empty() && r.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  return merged;
}

void escape_into(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\r':
      case '\n':
      case '\t':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
}

// Code points [from, to) of `f`, escaped, with the ranges marked; nullopt without a match.
std::optional<std::string> highlight(const Folded& f, const std::vector<std::string>& terms,
                                     bool window) {
  auto ranges = matches(f, terms);
  if (ranges.empty()) return std::nullopt;
  size_t from = 0, to = f.chars.size();
  if (window) {
    from = ranges.front().first > kContextBefore ? ranges.front().first - kContextBefore : 0;
    to = std::min(f.chars.size(), from + kPreviewCodePoints);
  }
  std::string out;
  size_t r = 0;
  for (size_t i = from; i < to; ++i) {
    while (r < ranges.size() && ranges[r].second <= i) ++r;
    if (r < ranges.size() && ranges[r].first == i) out += "<mark>";
    escape_into(out, f.chars[i]);
    if (r < ranges.size() && (ranges[r].second == i + 1 || i + 1 == to) && ranges[r].first <= i)
      out += "</mark>";
  }
  return out;
}

// White space collapsed (a preview is one line).
std::string collapse(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (ws) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

MethodResult search_snippet_get(CallContext& ctx, const json::object& args,
                                json::object& response) {
  if (auto e = check_known(args, {"accountId", "filter", "emailIds"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  const json::value* filter = args.if_contains("filter");
  if (filter && filter->is_null()) filter = nullptr;
  if (filter)
    if (auto e = check_email_filter(*filter, *all, 0)) return e;
  std::optional<std::vector<std::string>> ids;
  if (auto e = read_ids(ctx, args, "emailIds", ctx.options.max_objects_in_get, &ids)) return e;
  if (!ids) return invalid_arguments("emailIds is required");
  Terms terms;
  if (filter) collect_terms(*filter, terms, 0);
  json::array list, not_found;
  for (const auto& id : *ids) {
    auto copies = copies_of(ctx.store, ctx.account_id, id, 'M');
    if (!copies) return store_error(copies.status());
    if (copies->empty()) {
      not_found.push_back(json::value(id));
      continue;
    }
    json::object s{{"emailId", id}, {"subject", nullptr}, {"preview", nullptr}};
    if (!terms.subject.empty() || !terms.body.empty()) {
      const auto& c = copies->front();
      auto data = ctx.store.read_message(ctx.account_id, c.mailbox, c.meta.uid);
      if (!data) {
        if (data.code() == core::Code::not_found) {
          not_found.push_back(json::value(id));
          continue;
        }
        return store_error(data.status());
      }
      if (!terms.subject.empty()) {
        auto facts = mime::parse_facts(*data);
        if (auto h = highlight(fold(facts.subject), terms.subject, false)) s["subject"] = *h;
      }
      if (!terms.body.empty()) {
        std::string text = mime::decoded_body_text(*data);
        if (text.size() > kMaxBodyBytes) text.resize(kMaxBodyBytes);  // may cut a character
        if (auto h = highlight(fold(collapse(text)), terms.body, true)) s["preview"] = *h;
      }
    }
    list.push_back(std::move(s));
  }
  response["list"] = std::move(list);
  response["notFound"] = not_found.empty() ? json::value(nullptr) : json::value(not_found);
  return std::nullopt;
}

}  // namespace mailroom::jmap
