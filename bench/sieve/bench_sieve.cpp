// Sieve cost per delivered message: parse (done at every delivery: the active script is read
// and parsed each time) and run, with a before script and a typical user script of a dozen
// rules, against a 10 KiB message.
#include <benchmark/benchmark.h>

#include <string>

#include "src/sieve/interpreter.h"

namespace {

using namespace mailroom::sieve;

const char* kBefore = R"(require ["fileinto"];
if header :is "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }
)";

const char* kUser = R"(require ["fileinto", "imap4flags", "variables", "envelope", "subaddress",
  "body", "vacation", "relational", "comparator-i;ascii-numeric"];
if header :contains "List-Id" ["dev.example.com", "ops.example.com"] { fileinto "Lists"; stop; }
if address :domain :is "from" ["partner.example", "customer.example"] { addflag "$Customer"; }
if header :matches "subject" "*[ticket #*]*" { set "t" "${2}"; fileinto "Tickets"; }
if envelope :detail "to" "receipts" { fileinto :flags "\\Seen" "Receipts"; }
if header :value "ge" :comparator "i;ascii-numeric" "X-Priority" "4" { addflag "$Low"; }
if anyof (header :contains "subject" "invoice", body :text :contains "invoice number") {
  fileinto "Invoices";
}
if not exists "Date" { addflag "$NoDate"; }
if size :over 1M { fileinto "Large"; }
vacation :days 7 :subject "Away" "I am away this week.";
)";

std::string message() {
  std::string m =
      "Received: from mx.remote.example by mail.example.com id MR0000000000000000000A;\r\n"
      "\tTue, 14 Nov 2023 10:00:00 +0000\r\n"
      "From: \"Customer\" <buyer@customer.example>\r\nTo: alice@example.com\r\n"
      "Subject: Question about [ticket #4711] delivery\r\nDate: Tue, 14 Nov 2023 09:59:00 +0000\r\n"
      "Message-ID: <q1@customer.example>\r\nX-Priority: 3\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n";
  while (m.size() < 10 * 1024) m += "Some ordinary text of a question, line after line.\r\n";
  return m;
}

class Env : public Environment {
 public:
  bool mailbox_exists(const std::string&) override { return true; }
  bool duplicate_seen(const std::string&) override { return false; }
  int64_t now() override { return 1700000000; }
};

void BM_ParseUserScript(benchmark::State& state) {
  for (auto _ : state) {
    auto s = parse(kUser);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_ParseUserScript);

void BM_RunBeforeAndUser(benchmark::State& state) {
  auto before = parse(kBefore);
  auto user = parse(kUser);
  if (!before || !user) {
    state.SkipWithError("scripts do not parse");
    return;
  }
  std::string msg = message();
  MessageInput in{msg, "buyer@customer.example", "alice@example.com", ""};
  Env env;
  for (auto _ : state) {
    Run run(in, env, RunLimits{});
    run.execute(*before);
    run.execute(*user);
    benchmark::DoNotOptimize(run.actions().size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
}
BENCHMARK(BM_RunBeforeAndUser);

}  // namespace

BENCHMARK_MAIN();
