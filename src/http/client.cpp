#include "http/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace custody::http {
namespace {

// curl_global_init is not thread-safe; run it once before the first handle.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  ClientResponse* response;
  size_t max_body;
  bool overflow = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (sink->response->body.size() + bytes > sink->max_body) {
    sink->overflow = true;
    return 0;  // makes curl fail the transfer
  }
  sink->response->body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  sink->response->headers[name] = std::string(value);
  return size * n;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

struct HttpClient::Handle {
  CURL* curl = nullptr;
  ClientOptions options;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

std::string ClientResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Result<HttpClient> HttpClient::create(ClientOptions options) {
  init_curl_once();
  auto h = std::make_unique<Handle>();
  h->curl = curl_easy_init();
  if (!h->curl) return fail(ErrorCode::kInternal, "cannot create an HTTP client handle");
  h->options = std::move(options);
  return HttpClient(std::move(h));
}

HttpClient::HttpClient(std::unique_ptr<Handle> h) : h_(std::move(h)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::get(const std::string& url, const std::map<std::string, std::string>& headers) {
  return perform("GET", url, headers, {});
}

Result<ClientResponse> HttpClient::head(const std::string& url, const std::map<std::string, std::string>& headers) {
  return perform("HEAD", url, headers, {});
}

Result<ClientResponse> HttpClient::post(const std::string& url, std::string_view body,
                                        std::string_view content_type) {
  return perform("POST", url, {{"Content-Type", std::string(content_type)}}, body);
}

Result<ClientResponse> HttpClient::perform(const std::string& method, const std::string& url,
                                           const std::map<std::string, std::string>& headers,
                                           std::string_view body) {
  CURL* c = h_->curl;
  const ClientOptions& o = h_->options;
  curl_easy_reset(c);
  ClientResponse response;
  Sink sink{&response, o.max_body};
  std::unique_ptr<curl_slist, SlistDeleter> list;
  for (const auto& [name, value] : headers) {
    std::string line = name + ": " + value;
    list.reset(curl_slist_append(list.release(), line.c_str()));
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, o.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
  if (!o.client_cert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, o.client_cert.c_str());
  if (!o.client_key.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, o.client_key.c_str());
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method != "GET" || !body.empty()) {
    // POST semantics carry the body; other methods rename the request.
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (sink.overflow) return fail(ErrorCode::kUnavailable, url + ": reply larger than " + std::to_string(o.max_body) + " bytes");
  if (rc != CURLE_OK) return fail(ErrorCode::kUnavailable, url + ": " + curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace custody::http
