// Inside src/dns: the server strings of ResolverOptions, checked once (config and create()).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::dns {

// "192.0.2.1" -> "192.0.2.1:53", "192.0.2.1:5353", "2001:db8::1" -> "[2001:db8::1]:53",
// "[2001:db8::1]:5353" -> itself: the forms ares_set_servers_ports_csv reads without
// guessing. nullopt for anything else (host names, ports outside 1-65535, text around).
std::optional<std::string> canonical_server(std::string_view server);

}  // namespace mailroom::dns
