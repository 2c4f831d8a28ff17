#include "jobs/pull_recorder.h"

#include <cstdio>

#include "common/time.h"

namespace custody::jobs {
namespace {

// Beyond this many queued pulls (the database is stalled) new ones are
// dropped and counted rather than growing memory without bound.
constexpr size_t kMaxQueued = 100000;

}  // namespace

PullRecorder::PullRecorder(meta::MetaStore& meta, std::chrono::milliseconds interval, size_t max_batch)
    : meta_(meta), interval_(interval), max_batch_(max_batch), thread_([this] { run(); }) {}

PullRecorder::~PullRecorder() { stop(); }

void PullRecorder::record(meta::Event e) {
  if (e.time_ms == 0) e.time_ms = now_unix_ms();
  std::lock_guard lock(mu_);
  if (queue_.size() >= kMaxQueued) return;
  queue_.push_back(std::move(e));
  if (queue_.size() >= max_batch_) wake_.notify_one();
}

void PullRecorder::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PullRecorder::flush(std::vector<meta::Event>& batch) {
  if (batch.empty()) return;
  auto s = meta_.transact([&](meta::Txn& t) -> Status {
    for (const auto& e : batch) {
      if (auto r = t.append_event(e); !r) return std::unexpected(r.error());
    }
    return {};
  });
  if (!s) std::fprintf(stderr, "custody: recording %zu pulls failed: %s\n", batch.size(), s.error().message.c_str());
  batch.clear();
}

void PullRecorder::run() {
  std::vector<meta::Event> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, interval_, [&] { return stopping_ || queue_.size() >= max_batch_; });
    batch.swap(queue_);
    bool last = stopping_;
    lock.unlock();
    flush(batch);
    lock.lock();
    if (last && queue_.empty()) return;
  }
}

}  // namespace custody::jobs
