// WorkerSlots: at most N holders at once, served strictly in arrival
// order. For work that must be bounded because each instance is costly
// (an Argon2id check holds 64 MiB), not for cheap request handling: each
// hand-over wakes a thread, which costs more than the work it orders.
//
// Why not std::counting_semaphore: it promises no order, and under load a
// thread that just released a slot tends to take it straight back, so a
// few callers wait far longer than the rest.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

namespace custody {

class WorkerSlots {
 public:
  explicit WorkerSlots(size_t n) : free_(n) {}

  void acquire() {
    std::unique_lock lock(mu_);
    if (free_ > 0 && waiters_.empty()) {
      --free_;
      return;
    }
    Waiter me;
    waiters_.push_back(&me);
    me.cv.wait(lock, [&] { return me.granted; });
  }

  void release() {
    std::lock_guard lock(mu_);
    if (waiters_.empty()) {
      ++free_;
      return;
    }
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->granted = true;
    next->cv.notify_one();
  }

  // Holds a slot for its lifetime; none if constructed with nullptr.
  class Hold {
   public:
    explicit Hold(WorkerSlots* slots) : slots_(slots) {
      if (slots_) slots_->acquire();
    }
    ~Hold() {
      if (slots_) slots_->release();
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    WorkerSlots* slots_;
  };

 private:
  struct Waiter {
    std::condition_variable cv;
    bool granted = false;
  };
  std::mutex mu_;
  size_t free_;
  std::deque<Waiter*> waiters_;  // oldest first
};

}  // namespace custody
