// open_libclamav_engine() when CMake did not find libclamav (libclamav-dev): a config that
// asks for it gets this message, not "unknown engine" (STYLE.md example 1).
#include "src/filter/libclamav_engine.h"

namespace mailroom::filter {

core::Result<std::shared_ptr<ReloadingEngine>> open_libclamav_engine(const LibclamavOptions&) {
  return core::unavailable(
      "the libclamav engine is not built in (install libclamav-dev and rebuild), use "
      "engine = \"clamd\"");
}

}  // namespace mailroom::filter
