// Metrics: request counters and latency histograms in Prometheus text
// format. One instance per server; no globals.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace custody::http {

class Metrics {
 public:
  // Upper bounds (seconds) of the latency histogram buckets.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

  void observe(const std::string& route, const std::string& method, int status, double seconds,
               uint64_t bytes_in, uint64_t bytes_out);
  void connection_opened() { ++open_connections_; }
  void connection_closed() { --open_connections_; }
  void connection_rejected() { ++rejected_connections_; }

  // Extra gauge lines appended to the output (e.g. storage totals).
  using GaugeSource = std::function<std::string()>;
  void set_gauge_source(GaugeSource source) { gauges_ = std::move(source); }

  std::string render() const;

 private:
  struct Series {
    uint64_t count = 0;
    std::array<uint64_t, kBuckets.size()> buckets{};
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Series> latency_;
  std::atomic<uint64_t> bytes_in_{0}, bytes_out_{0};
  std::atomic<int64_t> open_connections_{0};
  std::atomic<uint64_t> rejected_connections_{0};
  GaugeSource gauges_;
};

}  // namespace custody::http
