// AccessLog: one JSON object per request, to stdout or a file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "common/error.h"

namespace custody::http {

struct AccessRecord {
  std::string remote;
  std::string method;
  std::string target;
  std::string route;
  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double seconds = 0;
  std::string user_agent;
  std::string principal;  // who, once authenticated ("anonymous" otherwise)
};

class AccessLog {
 public:
  // `where` is "stdout", "off" or a file path (appended to).
  static Result<std::unique_ptr<AccessLog>> open(const std::string& where);
  ~AccessLog();
  void write(const AccessRecord& r);

 private:
  AccessLog() = default;
  std::mutex mu_;
  FILE* out_ = nullptr;
  bool owned_ = false;
};

}  // namespace custody::http
