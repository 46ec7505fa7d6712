// Config -> spine objects. Shared by mailroomd and mailroomctl so both read the same file the
// same way. Phase one (load_config) parses and validates every section and reports every
// error; phase two (open_services) opens the directory, store, delivery log and queue.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/core/config_section.h"
#include "src/core/services.h"
#include "src/server/server_config.h"

namespace mailroom::server {

struct ModuleOptions;  // the parsed module sections (wiring.cpp)

struct LoadedConfig {
  LoadedConfig();
  ~LoadedConfig();
  std::string path;
  ServerConfig server;
  std::unique_ptr<ModuleOptions> modules;
  std::unique_ptr<core::ConfigDocument> document;
};

// Parses the whole file. Returns nullptr and fills `errors` when anything is wrong.
std::unique_ptr<LoadedConfig> load_config(const std::string& path, core::ConfigErrors* errors);

// Opens the spine objects (creating the data directory layout on first use). `with_queue`
// false for mailroomctl, which must not start delivery threads.
core::Result<std::unique_ptr<core::Services>> open_services(LoadedConfig& config, bool with_queue);

// Starts/stops the queue's delivery work (mailroomd only).
void start_queue(core::Services& services);
void stop_queue(core::Services& services);

}  // namespace mailroom::server
