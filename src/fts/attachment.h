// Text of binary attachments (PDF, OpenDocument, .docx) for the full-text index, extracted by
// Debian's tools run as bounded subprocesses (src/fts/README.md "Attachments"): pdftotext
// (poppler-utils), odt2txt, docx2txt.
//
// Runs on the indexer's thread only (it blocks up to the timeout per part), never on an I/O
// thread. No shell: fork + execv with an argv; the part is written to a 0600 temp file; stdout
// is read through a pipe with poll() (stdin is /dev/null, stderr discarded), capped at
// `max_bytes`; the child runs under RLIMIT_AS / RLIMIT_CPU and is SIGKILLed at the timeout.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::fts {

struct ToolOptions {
  bool enabled = true;                      // [fts] extract_tools
  int timeout_ms = 10000;                   // [fts] extract_timeout (seconds in the config)
  size_t max_bytes = size_t{1} << 20;       // [fts] extract_max_bytes: text kept per message
  size_t max_input = size_t{64} << 20;      // attachment octets handed to a tool
  uint64_t max_memory = uint64_t{1} << 30;  // RLIMIT_AS of the child
  int max_cpu_seconds = 30;                 // RLIMIT_CPU of the child
  // Programs, looked up in PATH unless absolute (tests point them at fakes).
  std::string pdftotext = "pdftotext";
  std::string odt2txt = "odt2txt";
  std::string docx2txt = "docx2txt";
  std::string tmp_dir;  // empty: $TMPDIR or /tmp
};

enum class ToolOutcome { ok, truncated, timed_out, missing, failed, unsupported };

struct ToolText {
  ToolOutcome outcome = ToolOutcome::unsupported;
  std::string text;  // valid UTF-8, at most max_bytes (also kept when truncated)
};

// The tool for a part's content type (lower-case "type/subtype"; `filename` decides for
// application/octet-stream): the argv before the input file name, or empty when none applies.
std::vector<std::string> tool_for(const ToolOptions& o, std::string_view content_type,
                                  std::string_view filename);

// Runs `argv` (argv[0] looked up in PATH unless it contains '/') with the content in a temp
// file named "<tmp>/mailroom-fts-XXXXXX<suffix>" appended as the last argument, and returns
// its stdout. A missing program is logged once per name.
ToolText run_tool(const ToolOptions& o, std::vector<std::string> argv, std::string_view content,
                  std::string_view suffix);

// tool_for + run_tool; unsupported when no tool applies or extraction is disabled.
ToolText extract_attachment(const ToolOptions& o, std::string_view content_type,
                            std::string_view filename, std::string_view content);

}  // namespace mailroom::fts
