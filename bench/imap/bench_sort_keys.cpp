// SORT, THREAD and header SEARCH over 100,000 precomputed keys (src/imap/sort_keys.h): what
// the commands cost once the key table is warm, without the wire. Issue 25's targets at
// 100,000 messages: SORT SUBJECT <= 40 ms, REVERSE DATE <= 120 ms, THREAD <= 215 ms,
// SEARCH SUBJECT/FROM <= 150 ms (end to end; these are the in-process parts).
//
//   bench_sort_keys [--benchmark_filter=...]   (MAILROOM_BENCH_MESSAGES: default 100000)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "src/imap/sort_keys.h"
#include "src/imap/sort_order.h"
#include "src/imap/thread.h"
#include "src/mime/facts.h"

namespace {

using namespace mailroom::imap;

size_t message_count() {
  const char* env = std::getenv("MAILROOM_BENCH_MESSAGES");
  return env ? std::strtoul(env, nullptr, 10) : 100000;
}

// A mailbox of conversations: replies reference their parent, subjects repeat with "Re:".
std::string sample(size_t i) {
  size_t thread = i / 5, pos = i % 5;
  std::string subject = (pos ? "Re: " : "") + std::string("Project ") +
                        std::to_string(thread % 9973) + " status " + std::to_string(thread);
  std::string m = "From: User " + std::to_string(i % 311) + " <user" + std::to_string(i % 311) +
                  "@example.com>\r\nTo: team" + std::to_string(i % 17) +
                  "@example.com\r\nSubject: " + subject +
                  "\r\nDate: " + std::to_string(1 + (i * 7) % 28) + " Nov 2026 " +
                  std::to_string(i % 24) + ":" + std::to_string(10 + i % 50) +
                  ":00 +0000\r\nMessage-ID: <" + std::to_string(i) + "@example.com>\r\n";
  if (pos) m += "References: <" + std::to_string(i - 1) + "@example.com>\r\n";
  return m + "\r\nbody\r\n";
}

struct Fixture {
  std::shared_ptr<const KeyFile> file;
  std::vector<KeyRecord> recs;
  std::vector<SortInput> in;
  std::string path;
};

const Fixture& fixture() {
  static Fixture* f = [] {
    auto* x = new Fixture;
    size_t n = message_count();
    std::vector<std::string> records;
    records.reserve(n);
    for (size_t i = 0; i < n; ++i)
      records.push_back(encode_key_record(key_fields_of(mailroom::mime::parse_facts(sample(i)))));
    std::vector<std::pair<uint32_t, std::string_view>> entries;
    for (size_t i = 0; i < n; ++i) entries.emplace_back(static_cast<uint32_t>(i + 1), records[i]);
    x->path = (std::filesystem::temp_directory_path() /
               ("mailroom-bench-" + std::to_string(::getpid()) + ".keys"))
                  .string();
    if (!write_key_file(x->path, key_file_image(42, entries)).is_ok()) std::abort();
    auto file = KeyFile::open(x->path, 42);
    if (!file.is_ok()) std::abort();
    x->file = *file;
    for (size_t i = 0; i < n; ++i) {
      x->recs.push_back(x->file->record_at(i));
      x->in.push_back({x->recs.back(), static_cast<int64_t>(1'700'000'000 + i), 1000 + i % 977});
    }
    return x;
  }();
  return *f;
}

void BM_OpenAndValidate(benchmark::State& state) {  // the first command after a restart
  const auto& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(KeyFile::open(f.path, 42));
  state.counters["bytes_per_message"] = static_cast<double>(f.file->bytes()) / f.recs.size();
}
BENCHMARK(BM_OpenAndValidate)->Unit(benchmark::kMillisecond);

void BM_SortSubject(benchmark::State& state) {
  const auto& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(sort_order(f.in, {{"SUBJECT", false}}));
}
BENCHMARK(BM_SortSubject)->Unit(benchmark::kMillisecond);

void BM_SortReverseDate(benchmark::State& state) {
  const auto& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(sort_order(f.in, {{"DATE", true}}));
}
BENCHMARK(BM_SortReverseDate)->Unit(benchmark::kMillisecond);

void BM_SortFromThenDate(benchmark::State& state) {
  const auto& f = fixture();
  for (auto _ : state)
    benchmark::DoNotOptimize(sort_order(f.in, {{"FROM", false}, {"DATE", false}}));
}
BENCHMARK(BM_SortFromThenDate)->Unit(benchmark::kMillisecond);

void BM_ThreadReferences(benchmark::State& state) {
  const auto& f = fixture();
  for (auto _ : state) {
    std::vector<ThreadItem> items;
    items.reserve(f.recs.size());
    for (size_t i = 0; i < f.recs.size(); ++i) {
      const KeyRecord& k = f.recs[i];
      items.push_back({static_cast<uint32_t>(i + 1), k.sent_date(), k.text(KeyText::base_subject),
                       k.reply_or_forward(), k.text(KeyText::message_id),
                       k.text(KeyText::references), k.text(KeyText::in_reply_to)});
    }
    benchmark::DoNotOptimize(thread_references(items));
  }
}
BENCHMARK(BM_ThreadReferences)->Unit(benchmark::kMillisecond);

// SEARCH SUBJECT / FROM: a substring of the folded text, over every message.
void search_text(benchmark::State& state, KeyText field, const std::string& needle) {
  const auto& f = fixture();
  for (auto _ : state) {
    size_t hits = 0;
    for (const auto& k : f.recs) hits += k.text(field).find(needle) != std::string_view::npos;
    benchmark::DoNotOptimize(hits);
  }
}
void BM_SearchSubject(benchmark::State& state) {
  search_text(state, KeyText::search_subject, "status 1234");
}
BENCHMARK(BM_SearchSubject)->Unit(benchmark::kMillisecond);
void BM_SearchFrom(benchmark::State& state) { search_text(state, KeyText::search_from, "user42@"); }
BENCHMARK(BM_SearchFrom)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  std::filesystem::remove(fixture().path);
  return 0;
}
