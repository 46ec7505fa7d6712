// The in-memory filter::Scanner for queue tests: a verdict per final recipient address
// (accept for the others), and every scan recorded.
//
//   auto scanner = std::make_shared<mailroom::testing::FakeScanner>();
//   scanner->verdicts["bob@example.com"] = {filter::VerdictKind::folder, "Junk", "spam"};
//
// Set `verdicts` before the queue runs; scan() may be called from several delivery threads.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "src/filter/scanner.h"

namespace mailroom::testing {

class FakeScanner : public filter::Scanner {
 public:
  std::map<std::string, filter::Verdict> verdicts;  // by ScanInput::recipient_address

  // The recipient addresses scanned, in order.
  std::vector<std::string> scanned() {
    std::lock_guard l(mu_);
    return scanned_;
  }

  // ScanInput::folder of each scan, in order.
  std::vector<std::string> folders() {
    std::lock_guard l(mu_);
    return folders_;
  }

  std::string name() const override { return "fake"; }
  filter::Verdict scan(const filter::ScanInput& input) override {
    std::lock_guard l(mu_);
    scanned_.push_back(input.recipient_address);
    folders_.push_back(input.folder);
    auto it = verdicts.find(input.recipient_address);
    return it == verdicts.end() ? filter::Verdict{} : it->second;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> scanned_;
  std::vector<std::string> folders_;
};

}  // namespace mailroom::testing
