// RFC 5957 (SORT=DISPLAY): the address structure DISPLAYFROM and DISPLAYTO sort on, read back
// from the ENVELOPE the store keeps for every message (mime::Facts::envelope, RFC 3501 7.4.2),
// so the sort value is derived from exactly the address structure a client would FETCH.
// Pure string work, no decoding: the caller decodes the name (sort_keys.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::imap {

// The four fields of an RFC 3501 address structure; nullopt for NIL.
struct EnvelopeAddressFields {
  std::optional<std::string> name, route, mailbox, host;
};

// Which address list of the envelope: its position among the ten envelope fields.
enum class EnvelopeList { from = 2, to = 5 };

// The first address structure of that list; nullopt when the list is NIL or the envelope is
// malformed (never out of bounds on any input).
std::optional<EnvelopeAddressFields> first_envelope_address(std::string_view envelope,
                                                            EnvelopeList list);

// RFC 5957 3 steps on an address whose name is already decoded: the name when not empty,
// else mailbox@host, else mailbox, else "".
std::string display_value(const std::optional<EnvelopeAddressFields>& address,
                          const std::optional<std::string>& decoded_name);

}  // namespace mailroom::imap
