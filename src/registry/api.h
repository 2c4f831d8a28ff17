// Api: the OCI Distribution v1.1 HTTP endpoints under /v2/, as thin
// handlers over Registry. Translates HTTP to calls and RegistryErrors to the
// spec's JSON error bodies.
#pragma once

#include <cstdint>

#include "http/message.h"
#include "registry/access.h"
#include "registry/registry.h"
#include "registry/routes.h"

namespace custody::registry {

struct ApiOptions {
  uint32_t page_size_max = 1000;
  // Called for every successful manifest or blob GET when pulls are
  // recorded (log.record_pulls); the callee batches them into the log.
  std::function<void(meta::Event)> on_pull;
  // Who may do what; nullptr means everyone may do everything.
  AccessControl* access = nullptr;
};

class Api {
 public:
  Api(Registry& registry, ApiOptions options)
      : registry_(registry), options_(std::move(options)), access_(options_.access ? *options_.access : open_) {}

  // Handles any request whose path starts with /v2.
  http::Response handle(http::Request& req);

 private:
  http::Response handle_blob(http::Request& req, const Route& route);
  http::Response handle_upload_start(http::Request& req, const Route& route);
  http::Response handle_upload(http::Request& req, const Route& route);
  http::Response handle_manifest(http::Request& req, const Route& route);
  http::Response handle_tags(http::Request& req, const Route& route);
  http::Response handle_catalog(http::Request& req);
  http::Response handle_referrers(http::Request& req, const Route& route);
  void record_pull(const http::Request& req, std::string action, const std::string& repo, const Digest& digest,
                   std::string tag);

  Registry& registry_;
  ApiOptions options_;
  OpenAccess open_;
  AccessControl& access_;
};

// Helpers shared by the handler files.
http::Response error_response(const RegistryError& e);
http::Response json_response(int status, std::string body, std::string_view content_type = "application/json");
Actor actor_of(const http::Request& req);
ReadFn body_reader(http::Request& req);
// Parses a digest from the URL or query; DIGEST_INVALID on failure.
RegResult<Digest> parse_digest_arg(std::string_view text);
std::string upload_location(const std::string& repo, const std::string& id);
std::string range_value(uint64_t size);  // "0-<size-1>", "0-0" when empty

}  // namespace custody::registry
