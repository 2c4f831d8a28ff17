// Boost 1.74's Asio uses std::exchange without including <utility>.
#include <utility>

#include "http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "common/file.h"
#include "http/connection.h"

namespace custody::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

// A Connection as a Beast SyncReadStream.
class ConnStream {
 public:
  explicit ConnStream(Connection& c) : conn_(c) {}
  Connection& connection() { return conn_; }

  template <class Buffers>
  size_t read_some(const Buffers& buffers, error_code& ec) {
    ec = {};
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
         ++it) {
      boost::asio::mutable_buffer b = *it;
      if (b.size() == 0) continue;
      auto n = conn_.read_some(b.data(), b.size());
      if (!n) {
        ec = error_code(std::stoi(n.error().message), boost::system::system_category());
        return 0;
      }
      if (*n == 0) ec = boost::asio::error::eof;
      return *n;
    }
    return 0;
  }
  template <class Buffers>
  size_t read_some(const Buffers& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  Connection& conn_;
};

// An HTTP/1.0 client keeps the connection only if told so explicitly.
std::string response_head(const Response& res, uint64_t content_length, bool keep_alive, bool http10) {
  std::string head = fmt::format("HTTP/1.1 {} {}\r\n", res.status,
                                 std::string_view(bhttp::obsolete_reason(static_cast<bhttp::status>(res.status))));
  for (const auto& [k, v] : res.headers.fields()) {
    head += k;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  head += fmt::format("Content-Length: {}\r\n", content_length);
  if (!keep_alive) head += "Connection: close\r\n";
  else if (http10) head += "Connection: keep-alive\r\n";
  head += "\r\n";
  return head;
}

// Reads the request body through the Beast parser as the handler asks.
class ParserBodyReader final : public BodyReader {
 public:
  ParserBodyReader(ConnStream& s, beast::flat_buffer& buf, bhttp::request_parser<bhttp::buffer_body>& p)
      : stream_(s), buffer_(buf), parser_(p) {
    if (p.content_length()) length_ = *p.content_length();
    auto expect = p.get()[bhttp::field::expect];
    expect_continue_ = beast::iequals(expect, "100-continue");
  }

  Result<size_t> read(std::span<std::byte> out) override {
    if (parser_.is_done() || out.empty()) return 0;
    if (expect_continue_) {
      expect_continue_ = false;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!stream_.connection().write_all(kContinue))
        return fail(ErrorCode::kUnavailable, "client went away");
    }
    while (!parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = out.data();
      body.size = out.size();
      error_code ec;
      bhttp::read(stream_, buffer_, parser_, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return fail(ErrorCode::kUnavailable, "reading request body: " + ec.message());
      size_t n = out.size() - parser_.get().body().size;
      if (n > 0) {
        received_ += n;
        return n;
      }
    }
    return 0;
  }

  std::optional<uint64_t> content_length() const override { return length_; }
  uint64_t received() const { return received_; }
  bool done() const { return parser_.is_done(); }
  // True while the client waits for "100 Continue" before sending its body.
  bool body_withheld() const { return expect_continue_; }

 private:
  ConnStream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  std::optional<uint64_t> length_;
  bool expect_continue_ = false;
  uint64_t received_ = 0;
};

void set_timeouts(int fd, uint32_t seconds) {
  timeval tv{static_cast<time_t>(seconds), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  char host[NI_MAXHOST], port[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "";
  return ss.ss_family == AF_INET6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  Metrics* metrics;
  AccessLog* access_log;
  UniqueFd listen_fd;
  int wake_pipe[2] = {-1, -1};
  uint16_t bound_port = 0;

  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable drained;
  size_t active = 0;
  size_t rejecting = 0;   // threads answering 429
  static constexpr size_t kMaxRejecting = 64;
  std::set<int> idle_fds;  // connections waiting for their next request
  std::set<int> open_fds;  // every connection being served

  ~Impl() {
    for (int fd : wake_pipe)
      if (fd >= 0) ::close(fd);
  }

  std::unique_ptr<TlsContext> tls;

  void serve_connection(int fd);
  bool serve_request(Connection& conn, beast::flat_buffer& buffer);
  bool write_response(Connection& conn, const Request& req, Response& res, bool keep_alive, bool http10,
                      uint64_t& bytes_out);
  void reject_busy(int fd);
  void set_idle(int fd, bool idle) {
    std::lock_guard lock(mu);
    if (idle) idle_fds.insert(fd);
    else idle_fds.erase(fd);
  }
};

Result<std::pair<std::string, uint16_t>> parse_listen_address(std::string_view addr) {
  std::string host;
  std::string_view port_text;
  if (addr.starts_with('[')) {
    auto close = addr.find("]:");
    if (close == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "bad listen address");
    host = std::string(addr.substr(1, close - 1));
    port_text = addr.substr(close + 2);
  } else {
    auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "listen address needs a port");
    host = std::string(addr.substr(0, colon));
    port_text = addr.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535)
    return fail(ErrorCode::kInvalidArgument, "bad port in listen address");
  return std::pair{host, static_cast<uint16_t>(port)};
}

Result<std::unique_ptr<Server>> Server::listen(const ServerOptions& options, Handler handler, Metrics* metrics,
                                               AccessLog* access_log) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->metrics = metrics;
  impl->access_log = access_log;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(options.port);
  if (int rc = ::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return fail(ErrorCode::kInvalidArgument, fmt::format("resolve {}: {}", options.host, gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(ErrorCode::kInternal, "socket: " + errno_text(errno));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0)
    return fail(ErrorCode::kUnavailable, fmt::format("bind {}:{}: {}", options.host, options.port, errno_text(errno)));
  if (::listen(fd.get(), 1024) != 0) return fail(ErrorCode::kInternal, "listen: " + errno_text(errno));
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  impl->bound_port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                    : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  impl->listen_fd = std::move(fd);
  if (::pipe2(impl->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return fail(ErrorCode::kInternal, "pipe failed");
  if (options.tls) {
    auto tls = TlsContext::create(*options.tls);
    if (!tls) return std::unexpected(tls.error());
    impl->tls = std::move(*tls);
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
uint16_t Server::port() const { return impl_->bound_port; }

void Server::stop() {
  impl_->stopping = true;
  char c = 1;
  (void)!::write(impl_->wake_pipe[1], &c, 1);
}

void Server::run() {
  Impl& s = *impl_;
  pollfd fds[2] = {{s.listen_fd.get(), POLLIN, 0}, {s.wake_pipe[0], POLLIN, 0}};
  while (!s.stopping) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (s.stopping || !(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(s.listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::unique_lock lock(s.mu);
    if (s.active >= s.options.max_connections) {
      // Over the limit: answer 429 from a short-lived thread, but never
      // let rejections themselves grow without bound.
      if (s.rejecting >= Impl::kMaxRejecting) {
        ::close(fd);
        continue;
      }
      ++s.rejecting;
      lock.unlock();
      std::thread([&s, fd] { s.reject_busy(fd); }).detach();
      continue;
    }
    ++s.active;
    lock.unlock();
    std::thread([&s, fd] { s.serve_connection(fd); }).detach();
  }
  s.listen_fd = UniqueFd();
  // Graceful drain: idle connections are closed now, busy ones finish.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(s.options.shutdown_grace_seconds);
  std::unique_lock lock(s.mu);
  for (int fd : s.idle_fds) ::shutdown(fd, SHUT_RDWR);
  auto drained = [&] { return s.active == 0 && s.rejecting == 0; };
  if (!s.drained.wait_until(lock, deadline, drained)) {
    // Grace is over: cut every connection, including stalled uploads
    // (their sessions stay resumable at the last complete chunk).
    for (int fd : s.open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  s.drained.wait(lock, drained);
}

void Server::Impl::reject_busy(int fd) {
  metrics->connection_rejected();
  static constexpr std::string_view kBody =
      R"({"errors":[{"code":"TOO_MANY_REQUESTS","message":"too many connections","detail":null}]})";
  std::string busy = fmt::format(
      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
      "Connection: close\r\nContent-Length: {}\r\n\r\n{}",
      kBody.size(), kBody);
  set_timeouts(fd, 1);
  // Under TLS the 429 would need a handshake first; a closed socket says
  // "busy" just as well there.
  {
    auto conn = Connection::open(fd, nullptr);  // owns fd; closes it at the end of this block
    if (conn && !tls) {
      (*conn)->write_all(busy);
      (*conn)->drain_before_close();
    }
  }
  std::lock_guard lock(mu);
  if (--rejecting == 0 && active == 0) drained.notify_all();
}

void Server::Impl::serve_connection(int fd) {
  metrics->connection_opened();
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_timeouts(fd, options.idle_timeout_seconds);
  {
    std::lock_guard lock(mu);
    open_fds.insert(fd);
  }
  {
    auto conn = Connection::open(fd, tls.get());  // owns fd from here on
    beast::flat_buffer buffer;
    while (conn && !stopping) {
      set_idle(fd, true);
      if (stopping || !serve_request(**conn, buffer)) break;
    }
    std::lock_guard lock(mu);
    idle_fds.erase(fd);
    open_fds.erase(fd);
  }
  metrics->connection_closed();
  std::lock_guard lock(mu);
  if (--active == 0) drained.notify_all();
}

// Turns the parsed header into a Request; nullopt if the path's
// percent-encoding is malformed.
std::optional<Request> request_from(const bhttp::request_parser<bhttp::buffer_body>& parser, const Connection& conn) {
  const auto& msg = parser.get();
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  std::string_view target(msg.target().data(), msg.target().size());
  auto qpos = target.find('?');
  auto decoded = percent_decode(target.substr(0, qpos));
  if (!decoded) return std::nullopt;
  req.path = std::move(*decoded);
  if (qpos != std::string_view::npos) req.query = parse_query(target.substr(qpos + 1));
  for (const auto& f : msg) req.headers.add(std::string(f.name_string()), std::string(f.value()));
  req.remote_address = peer_address(conn.fd());
  req.peer_certificate = conn.peer_certificate();
  return req;
}

// Reads and drops a small unread body so that the connection can be
// reused; returns whether it can.
bool discard_small_body(ParserBodyReader& body) {
  if (body.done()) return true;
  if (body.body_withheld()) return false;  // the client never sent it
  std::array<std::byte, 16 * 1024> sink{};
  uint64_t dropped = 0;
  while (!body.done() && dropped < 256 * 1024) {
    auto n = body.read(sink);
    if (!n || *n == 0) break;
    dropped += *n;
  }
  return body.done();
}

// Serves one request; returns false when the connection must close.
bool Server::Impl::serve_request(Connection& conn, beast::flat_buffer& buffer) {
  ConnStream stream(conn);
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(options.header_max_bytes);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  error_code ec;
  bhttp::read_header(stream, buffer, parser, ec);
  set_idle(conn.fd(), false);
  auto start = std::chrono::steady_clock::now();
  if (ec) {
    if (ec != boost::asio::error::eof && ec != bhttp::error::end_of_stream && ec.value() != ETIMEDOUT &&
        ec.value() != ECONNRESET) {
      // The request could not be parsed, so the connection cannot continue.
      conn.write_all(ec == bhttp::error::header_limit
                         ? "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                         : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
    return false;
  }
  ParserBodyReader body(stream, buffer, parser);
  auto req = request_from(parser, conn);
  Response res;
  if (!req) {
    req.emplace();
    req->method = std::string(parser.get().method_string());
    req->target = std::string(parser.get().target());
    res.status = 400;
    res.body = R"({"errors":[{"code":"UNSUPPORTED","message":"malformed percent-encoding in path","detail":null}]})";
    res.headers.set("Content-Type", "application/json");
  } else {
    req->body = &body;
    res = handler(*req);
  }
  bool keep_alive = parser.get().keep_alive() && !stopping && discard_small_body(body);
  uint64_t bytes_out = 0;
  bool ok = write_response(conn, *req, res, keep_alive, parser.get().version() == 10, bytes_out);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics->observe(res.route, req->method, res.status, seconds, body.received(), bytes_out);
  access_log->write(AccessRecord{req->remote_address, req->method, req->target, res.route, res.status,
                                 body.received(), bytes_out, seconds,
                                 std::string(req->headers.get("User-Agent").value_or("")), req->principal});
  if (ok && !body.done() && !body.body_withheld()) conn.drain_before_close();
  return ok && keep_alive;
}

bool Server::Impl::write_response(Connection& conn, const Request& req, Response& res, bool keep_alive,
                                  bool http10, uint64_t& bytes_out) {
  uint64_t length = res.stream ? res.stream->length() : res.body.size();
  if (res.head_length) length = *res.head_length;
  std::string header = response_head(res, length, keep_alive, http10);
  bytes_out = header.size();
  if (req.method == "HEAD" || (!res.stream && res.body.empty())) return conn.write_all(header);
  if (!res.stream) {
    bytes_out += res.body.size();
    return conn.write_two(header, res.body);
  }
  if (!conn.write_all(header, /*more=*/true)) return false;
  if (auto region = res.stream->file_region()) return conn.send_file(region->fd, region->offset, region->length, bytes_out);
  std::vector<std::byte> buf(256 * 1024);
  for (;;) {
    auto n = res.stream->read(buf);
    if (!n) return false;
    if (*n == 0) return true;
    if (!conn.write_all(std::string_view(reinterpret_cast<const char*>(buf.data()), *n))) return false;
    bytes_out += *n;
  }
}

}  // namespace custody::http
