#include "src/filter/content_scan.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "src/core/log.h"
#include "src/core/metric_catalog.h"

namespace mailroom::filter {

namespace {

// Fields in which the scanners give their verdicts and which Sieve's spamtest/virustest
// (RFC 5235) and mail clients read: a sender's own copies are removed before scanning.
constexpr std::string_view kVerdictFields[] = {
    "X-Spam-Flag",      "X-Spam-Score",   "X-Spam-Status",   "X-Spam-Symbols",       "X-Spam-Level",
    "X-Spam-Threshold", "X-Virus-Status", "X-Virus-Scanned", "X-Mailroom-Virus-Scan"};

bool verdict_field(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  for (std::string_view f : kVerdictFields) {
    if (name.size() == f.size() &&
        std::equal(name.begin(), name.end(), f.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return true;
  }
  return false;
}

}  // namespace

bool strip_verdict_fields(std::string& message) {
  size_t end = message.find("\r\n\r\n");
  end = end == std::string::npos ? message.size() : end + 2;
  std::string out;
  bool found = false, dropping = false;
  size_t pos = 0, kept = 0;  // message[kept, pos) is still to be copied
  while (pos < end) {
    size_t eol = message.find('\n', pos);
    size_t next = eol == std::string::npos || eol >= end ? end : eol + 1;
    std::string_view line(message.data() + pos, next - pos);
    bool continuation = line[0] == ' ' || line[0] == '\t';
    bool drop = continuation ? dropping : verdict_field(line);
    if (!continuation) dropping = drop;
    if (drop) {
      if (!found) out.reserve(message.size());
      found = true;
      out.append(message, kept, pos - kept);
      kept = next;
    }
    pos = next;
  }
  if (!found) return false;
  out.append(message, kept, std::string::npos);
  message = std::move(out);
  return true;
}

std::string_view content_action_name(ContentAction action) {
  switch (action) {
    case ContentAction::accept:
      return "accept";
    case ContentAction::reject:
      return "reject";
    case ContentAction::tempfail:
      return "tempfail";
    case ContentAction::quarantine:
      return "quarantine";
    case ContentAction::junk:
      return "junk";
    case ContentAction::ads:
      return "ads";
  }
  return "accept";
}

ContentScanResult ContentScanChain::run(ContentScanInput input) const {
  ContentScanResult result;
  for (const auto& scanner : scanners_) {
    ContentVerdict v = scanner->scan(input);
    std::string name = scanner->name();
    metrics::content_scans(name, content_action_name(v.action)).inc();
    for (auto& h : v.add_headers) result.add_headers.push_back(std::move(h));
    if (v.replacement) {
      result.replacement = std::make_shared<const std::string>(std::move(*v.replacement));
      input.message = result.replacement;
    }
    switch (v.action) {
      case ContentAction::accept:
        continue;
      case ContentAction::junk:
      case ContentAction::ads:
        result.action = v.action;
        result.reason = std::move(v.reason);
        result.decided_by = name;
        continue;
      case ContentAction::reject:
      case ContentAction::tempfail:
      case ContentAction::quarantine:
        result.action = v.action;
        result.reason = std::move(v.reason);
        result.decided_by = name;
        return result;
    }
  }
  return result;
}

std::string format_added_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    std::string field;
    for (char c : name) {
      // RFC 5322 2.2: printable US-ASCII except ':'; anything else would break the header.
      if (c > 32 && c < 127 && c != ':') field += c;
    }
    if (field.empty()) continue;
    field += ": ";
    for (size_t i = 0; i < value.size(); ++i) {
      char c = value[i];
      bool fold = c == '\r' && i + 2 < value.size() && value[i + 1] == '\n' &&
                  (value[i + 2] == ' ' || value[i + 2] == '\t');
      if (fold) {
        field += "\r\n";
        ++i;
      } else if (c == '\r' || c == '\n' || c == '\0') {
        field += ' ';
      } else {
        field += c;
      }
    }
    out += field + "\r\n";
  }
  return out;
}

}  // namespace mailroom::filter
