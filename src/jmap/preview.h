// Mailroom's addition for the web client: an Office attachment as PDF (src/preview/office.h),
// internal to src/jmap.
//
//   GET /jmap/preview/{accountId}/{blobId}/{name}
//
// blobId is one part of a message of the account (as for /jmap/download), name its file name,
// whose extension picks the converter's filter (.docx .xlsx .pptx .odt .ods .odp .doc .xls
// .ppt .rtf). Answers:
//   200  application/pdf, inline, with the download headers (nosniff, a CSP without sandbox as
//        for a PDF download, CORP same-origin): only our converter's output, checked "%PDF-"
//   202  {"state":"converting"} + Retry-After: queued or converting; ask again
//   404  no such blob (or a whole message); 413 larger than office_max_input;
//   415  not an Office file name; 422 the conversion failed ({"detail"}: could not be
//        converted / took too long; asking again within a minute gets the same answer);
//   429  this account has office_per_user conversions in progress (Retry-After);
//   503  the queue is full (Retry-After), or the preview is off on this server.
#pragma once

#include <memory>
#include <string>

#include "src/http/http.h"

namespace mailroom::store {
class MailStore;
}
namespace mailroom::preview {
class OfficePreview;
}

namespace mailroom::jmap {

// `office` null: the preview is off (503 saying so).
http::Response preview_office(preview::OfficePreview* office, store::MailStore& store,
                              const std::string& data_dir, const std::string& account_id,
                              const http::Request& request);

}  // namespace mailroom::jmap
