// Server: an HTTP/1.1 server with keep-alive and streaming bodies.
//
// Each connection is served by its own thread, reading with blocking calls
// bounded by timeouts. Why not a small pool of event-loop threads: request
// handlers do blocking disk work (fsync on every blob commit, SQLite), and a
// blocked loop thread would stall every connection it carries; a thread per
// connection keeps one slow request from delaying others, and the
// connection cap (max_connections) bounds the thread count. Blob bodies are
// sent with sendfile(2).
//
// stop() begins a graceful shutdown: no new connections, idle ones are
// closed, in-flight requests finish (up to the grace period).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>

#include "common/error.h"
#include "http/access_log.h"
#include "http/message.h"
#include "http/metrics.h"

namespace custody::http {

enum class ClientAuth { kNone, kRequest, kRequire };

struct TlsOptions {
  std::string cert_file;        // server certificate chain (PEM)
  std::string key_file;         // its private key (PEM)
  std::string client_ca_file;   // CAs that client certificates must chain to
  ClientAuth client_auth = ClientAuth::kNone;
  // Consulted on every handshake with the client certificate's serial
  // (lower-case hex); true refuses the handshake.
  std::function<bool(std::string_view serial_hex)> is_revoked;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;  // 0 picks a free port
  uint32_t max_connections = 1024;
  uint32_t header_max_bytes = 64 * 1024;
  uint32_t idle_timeout_seconds = 60;
  uint32_t shutdown_grace_seconds = 30;
  std::optional<TlsOptions> tls;  // serve HTTPS when set
};

// Splits "host:port" / "[v6]:port" / ":port".
Result<std::pair<std::string, uint16_t>> parse_listen_address(std::string_view addr);

class Server {
 public:
  static Result<std::unique_ptr<Server>> listen(const ServerOptions& options, Handler handler,
                                                Metrics* metrics, AccessLog* access_log);
  ~Server();

  uint16_t port() const;
  // Serves until stop() is called and connections have drained.
  void run();
  // Thread-safe; returns at once.
  void stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custody::http
