#include "src/filter/content_scan.h"

#include "src/core/log.h"
#include "src/core/metric_catalog.h"

namespace mailroom::filter {

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
