// The MIME parts of a stored message as JMAP describes them (RFC 8621 4.1.4 EmailBodyPart),
// built from the offsets the store's facts keep (src/mime/facts.h), and their decoded content.
// Internal to src/jmap; no JSON here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/mime/facts.h"

namespace mailroom::jmap {

struct BodyPart {
  std::string part_id;      // IMAP section number ("1", "2.1"); "" for a multipart
  std::string type;         // lower case "text/plain"
  std::string charset;      // as given, or "" (text/* then means us-ascii)
  std::string disposition;  // lower case, "" when none
  std::string name;         // decoded file name, "" when none
  std::string cid, location, transfer_encoding;
  std::vector<std::string> language;
  mime::Range header;  // the part's header block (with its blank line)
  mime::Range body;    // its encoded body
  std::vector<BodyPart> sub_parts;
};

// RFC 8621 4.1.4: the tree, message/rfc822 parts being leaves.
BodyPart body_structure(std::string_view message, const mime::PartNode& root);
// The part with this part id, or null.
const BodyPart* find_part(const BodyPart& root, std::string_view part_id);
// The body with its Content-Transfer-Encoding (base64, quoted-printable) removed.
std::string decoded_content(std::string_view message, const BodyPart& part);
// decoded_content() converted from its charset to UTF-8 (bytes that do not convert become
// U+FFFD); `encoding_problem` is set when the charset is unknown or the bytes are not in it.
std::string part_text(std::string_view message, const BodyPart& part, bool& encoding_problem);

// RFC 8621 4.1.4's textBody / htmlBody / attachments algorithm.
void classify_parts(const BodyPart& root, std::vector<const BodyPart*>& text_body,
                    std::vector<const BodyPart*>& html_body,
                    std::vector<const BodyPart*>& attachments);

}  // namespace mailroom::jmap
