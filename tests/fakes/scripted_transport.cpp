#include "tests/fakes/scripted_transport.h"

namespace mailroom::testing {

ScriptedTransport::ScriptedTransport(std::vector<std::string> segments, bool tls,
                                     bool starttls_allowed)
    : segments_(segments.begin(), segments.end()), tls_(tls), starttls_allowed_(starttls_allowed) {
  info_.session_id = "stest";
  info_.protocol = "test";
  info_.remote_ip = "192.0.2.7";
  info_.loopback = false;
  info_.tls_mode = starttls_allowed ? net::TlsMode::starttls : net::TlsMode::none;
}

std::size_t ScriptedTransport::buffered() const {
  return segments_.empty() ? 0 : segments_.front().size();
}

void ScriptedTransport::set_secret_input(bool secret) { secret_ = secret; }

boost::asio::awaitable<net::ReadStatus> ScriptedTransport::read_line(std::string& line,
                                                                     std::size_t max_length,
                                                                     bool* bare_lf) {
  while (!segments_.empty() && segments_.front().empty()) segments_.pop_front();
  if (segments_.empty()) co_return end_status();
  std::string& seg = segments_.front();
  std::size_t nl = seg.find('\n');
  if (nl == std::string::npos) {  // an unfinished line at the end of the script
    seg.clear();
    co_return end_status();
  }
  std::string raw = seg.substr(0, nl);
  seg.erase(0, nl + 1);
  bool lf_only = raw.empty() || raw.back() != '\r';
  if (!lf_only) raw.pop_back();
  if (bare_lf) *bare_lf = lf_only;
  if (raw.size() > max_length) co_return net::ReadStatus::too_long;
  line = raw;
  if (secret_) secret_lines.push_back(raw);
  co_return net::ReadStatus::ok;
}

boost::asio::awaitable<net::ReadStatus> ScriptedTransport::read_command(std::string& line,
                                                                        std::size_t max_length,
                                                                        bool* bare_lf) {
  return read_line(line, max_length, bare_lf);
}

boost::asio::awaitable<net::ReadStatus> ScriptedTransport::read_exact(std::string& out,
                                                                      std::size_t n) {
  while (n > 0) {
    while (!segments_.empty() && segments_.front().empty()) segments_.pop_front();
    if (segments_.empty()) co_return end_status();
    std::string& seg = segments_.front();
    std::size_t take = std::min(n, seg.size());
    out.append(seg, 0, take);
    seg.erase(0, take);
    n -= take;
  }
  co_return net::ReadStatus::ok;
}

boost::asio::awaitable<bool> ScriptedTransport::flush() {
  ++flushes;
  output += pending_;
  pending_.clear();
  co_return true;
}

bool ScriptedTransport::start_compress() {
  if (compressed()) return false;
  compressed_from = output.size() + pending_.size();
  return true;
}

boost::asio::awaitable<bool> ScriptedTransport::start_tls() {
  if (!segments_.empty()) {
    discarded = segments_.front();
    segments_.front().clear();
  }
  tls_ = true;
  co_return true;
}

}  // namespace mailroom::testing
