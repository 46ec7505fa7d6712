// Office documents as PDF for the web client's preview (issue 19): LibreOffice headless
// (`soffice --convert-to pdf`) in the sandbox of src/sandbox, behind the ConversionQueue and
// the PdfCache. Only on demand (the signed-in recipient's Preview), never at delivery: a
// conversion costs seconds of CPU and hundreds of MB, and any sender can mail a .docx.
//
// Each conversion: a 0700 work directory under the cache directory with the document
// (document.<ext>, read-only inside), an output directory and a LibreOffice profile copied
// from a template (the first successful conversion's profile: a fresh one costs LibreOffice
// its first-start work each time); bwrap without network, rlimits (office_memory address
// space, office_cpu seconds, office_max_output file size, no core), office_timeout wall
// seconds, then the group is killed. The PDF must begin with "%PDF-" and fit office_max_output.
//
// Threading: request() from the HTTP worker pool; it hashes, reads the cache and queues, and
// never waits for a conversion. State: per node (cache files, the queue in memory).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "src/preview/options.h"
#include "src/preview/queue.h"

namespace mailroom::preview {

class OfficePreview {
 public:
  // Null (and a log line saying why) when office_preview is off or the converter, bwrap or
  // prlimit is not installed.
  static std::shared_ptr<OfficePreview> make(const Options& options, const std::string& data_dir);
  // With another converter (unit tests).
  OfficePreview(const Options& options, std::string cache_dir, Converter convert);

  // The lower-case extension of `name` when it is one we convert ("docx"), else "".
  static std::string office_extension(std::string_view name);

  enum class Refusal { none, unsupported, too_large };
  struct Result {
    Refusal refusal = Refusal::none;
    Answer answer;  // when refusal is none
  };
  // The PDF of `document` (named `name`), or where its conversion stands.
  Result request(const std::string& account, std::string_view name, std::string_view document);

  ConversionQueue& queue() { return *queue_; }
  const Options& options() const { return options_; }

 private:
  Options options_;
  std::shared_ptr<PdfCache> cache_;
  std::unique_ptr<ConversionQueue> queue_;
};

// The real converter: soffice in bwrap, work directories under `cache_dir`.
Converter soffice_converter(const Options& options, const std::string& cache_dir);

// SHA-256 of `data`, 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace mailroom::preview
