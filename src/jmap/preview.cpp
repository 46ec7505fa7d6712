// An Office attachment as PDF (preview.h).
#include "src/jmap/preview.h"

#include "src/core/log.h"
#include "src/jmap/blob.h"
#include "src/preview/office.h"

namespace mailroom::jmap {

namespace {

http::Response with_retry(http::Response r, int seconds) {
  r.set_header("Retry-After", std::to_string(seconds));
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

http::Response preview_office(preview::OfficePreview* office, store::MailStore& store,
                              const std::string& data_dir, const std::string& account_id,
                              const http::Request& request) {
  auto not_found = [] { return http::Response::problem(404, "Not Found", "no such blob"); };
  if (request.params.size() != 3 || request.params[0] != account_id) return not_found();
  if (!office) {
    return http::Response::problem(503, "Service Unavailable",
                                   "Office documents are not previewed on this server");
  }
  const std::string& name = request.params[2];
  if (preview::OfficePreview::office_extension(name).empty()) {
    return http::Response::problem(415, "Unsupported Media Type", "not an Office document");
  }
  // Only parts of the account's messages are converted, not its uploads (`U...` blobs): the
  // preview is for mail received, and an upload is any file the user chose.
  if (!request.params[1].starts_with("B")) return not_found();
  bool whole = false;
  auto body = read_blob(store, data_dir, account_id, request.params[1], &whole);
  if (!body || whole) return not_found();
  auto result = office->request(account_id, name, *body);
  using Refusal = preview::OfficePreview::Refusal;
  if (result.refusal == Refusal::unsupported) {
    return http::Response::problem(415, "Unsupported Media Type", "not an Office document");
  }
  if (result.refusal == Refusal::too_large) {
    return http::Response::problem(413, "Content Too Large", "too large to preview; download it");
  }
  auto& a = result.answer;
  switch (a.state) {
    case preview::State::ready:
      // The queue only keeps what begins as a PDF does; checked again as for any inline PDF.
      if (!a.pdf.starts_with("%PDF-")) break;
      return file_response(std::move(a.pdf), "application/pdf", true, name + ".pdf");
    case preview::State::pending: {
      auto r = http::Response::json(202, R"({"state":"converting"})");
      return with_retry(std::move(r), 1);
    }
    case preview::State::queue_full:
      MR_LOG_INFO("event=preview.queue_full session={}", request.session_id);
      return with_retry(http::Response::problem(503, "Service Unavailable",
                                                "other documents are being converted; try again"),
                        10);
    case preview::State::user_limit:
      return with_retry(http::Response::problem(429, "Too Many Requests",
                                                "your other documents are being converted"),
                        5);
    case preview::State::failed:
      return with_retry(http::Response::problem(422, "Unprocessable Content", a.error), 60);
  }
  return http::Response::problem(500, "Internal Server Error", "internal error");
}

}  // namespace mailroom::jmap
