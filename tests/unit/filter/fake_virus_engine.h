// A VirusEngine for unit tests: data containing "VIRUS" or `encoded_marker` (the base64 of
// an infected attachment, as a real engine decodes MIME and this one does not) is infected
// ("Test.Virus"), data containing "BROKEN" makes the engine fail; it counts its scans.
#pragma once

#include <atomic>

#include "src/filter/virus_engine.h"

namespace mailroom::filter::testing {

class FakeVirusEngine : public VirusEngine {
 public:
  std::string name() const override { return "fake"; }
  EngineVerdict scan(std::string_view data) override {
    ++scans;
    if (down) return EngineVerdict::error("down");
    if (data.find("BROKEN") != std::string_view::npos) return EngineVerdict::error("broken");
    if (data.find("VIRUS") != std::string_view::npos ||
        (!encoded_marker.empty() && data.find(encoded_marker) != std::string_view::npos)) {
      return EngineVerdict::infected("Test.Virus");
    }
    return EngineVerdict::clean();
  }
  std::atomic<int> scans{0};
  std::atomic<bool> down{false};
  std::string encoded_marker;  // set before the first scan
};

}  // namespace mailroom::filter::testing
