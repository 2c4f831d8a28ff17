// HTTP messages as the handlers see them, free of Boost.Beast so that
// handlers compile fast and can be tested without a socket.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/byte_source.h"
#include "common/error.h"

namespace custody::http {

// Header fields in arrival order; lookups ignore case.
class Headers {
 public:
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  void set(std::string_view name, std::string value);
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Pulls the request body as it arrives from the socket.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to out.size() bytes; 0 means the body is complete.
  virtual Result<size_t> read(std::span<std::byte> out) = 0;
  // Declared Content-Length, if any (chunked bodies have none).
  virtual std::optional<uint64_t> content_length() const = 0;
};

struct Request {
  std::string method;
  std::string target;  // raw request-target
  std::string path;    // percent-decoded path
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  Headers headers;
  std::string remote_address;
  std::string peer_certificate;  // DER of the verified TLS client certificate, if any
  BodyReader* body = nullptr;
  // Who sent it, once the access gate has authenticated it: the account
  // ("anonymous" when none) and how it proved who it is.
  std::string principal = "anonymous";
  std::string auth_method = "none";

  std::optional<std::string_view> query_param(std::string_view key) const;
  bool has_query_param(std::string_view key) const { return query_param(key).has_value(); }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;                     // used when `stream` is empty
  std::unique_ptr<ByteSource> stream;   // large bodies (blobs)
  // Length to announce without a body (HEAD responses).
  std::optional<uint64_t> head_length;
  // Route label for metrics, set by the handler ("blob_get", ...).
  std::string route = "other";
};

// Reads the whole body into `out`, refusing more than `limit` bytes
// (kResourceExhausted) before reading them.
Status read_body(Request& req, uint64_t limit, std::string& out);

// Splits "a=1&b=%2F" into decoded pairs; '+' is a space.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);
// Percent-decodes; returns nullopt on a malformed escape or a NUL byte.
std::optional<std::string> percent_decode(std::string_view s);
std::string percent_encode(std::string_view s);

using Handler = std::function<Response(Request&)>;

}  // namespace custody::http
