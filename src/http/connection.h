// Connection: one accepted socket, in the clear or under TLS, with the few
// blocking I/O operations the server needs. Private to http/.
//
// Reads and writes are bounded by the socket's SO_RCVTIMEO/SO_SNDTIMEO.
// Under TLS, file bodies are copied through user space (kernel TLS is not
// assumed); in the clear they go out with sendfile(2).
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/file.h"
#include "http/server.h"

namespace custody::http {

// A configured server-side SSL_CTX.
class TlsContext {
 public:
  static Result<std::unique_ptr<TlsContext>> create(TlsOptions options);
  ~TlsContext();
  SSL_CTX* get() const { return ctx_; }
  const TlsOptions& options() const { return options_; }

 private:
  TlsContext(SSL_CTX* ctx, TlsOptions options) : ctx_(ctx), options_(std::move(options)) {}
  SSL_CTX* ctx_;
  TlsOptions options_;
};

class Connection {
 public:
  // Takes ownership of `fd`. With `tls`, performs the handshake first.
  static Result<std::unique_ptr<Connection>> open(int fd, const TlsContext* tls);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_.get(); }
  bool is_tls() const { return ssl_ != nullptr; }
  // DER of the verified client certificate, empty if none was presented.
  const std::string& peer_certificate() const { return peer_cert_der_; }

  // Reads up to `n` bytes; 0 at end of stream. kUnavailable with the
  // errno (ETIMEDOUT for a timeout) on failure.
  Result<size_t> read_some(void* buf, size_t n);
  // `more`: further data follows at once (lets the kernel coalesce).
  bool write_all(std::string_view data, bool more = false);
  bool write_two(std::string_view head, std::string_view body);
  // Sends [offset, offset + length) of a file; counts what went out.
  bool send_file(int file_fd, uint64_t offset, uint64_t length, uint64_t& sent);
  // After a response to a request whose body was not read: stop writing,
  // then read and discard for a short while so that closing does not send
  // a reset that destroys the response in flight.
  void drain_before_close();

 private:
  Connection(UniqueFd fd, SSL* ssl) : fd_(std::move(fd)), ssl_(ssl) {}
  UniqueFd fd_;
  SSL* ssl_;
  std::string peer_cert_der_;
};

}  // namespace custody::http
