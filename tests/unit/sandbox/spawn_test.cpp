#include "src/sandbox/spawn.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace mailroom::sandbox {
namespace {

namespace fs = std::filesystem;

class SpawnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mailroom-spawn-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A command without namespaces: rlimits, process group and wall clock only.
  Spec shell(const std::string& script) {
    Spec s;
    s.bwrap.clear();
    s.argv = {"/bin/sh", "-c", script};
    s.env = {{"PATH", "/usr/bin:/bin"}};
    return s;
  }

  // Processes whose command line holds `marker` (zombies have none).
  static int processes_with(const std::string& marker) {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::ifstream in(e.path() / "cmdline", std::ios::binary);
      std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::replace(cmd.begin(), cmd.end(), '\0', ' ');
      if (cmd.find(marker) != std::string::npos) ++n;
    }
    return n;
  }

  fs::path dir_;
};

TEST_F(SpawnTest, ExitCodeAndOutputFile) {
  Spec s = shell("echo out; echo err >&2; exit 3");
  s.output_file = (dir_ / "log").string();
  auto r = run(s);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r.value().outcome, Outcome::exited);
  EXPECT_EQ(r.value().status, 3);
  std::ifstream in(s.output_file);
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(log, "out\nerr\n");
  EXPECT_EQ(fs::status(s.output_file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(SpawnTest, WallClockKillsTheWholeGroup) {
  // A child in the background and one in the foreground; both must go.
  const std::string marker = "7" + std::to_string(getpid());
  Spec s = shell("sleep 3" + marker + " & sleep 3" + marker + "; exit 0");
  s.limits.wall_ms = 300;
  auto r = run(s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value().outcome, Outcome::timed_out);
  // SIGKILL is delivered at once; the orphan's zombie has no command line.
  for (int i = 0; i < 100 && processes_with("sleep 3" + marker) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(processes_with("sleep 3" + marker), 0);
}

TEST_F(SpawnTest, ChildrenLeftBehindAreKilledAtExit) {
  const std::string marker = "8" + std::to_string(getpid());
  Spec s = shell("sleep 3" + marker + " & exit 0");
  auto r = run(s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value().outcome, Outcome::exited);
  for (int i = 0; i < 100 && processes_with("sleep 3" + marker) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(processes_with("sleep 3" + marker), 0);
}

TEST_F(SpawnTest, FileSizeLimit) {
  std::string out = (dir_ / "big").string();
  Spec s = shell("exec head -c 100000 /dev/zero > " + out);
  s.limits.file_size = 4096;
  auto r = run(s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value().outcome, Outcome::signaled);
  EXPECT_EQ(r.value().status, SIGXFSZ);
  EXPECT_LE(fs::file_size(out), 4096u);
}

TEST_F(SpawnTest, NoCoreAndLimitsAreSet) {
  std::string out = (dir_ / "limits").string();
  Spec s = shell("ulimit -c; ulimit -t; ulimit -v");
  s.output_file = out;
  s.limits.cpu_seconds = 7;
  s.limits.address_space = 512ull << 20;
  auto r = run(s);
  ASSERT_TRUE(r);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "0\n7\n524288\n");
}

TEST_F(SpawnTest, CancelKills) {
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  Spec s = shell("sleep 30");
  auto r = run(s, &cancel);
  t.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value().outcome, Outcome::cancelled);
}

TEST_F(SpawnTest, MissingToolIsAnError) {
  Spec s = shell("true");
  s.prlimit = "/nonexistent/prlimit";
  EXPECT_FALSE(run(s));
}

TEST_F(SpawnTest, CommandLineOfTheSandbox) {
  Spec s;
  s.binds = {{"/host/in", "/tmp/in", false}, {"/host/out", "/tmp/out", true}};
  s.argv = {"/usr/bin/true"};
  s.limits.address_space = 1000;
  auto a = command_line(s);
  auto has = [&](std::vector<std::string> seq) {
    return std::search(a.begin(), a.end(), seq.begin(), seq.end()) != a.end();
  };
  EXPECT_EQ(a.front(), "/usr/bin/prlimit");
  EXPECT_TRUE(has({"--core=0"}));
  EXPECT_TRUE(has({"--as=1000"}));
  EXPECT_TRUE(has({"/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session"}));
  EXPECT_TRUE(has({"--cap-drop", "ALL"}));
  EXPECT_TRUE(has({"--ro-bind", "/host/in", "/tmp/in"}));
  EXPECT_TRUE(has({"--bind", "/host/out", "/tmp/out"}));
  EXPECT_TRUE(has({"--clearenv"}));
  EXPECT_EQ(a.back(), "/usr/bin/true");
}

// The real bwrap: only what is bound is there, writable only where asked, no host network.
TEST_F(SpawnTest, BwrapShowsOnlyWhatIsBound) {
  if (!executable("/usr/bin/bwrap")) GTEST_SKIP() << "bubblewrap not installed";
  fs::create_directories(dir_ / "in");
  fs::create_directories(dir_ / "out");
  std::ofstream(dir_ / "in" / "doc") << "document";
  Spec s;
  s.binds = {{(dir_ / "in").string(), "/tmp/in", false},
             {(dir_ / "out").string(), "/tmp/out", true}};
  s.env = {{"PATH", "/usr/bin:/bin"}};
  s.output_file = (dir_ / "log").string();
  std::string host_dir = dir_.string();
  s.argv = {
      "/bin/sh", "-c",
      "cat /tmp/in/doc > /tmp/out/copy; "
      "if (echo x > /tmp/in/w) 2>/dev/null; then echo in-writable; fi; "
      "if [ -e '" +
          host_dir +
          "' ]; then echo host-visible; fi; "
          "if [ -n \"$HOME$USER\" ]; then echo env-leaked; fi; "
          "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | grep -v '^lo$' | sed 's/^/net:/'; "
          "exit 0"};
  auto r = run(s);
  ASSERT_TRUE(r) << r.status().to_string();
  std::ifstream log(s.output_file);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  if (r.value().status != 0) GTEST_SKIP() << "bwrap cannot make namespaces here: " << text;
  EXPECT_EQ(text, "");
  std::ifstream copy(dir_ / "out" / "copy");
  std::string got((std::istreambuf_iterator<char>(copy)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "document");
}

}  // namespace
}  // namespace mailroom::sandbox
