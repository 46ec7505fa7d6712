// Structured logs: one line per event, "event=<name> key=value ...", on spdlog.
//
// Every line of a session carries session=<id>. Values that may contain spaces or quotes go
// through kv() / quote(). Passwords and tokens are never passed here: log "auth result=fail
// reason=..." instead of credentials.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace mailroom::core {

// Sets up the default logger. level: trace|debug|info|warn|error; file empty = stderr.
void init_logging(const std::string& level, const std::string& file);

// A value safe for a key=value line: bare if it has no space, quote, '=' or control character;
// otherwise double-quoted with \" \\ \n \r escaped; control bytes as \xNN.
std::string quote(std::string_view value);

// A new short unique id for a session or a queued message ("s" + base32).
std::string new_session_id();

}  // namespace mailroom::core

#define MR_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define MR_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define MR_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define MR_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
