// PullRecorder: writes pull events to the custody log in batches.
//
// Pulls are the one kind of event that is not a state change and can
// arrive at tens of thousands per second, so they are queued and appended
// by one transaction per batch instead of one per request. A crash loses
// at most the pulls of the last interval; no state change depends on them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "meta/meta_store.h"

namespace custody::jobs {

class PullRecorder {
 public:
  PullRecorder(meta::MetaStore& meta, std::chrono::milliseconds interval, size_t max_batch = 1000);
  ~PullRecorder();  // flushes and stops
  PullRecorder(const PullRecorder&) = delete;
  PullRecorder& operator=(const PullRecorder&) = delete;

  // Queues an event; never blocks on the database.
  void record(meta::Event e);
  void stop();

 private:
  void run();
  void flush(std::vector<meta::Event>& batch);

  meta::MetaStore& meta_;
  std::chrono::milliseconds interval_;
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<meta::Event> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace custody::jobs
