// Checkpointer: signs a checkpoint of the custody log when enough time or
// enough events have passed since the last one, and a final one on stop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "audit/log_service.h"

namespace custody::jobs {

class Checkpointer {
 public:
  Checkpointer(audit::CustodyLog& log, meta::MetaStore& meta, std::chrono::milliseconds interval,
               uint32_t max_events);
  ~Checkpointer();  // stops
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  void start();
  // Stops the loop and signs a last checkpoint of what was appended.
  void stop();

 private:
  void run(int64_t signed_size);
  int64_t log_size();

  audit::CustodyLog& log_;
  meta::MetaStore& meta_;
  std::chrono::milliseconds interval_;
  uint32_t max_events_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace custody::jobs
