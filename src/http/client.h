// HttpClient: outbound HTTP(S) with libcurl, for the CLI and for features
// that talk to other servers (witnesses, mirrors, webhooks).
//
// One client is one libcurl easy handle: reuse it for keep-alive, never
// share it between threads. Bodies are buffered up to a limit, because
// what this client fetches (checkpoints, tiles, proofs, JSON) is small;
// a reply over the limit is an error rather than unbounded memory.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace custody::http {

struct ClientOptions {
  std::string ca_file;      // PEM bundle to trust instead of the system's
  std::string client_cert;  // PEM client certificate for mutual TLS
  std::string client_key;   // its key
  long timeout_seconds = 60;
  size_t max_body = 64u << 20;
};

struct ClientResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins

  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  static Result<HttpClient> create(ClientOptions options = {});
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  ~HttpClient();

  // Transport failures (refused connection, TLS, timeout, oversized reply)
  // are kUnavailable errors; any HTTP status is a response.
  Result<ClientResponse> get(const std::string& url, const std::map<std::string, std::string>& headers = {});
  Result<ClientResponse> head(const std::string& url, const std::map<std::string, std::string>& headers = {});
  Result<ClientResponse> post(const std::string& url, std::string_view body, std::string_view content_type);
  // Any method, with a body (sent when non-empty) and headers.
  Result<ClientResponse> perform(const std::string& method, const std::string& url,
                                 const std::map<std::string, std::string>& headers, std::string_view body);

 private:
  struct Handle;
  explicit HttpClient(std::unique_ptr<Handle> h);

  std::unique_ptr<Handle> h_;
};

}  // namespace custody::http
