#include "http/connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include <fmt/format.h>

namespace custody::http {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool send_plain(int fd, const char* p, size_t len, int flags) {
  while (len > 0) {
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL | flags);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Refuses a revoked client certificate during the handshake.
int verify_callback(int ok, X509_STORE_CTX* store) {
  if (!ok) return 0;
  if (X509_STORE_CTX_get_error_depth(store) != 0) return ok;
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* tls = static_cast<const TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!tls || !tls->options().is_revoked) return ok;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (!bn) return 0;
  char* hex = BN_bn2hex(bn);
  std::string serial = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  for (char& c : serial) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (tls->options().is_revoked(serial)) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED);
    return 0;
  }
  return ok;
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::create(TlsOptions options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return fail(ErrorCode::kInternal, "SSL_CTX_new: " + openssl_error());
  std::unique_ptr<TlsContext> out(new TlsContext(ctx, std::move(options)));
  const TlsOptions& o = out->options_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_app_data(ctx, out.get());
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1)
    return fail(ErrorCode::kInvalidArgument, fmt::format("TLS certificate {}: {}", o.cert_file, openssl_error()));
  if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    return fail(ErrorCode::kInvalidArgument, fmt::format("TLS key {}: {}", o.key_file, openssl_error()));
  if (o.client_auth != ClientAuth::kNone) {
    if (o.client_ca_file.empty())
      return fail(ErrorCode::kInvalidArgument, "client certificates need a client CA file");
    if (SSL_CTX_load_verify_locations(ctx, o.client_ca_file.c_str(), nullptr) != 1)
      return fail(ErrorCode::kInvalidArgument, fmt::format("client CA {}: {}", o.client_ca_file, openssl_error()));
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER | (o.client_auth == ClientAuth::kRequire ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(ctx, mode, verify_callback);
    X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(ctx), X509_PURPOSE_SSL_CLIENT);
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<Connection>> Connection::open(int fd, const TlsContext* tls) {
  UniqueFd owned(fd);
  if (!tls) return std::unique_ptr<Connection>(new Connection(std::move(owned), nullptr));
  SSL* ssl = SSL_new(tls->get());
  if (!ssl) return fail(ErrorCode::kInternal, "SSL_new: " + openssl_error());
  std::unique_ptr<Connection> c(new Connection(std::move(owned), ssl));
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1) return fail(ErrorCode::kUnavailable, "TLS handshake: " + openssl_error());
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    unsigned char* der = nullptr;
    int len = i2d_X509(peer, &der);
    if (len > 0) c->peer_cert_der_.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    X509_free(peer);
  }
  return c;
}

Connection::~Connection() {
  if (ssl_) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
}

Result<size_t> Connection::read_some(void* buf, size_t n) {
  for (;;) {
    if (ssl_) {
      int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
      if (r > 0) return static_cast<size_t>(r);
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_ZERO_RETURN) return 0;
      if (err == SSL_ERROR_SYSCALL && errno == EINTR) continue;
      ERR_clear_error();
      int code = (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) ? ETIMEDOUT : ECONNRESET;
      return fail(ErrorCode::kUnavailable, std::to_string(code));
    }
    ssize_t r = ::recv(fd(), buf, n, 0);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) continue;
    return fail(ErrorCode::kUnavailable, std::to_string(errno == EAGAIN ? ETIMEDOUT : errno));
  }
}

bool Connection::write_all(std::string_view data, bool more) {
  if (!ssl_) return send_plain(fd(), data.data(), data.size(), more ? MSG_MORE : 0);
  while (!data.empty()) {
    int r = SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 20)));
    if (r <= 0) {
      ERR_clear_error();
      return false;
    }
    data.remove_prefix(static_cast<size_t>(r));
  }
  return true;
}

bool Connection::write_two(std::string_view head, std::string_view body) {
  if (ssl_) return write_all(std::string(head) + std::string(body));
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()}, {const_cast<char*>(body.data()), body.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = body.empty() ? 1 : 2;
  ssize_t n = ::sendmsg(fd(), &msg, MSG_NOSIGNAL);
  if (n < 0 && errno != EINTR) return false;
  size_t sent = n < 0 ? 0 : static_cast<size_t>(n);
  if (sent < head.size()) {
    if (!send_plain(fd(), head.data() + sent, head.size() - sent, 0)) return false;
    sent = head.size();
  }
  size_t body_sent = sent - head.size();
  return send_plain(fd(), body.data() + body_sent, body.size() - body_sent, 0);
}

bool Connection::send_file(int file_fd, uint64_t offset, uint64_t length, uint64_t& sent) {
  if (!ssl_) {
    off_t off = static_cast<off_t>(offset);
    while (length > 0) {
      ssize_t n = ::sendfile(fd(), file_fd, &off, std::min<uint64_t>(length, 1 << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      length -= static_cast<uint64_t>(n);
      sent += static_cast<uint64_t>(n);
    }
    return true;
  }
  std::vector<char> buf(256 * 1024);
  while (length > 0) {
    ssize_t n = ::pread(file_fd, buf.data(), std::min<uint64_t>(buf.size(), length), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || !write_all(std::string_view(buf.data(), static_cast<size_t>(n)))) return false;
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
    sent += static_cast<uint64_t>(n);
  }
  return true;
}

void Connection::drain_before_close() {
  if (!ssl_) ::shutdown(fd(), SHUT_WR);
  timeval tv{1, 0};
  ::setsockopt(fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  char sink[64 * 1024];
  while (std::chrono::steady_clock::now() < deadline) {
    auto n = read_some(sink, sizeof sink);
    if (!n || *n == 0) break;
  }
}

}  // namespace custody::http
