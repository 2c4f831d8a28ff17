#include "http/access_log.h"

#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/time.h"

namespace custody::http {

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& where) {
  std::unique_ptr<AccessLog> log(new AccessLog());
  if (where == "off") return log;
  if (where == "stdout" || where.empty()) {
    log->out_ = stdout;
    return log;
  }
  log->out_ = std::fopen(where.c_str(), "ae");
  if (!log->out_) return fail(ErrorCode::kInvalidArgument, "open access log " + where + ": " + errno_text(errno));
  log->owned_ = true;
  return log;
}

AccessLog::~AccessLog() {
  if (owned_ && out_) std::fclose(out_);
}

void AccessLog::write(const AccessRecord& r) {
  if (!out_) return;
  nlohmann::json j = {{"time", format_rfc3339(now_unix_ms())},
                      {"remote", r.remote},
                      {"method", r.method},
                      {"target", r.target},
                      {"route", r.route},
                      {"status", r.status},
                      {"bytes_in", r.bytes_in},
                      {"bytes_out", r.bytes_out},
                      {"duration_ms", static_cast<int64_t>(r.seconds * 1e6) / 1e3},
                      {"user_agent", r.user_agent},
                      {"principal", r.principal}};
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace custody::http
