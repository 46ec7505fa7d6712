// The Office preview's front (office.h): extension check, content key, cache, queue.
#include "src/preview/office.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "src/core/log.h"
#include "src/sandbox/spawn.h"

namespace mailroom::preview {
namespace {

// What LibreOffice reads and the web client offers a Preview for (web/src/attachments.ts).
constexpr std::array<std::string_view, 10> kExtensions = {"docx", "xlsx", "pptx", "odt", "ods",
                                                          "odp",  "doc",  "xls",  "ppt", "rtf"};

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string OfficePreview::office_extension(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || name.size() - dot > 6) return "";
  std::string ext(name.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end() ? ext : "";
}

std::shared_ptr<OfficePreview> OfficePreview::make(const Options& options,
                                                   const std::string& data_dir) {
  if (!options.enabled) return nullptr;
  for (const std::string& tool : {options.converter, options.sandbox, sandbox::Spec().prlimit}) {
    if (!sandbox::executable(tool)) {
      MR_LOG_WARN(
          "event=preview.office_off tool={} detail=\"not installed: Office attachments are "
          "download only (scripts/setup installs libreoffice-*-nogui, bubblewrap)\"",
          core::quote(tool));
      return nullptr;
    }
  }
  std::string dir = options.cache_dir.empty() ? data_dir + "/office-preview" : options.cache_dir;
  return std::make_shared<OfficePreview>(options, dir, soffice_converter(options, dir));
}

OfficePreview::OfficePreview(const Options& options, std::string cache_dir, Converter convert)
    : options_(options),
      cache_(std::make_shared<PdfCache>(cache_dir + "/pdf", options.cache_bytes)) {
  QueueLimits limits;
  limits.concurrency = static_cast<int>(options.concurrency);
  limits.max_waiting = static_cast<int>(options.queue);
  limits.per_user = static_cast<int>(options.per_user);
  queue_ = std::make_unique<ConversionQueue>(limits, cache_, std::move(convert));
}

OfficePreview::Result OfficePreview::request(const std::string& account, std::string_view name,
                                             std::string_view document) {
  Result r;
  std::string ext = office_extension(name);
  if (ext.empty()) {
    r.refusal = Refusal::unsupported;
    return r;
  }
  if (document.size() > options_.max_input) {
    r.refusal = Refusal::too_large;
    return r;
  }
  // The extension picks LibreOffice's import filter, so it is part of what was converted. The
  // account is part of the key too: a cache shared between accounts would answer 200 at once
  // for a document someone else previewed, telling a user that another has that document.
  std::string keyed = account;
  keyed += '\0';
  keyed += ext;
  keyed += '\0';
  keyed += document;
  Job job{sha256_hex(keyed), account, ext, std::string(document)};
  r.answer = queue_->request(std::move(job));
  return r;
}

}  // namespace mailroom::preview
