#include "src/preview/queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include "src/preview/office.h"
#include "src/sandbox/spawn.h"

namespace mailroom::preview {
namespace {

namespace fs = std::filesystem;

// A converter that waits until released, counting its calls.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> calls{0};
  int started = 0;
  void release() {
    std::lock_guard<std::mutex> lk(mu);
    open = true;
    cv.notify_all();
  }
  Converter converter(bool ok = true) {
    return [this, ok](const Job& job, const std::atomic<bool>& cancel) {
      std::unique_lock<std::mutex> lk(mu);
      ++calls;
      ++started;
      cv.notify_all();
      while (!open && !cancel) cv.wait_for(lk, std::chrono::milliseconds(10));
      if (!ok || !open) return Converted{false, {}, "the document could not be converted"};
      return Converted{true, "%PDF-1.7 of " + job.input, {}};
    };
  }
  void wait_started(int n) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return started >= n; });
  }
};

Job job(char k, const std::string& account = "alice") {
  return Job{std::string(64, k), account, "docx", std::string("doc ") + k};
}

// Asks until the answer is no longer "pending" (the converter has been released).
Answer settle(ConversionQueue& q, const Job& j) {
  for (;;) {
    Answer a = q.request(j);
    if (a.state != State::pending) return a;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mailroom-queue-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    cache_ = std::make_shared<PdfCache>((dir_ / "pdf").string(), 1 << 20);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::shared_ptr<PdfCache> cache_;
};

TEST_F(QueueTest, ConvertsOnceThenServesFromTheCache) {
  Gate gate;
  ConversionQueue q({1, 8, 2, 60}, cache_, gate.converter());
  EXPECT_EQ(q.request(job('a')).state, State::pending);
  EXPECT_EQ(q.request(job('a')).state, State::pending);  // the same document: not queued twice
  gate.release();
  Answer a = settle(q, job('a'));
  EXPECT_EQ(a.state, State::ready);
  EXPECT_EQ(a.pdf, "%PDF-1.7 of doc a");
  EXPECT_EQ(q.request(job('a')).state, State::ready);
  EXPECT_EQ(gate.calls, 1);
}

TEST_F(QueueTest, FullQueueRefuses) {
  Gate gate;
  ConversionQueue q({1, 1, 10, 60}, cache_, gate.converter());
  EXPECT_EQ(q.request(job('a')).state, State::pending);
  gate.wait_started(1);                                  // a runs
  EXPECT_EQ(q.request(job('b')).state, State::pending);  // b waits
  EXPECT_EQ(q.request(job('c', "bob")).state, State::queue_full);
  EXPECT_EQ(q.counts().waiting, 1);
  EXPECT_EQ(q.counts().running, 1);
  gate.release();
  EXPECT_EQ(settle(q, job('b')).state, State::ready);
  // Room again.
  EXPECT_EQ(settle(q, job('c', "bob")).state, State::ready);
}

TEST_F(QueueTest, PerUserLimit) {
  Gate gate;
  ConversionQueue q({1, 8, 1, 60}, cache_, gate.converter());
  EXPECT_EQ(q.request(job('a')).state, State::pending);
  EXPECT_EQ(q.request(job('b')).state, State::user_limit);
  EXPECT_EQ(q.request(job('b', "bob")).state, State::pending);  // another account
  gate.release();
  EXPECT_EQ(settle(q, job('a')).state, State::ready);
  EXPECT_EQ(settle(q, job('b')).state, State::ready);  // alice's turn again
}

TEST_F(QueueTest, FailureIsRememberedThenRetried) {
  Gate gate;
  gate.release();
  {
    ConversionQueue q({1, 8, 2, 60}, cache_, gate.converter(false));
    Answer a = settle(q, job('a'));
    EXPECT_EQ(a.state, State::failed);
    EXPECT_EQ(a.error, "the document could not be converted");
    EXPECT_EQ(q.request(job('a')).state, State::failed);
    EXPECT_EQ(gate.calls, 1);
  }
  // Failures not remembered: asked again after one, it is converted again.
  ConversionQueue q({1, 8, 2, 0}, cache_, gate.converter(false));
  EXPECT_EQ(q.request(job('a')).state, State::pending);
  auto idle = [&] { return q.counts().waiting == 0 && q.counts().running == 0; };
  while (gate.calls < 2 || !idle()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(q.request(job('a')).state, State::pending);
  while (gate.calls < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

TEST_F(QueueTest, ShutdownCancelsARunningConversion) {
  Gate gate;
  auto q = std::make_unique<ConversionQueue>(QueueLimits{1, 8, 2, 60}, cache_, gate.converter());
  EXPECT_EQ(q->request(job('a')).state, State::pending);
  gate.wait_started(1);
  q.reset();  // returns: the converter saw `cancel`
  EXPECT_EQ(cache_->count(), 0u);
}

TEST_F(QueueTest, TwoAtOnceWithConcurrencyTwo) {
  Gate gate;
  ConversionQueue q({2, 8, 2, 60}, cache_, gate.converter());
  q.request(job('a'));
  q.request(job('b', "bob"));
  gate.wait_started(2);
  EXPECT_EQ(q.counts().running, 2);
  gate.release();
}

TEST(OfficePreviewTest, ExtensionsAndSize) {
  EXPECT_EQ(OfficePreview::office_extension("Report.DOCX"), "docx");
  EXPECT_EQ(OfficePreview::office_extension("a.b.odt"), "odt");
  EXPECT_EQ(OfficePreview::office_extension("x.rtf"), "rtf");
  EXPECT_EQ(OfficePreview::office_extension("x.pdf"), "");
  EXPECT_EQ(OfficePreview::office_extension("docx"), "");
  EXPECT_EQ(OfficePreview::office_extension("x.docx.exe"), "");
  EXPECT_EQ(OfficePreview::office_extension(""), "");

  auto dir = fs::temp_directory_path() / ("mailroom-office-" + std::to_string(getpid()));
  fs::remove_all(dir);
  Options o;
  o.max_input = 10;
  std::atomic<int> calls{0};
  std::string seen_ext;
  {
    OfficePreview p(o, dir.string(), [&](const Job& j, const std::atomic<bool>&) {
      seen_ext = j.extension;
      ++calls;
      return Converted{true, "%PDF-" + j.input, {}};
    });
    EXPECT_EQ(p.request("alice", "a.pdf", "x").refusal, OfficePreview::Refusal::unsupported);
    EXPECT_EQ(p.request("alice", "a.docx", "01234567890").refusal,
              OfficePreview::Refusal::too_large);
    auto r = p.request("alice", "a.ODT", "0123456789");
    EXPECT_EQ(r.refusal, OfficePreview::Refusal::none);
    EXPECT_EQ(r.answer.state, State::pending);
    while (p.request("alice", "a.ODT", "0123456789").answer.state != State::ready) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(seen_ext, "odt");
    // The same bytes as another type are another conversion (another import filter).
    while (p.request("alice", "a.docx", "0123456789").answer.state != State::ready) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(calls, 2);
    // The same document for another account is converted for that account: nothing tells bob
    // what alice previewed.
    auto other = p.request("bob", "a.docx", "0123456789");
    EXPECT_EQ(other.answer.state, State::pending);
    while (p.request("bob", "a.docx", "0123456789").answer.state != State::ready) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(calls, 3);
  }
  fs::remove_all(dir);
}

TEST(OfficePreviewTest, Sha256) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Off cleanly when a tool is missing: no object, so the route and the client say so.
TEST(OfficePreviewTest, OffWithoutItsTools) {
  Options o;
  o.converter = "/nonexistent/soffice";
  EXPECT_EQ(OfficePreview::make(o, "/tmp"), nullptr);
  o = Options{};
  o.enabled = false;
  EXPECT_EQ(OfficePreview::make(o, "/tmp"), nullptr);
}

}  // namespace
}  // namespace mailroom::preview
