#include "src/imap/proto/command_reader.h"

namespace mailroom::imap::proto {

void CommandReader::reset() {
  buffer_.clear();
  literals_ = 0;
}

std::string CommandReader::take() {
  std::string out = std::move(buffer_);
  reset();
  return out;
}

CommandReader::Step CommandReader::add_line(std::string_view line) {
  Step step;
  if (buffer_.size() + line.size() > limits_.max_command) {
    reset();
    step.next = Next::error;
    step.error = "Command too long";
    return step;
  }
  buffer_.append(line);
  // literal = "{" number64 ["+"] "}" CRLF at the very end of the line.
  if (line.empty() || line.back() != '}') return step;
  size_t open = line.rfind('{');
  if (open == std::string_view::npos) return step;
  std::string_view inner = line.substr(open + 1, line.size() - open - 2);
  bool plus = !inner.empty() && inner.back() == '+';
  if (plus) inner.remove_suffix(1);
  if (inner.empty() || inner.size() > 19) {
    if (inner.size() > 19) {
      reset();
      step.next = Next::error;
      step.error = "Literal too large";
    }
    return step;
  }
  uint64_t n = 0;
  for (char c : inner) {
    if (c < '0' || c > '9') return step;  // not a literal, e.g. an atom ending in '}'
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > limits_.max_literal || buffer_.size() + n > limits_.max_command) {
    reset();
    step.next = Next::error;
    step.error = "Literal too large";
    step.literal_size = n;
    step.synchronizing = !plus;
    return step;
  }
  if (++literals_ > limits_.max_literals) {
    reset();
    step.next = Next::error;
    step.error = "Too many literals";
    return step;
  }
  buffer_.append("\r\n");
  step.next = Next::literal;
  step.literal_size = n;
  step.synchronizing = !plus;
  return step;
}

std::vector<WireDecoder::Event> WireDecoder::feed(std::string_view bytes) {
  std::vector<Event> events;
  size_t i = 0;
  while (i < bytes.size()) {
    if (in_literal_) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(literal_left_, bytes.size() - i));
      literal_.append(bytes.substr(i, take));
      literal_left_ -= take;
      i += take;
      if (literal_left_ == 0) {
        reader_.add_literal(literal_);
        literal_.clear();
        in_literal_ = false;
      }
      continue;
    }
    char c = bytes[i++];
    if (c != '\n') {
      if (line_.size() >= max_line_) {
        discarding_ = true;
      } else {
        line_.push_back(c);
      }
      continue;
    }
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (discarding_) {
      discarding_ = false;
      line_.clear();
      reader_.reset();
      events.push_back({true, "Line too long", false});
      continue;
    }
    auto step = reader_.add_line(line_);
    line_.clear();
    switch (step.next) {
      case CommandReader::Next::complete:
        events.push_back({false, reader_.take(), false});
        break;
      case CommandReader::Next::error:
        events.push_back({true, step.error, false});
        break;
      case CommandReader::Next::literal:
        if (step.synchronizing) events.push_back({false, {}, true});
        literal_left_ = step.literal_size;
        in_literal_ = literal_left_ > 0;
        break;
    }
  }
  return events;
}

}  // namespace mailroom::imap::proto
