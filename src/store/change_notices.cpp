// Change notices between processes on one store root (change_notices.h, FORMAT.md).
#include "src/store/change_notices.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

#include "src/core/log.h"
#include "src/core/private_files.h"
#include "src/store/names.h"

namespace mailroom::store {
namespace {

constexpr const char* kLockName = "/subscriber.lock";
constexpr std::string_view kSuffix = ".notice";
constexpr std::string_view kTmpSuffix = ".tmp";
constexpr size_t kMaxNoticeBytes = 64 * 1024;  // larger is malformed (a notice is a few lines)
// A temporary file this old belongs to a publisher that died before its rename.
constexpr int64_t kStaleTmpSeconds = 60;

// True unless a subscriber is known to be absent: the lock file is missing or nobody holds it.
bool subscriber_present(const std::string& dir) {
  int fd = ::open((dir + kLockName).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno != ENOENT;
  bool present = ::flock(fd, LOCK_SH | LOCK_NB) != 0;  // EWOULDBLOCK: the subscriber holds it
  ::close(fd);                                         // releases our shared lock, if we got it
  return present;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::io_error("mail store disk error", "notice write " + path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

// "account<TAB>mailbox<TAB>modseq" lines; false when any line is malformed.
bool parse_notice(std::string_view text, std::vector<ChangeEvent>& out) {
  if (text.empty() || text.back() != '\n') return false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    size_t t1 = line.find('\t');
    if (t1 == std::string_view::npos) return false;
    size_t t2 = line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) return false;
    std::string_view account = line.substr(0, t1);
    std::string_view mailbox = line.substr(t1 + 1, t2 - t1 - 1);
    std::string_view modseq = line.substr(t2 + 1);
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(modseq.data(), modseq.data() + modseq.size(), value);
    if (ec != std::errc() || end != modseq.data() + modseq.size() || modseq.empty()) return false;
    if (!check_account_id(account).is_ok() || mailbox.empty()) return false;
    out.push_back(ChangeEvent{std::string(account), std::string(mailbox), value});
  }
  return true;
}

}  // namespace

Status publish_notices(const std::string& dir, const std::vector<ChangeEvent>& events) {
  if (events.empty() || !subscriber_present(dir)) return Status::ok();
  std::string text;
  for (const auto& e : events) {
    // Account ids and canonical mailbox names hold no control characters (names.h).
    text += e.account_id;
    text += '\t';
    text += e.mailbox;
    text += '\t';
    text += std::to_string(e.modseq);
    text += '\n';
  }
  static std::atomic<uint64_t> counter{0};
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  // Unique across processes (pid) and within one (counter); the time makes names sort roughly
  // in publishing order, which only eases reading the directory by hand.
  std::string name = dir + "/" + std::to_string(now.tv_sec) + "." +
                     std::to_string(now.tv_nsec / 1000) + "-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1));
  std::string tmp = name + std::string(kTmpSuffix);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return core::io_error("mail store disk error", "notice create " + tmp);
  Status s = write_all(fd, text, tmp);
  ::close(fd);
  if (s.is_ok() && ::rename(tmp.c_str(), (name + std::string(kSuffix)).c_str()) != 0)
    s = core::io_error("mail store disk error", "notice rename " + tmp);
  if (!s.is_ok()) ::unlink(tmp.c_str());
  return s;
}

NoticeSubscriber::NoticeSubscriber(std::string dir, Deliver deliver,
                                   std::chrono::milliseconds interval, std::function<void()> tick)
    : dir_(std::move(dir)),
      deliver_(std::move(deliver)),
      interval_(interval),
      tick_(std::move(tick)) {
  std::vector<std::string> repairs;
  if (auto s = core::make_private_directory(dir_, &repairs); !s.is_ok())
    MR_LOG_ERROR("event=store_notices_dir_failed dir={} error={}", core::quote(dir_),
                 core::quote(s.to_string()));
  for (const auto& r : repairs) MR_LOG_WARN("event=permissions.fixed detail={}", core::quote(r));
  take_lock();
  thread_ = std::thread([this] { run(); });
}

NoticeSubscriber::~NoticeSubscriber() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

// Publishers write only while this lock is held; a publisher's brief shared lock (or a second
// subscriber) may keep us from it for a while: retried every poll.
void NoticeSubscriber::take_lock() {
  if (lock_fd_ < 0) {
    lock_fd_ = ::open((dir_ + kLockName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return;
  }
  locked_ = ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0;
}

void NoticeSubscriber::run() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    lk.unlock();
    if (!locked_) take_lock();
    poll();
    if (tick_) tick_();
    lk.lock();
    cv_.wait_for(lk, interval_, [this] { return stop_; });
  }
}

size_t NoticeSubscriber::poll() {
  std::lock_guard<std::mutex> one_pass(poll_mu_);  // a test's poll() and the thread's
  std::vector<std::string> names;
  std::vector<std::string> stale_tmp;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return 0;
  int64_t now = ::time(nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.ends_with(kSuffix)) {
      names.emplace_back(n);
    } else if (n.ends_with(kTmpSuffix)) {
      struct stat st;
      std::string p = dir_ + "/" + std::string(n);
      if (::stat(p.c_str(), &st) == 0 && now - st.st_mtime > kStaleTmpSeconds)
        stale_tmp.push_back(p);
    }
  }
  ::closedir(d);
  for (const auto& p : stale_tmp) ::unlink(p.c_str());
  std::sort(names.begin(), names.end());
  size_t delivered = 0;
  for (const auto& n : names) {
    std::string path = dir_ + "/" + n;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      // Gone (another pass took it), or unreadable (say, mailroomctl run as another user):
      // dropped rather than tried again every pass.
      int err = errno;
      if (err != ENOENT) {
        MR_LOG_WARN("event=store_notice_unreadable file={} error={}", core::quote(path),
                    core::quote(std::strerror(err)));
        ::unlink(path.c_str());
      }
      continue;
    }
    std::string text;
    char buf[4096];
    ssize_t got;
    while ((got = ::read(fd, buf, sizeof buf)) > 0 && text.size() <= kMaxNoticeBytes)
      text.append(buf, static_cast<size_t>(got));
    ::close(fd);
    ::unlink(path.c_str());  // consumed (or malformed) either way
    std::vector<ChangeEvent> events;
    if (got < 0 || text.size() > kMaxNoticeBytes || !parse_notice(text, events)) {
      MR_LOG_WARN("event=store_notice_malformed file={}", core::quote(path));
      continue;
    }
    for (const auto& ev : events) deliver_(ev);
    delivered += events.size();
  }
  return delivered;
}

}  // namespace mailroom::store
