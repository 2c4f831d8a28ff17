#include "http/metrics.h"

#include <fmt/format.h>

namespace custody::http {

void Metrics::observe(const std::string& route, const std::string& method, int status, double seconds,
                      uint64_t bytes_in, uint64_t bytes_out) {
  bytes_in_ += bytes_in;
  bytes_out_ += bytes_out;
  std::lock_guard lock(mu_);
  ++requests_[{route, method, status}];
  Series& s = latency_[route];
  ++s.count;
  s.sum += seconds;
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++s.buckets[i];
}

std::string Metrics::render() const {
  std::string out;
  out += "# HELP custody_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE custody_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += fmt::format("custody_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n", route,
                       method, status, n);
  }
  out += "# HELP custody_http_request_duration_seconds Request latency by route.\n";
  out += "# TYPE custody_http_request_duration_seconds histogram\n";
  for (const auto& [route, s] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out += fmt::format("custody_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
                         kBuckets[i], s.buckets[i]);
    out += fmt::format("custody_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route,
                       s.count);
    out += fmt::format("custody_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, s.sum);
    out += fmt::format("custody_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route, s.count);
  }
  out += "# TYPE custody_http_received_bytes_total counter\n";
  out += fmt::format("custody_http_received_bytes_total {}\n", bytes_in_.load());
  out += "# TYPE custody_http_sent_bytes_total counter\n";
  out += fmt::format("custody_http_sent_bytes_total {}\n", bytes_out_.load());
  out += "# TYPE custody_http_open_connections gauge\n";
  out += fmt::format("custody_http_open_connections {}\n", open_connections_.load());
  out += "# TYPE custody_http_rejected_connections_total counter\n";
  out += fmt::format("custody_http_rejected_connections_total {}\n", rejected_connections_.load());
  if (gauges_) out += gauges_();
  return out;
}

}  // namespace custody::http
