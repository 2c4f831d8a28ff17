#include "jobs/checkpointer.h"

#include <cstdio>

namespace custody::jobs {
namespace {

// How often the loop looks at the log's size.
constexpr std::chrono::milliseconds kPoll{100};

}  // namespace

Checkpointer::Checkpointer(audit::CustodyLog& log, meta::MetaStore& meta, std::chrono::milliseconds interval,
                           uint32_t max_events)
    : log_(log), meta_(meta), interval_(interval), max_events_(max_events) {}

Checkpointer::~Checkpointer() { stop(); }

void Checkpointer::start() {
  if (auto made = log_.checkpoint_now(); !made)
    std::fprintf(stderr, "custody: checkpoint failed: %s\n", made.error().message.c_str());
  // Count new events from the checkpoint just signed, not from whatever the
  // log holds by the time the thread runs (events appended in between
  // would otherwise never count towards checkpoint_events).
  int64_t signed_size = 0;
  if (auto latest = log_.latest_checkpoint()) signed_size = latest->size;
  thread_ = std::thread([this, signed_size] { run(signed_size); });
}

void Checkpointer::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  (void)log_.checkpoint_now();
}

int64_t Checkpointer::log_size() {
  int64_t size = 0;
  (void)meta_.read([&](meta::Txn& t) -> Status {
    auto s = t.log_size();
    if (s) size = *s;
    return {};
  });
  return size;
}

void Checkpointer::run(int64_t signed_size) {
  auto last = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::min(kPoll, interval_));
    if (stopping_) break;
    lock.unlock();
    int64_t size = log_size();
    auto now = std::chrono::steady_clock::now();
    bool due = size > signed_size &&
               (size - signed_size >= static_cast<int64_t>(max_events_) || now - last >= interval_);
    if (due) {
      auto made = log_.checkpoint_now();
      if (!made) std::fprintf(stderr, "custody: checkpoint failed: %s\n", made.error().message.c_str());
      // The checkpoint covers what was there when it was signed, which may
      // be more than `size`; counting from there avoids an early next one.
      signed_size = made && *made ? **made : size;
      last = now;
    }
    lock.lock();
  }
}

}  // namespace custody::jobs
