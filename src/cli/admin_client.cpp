#include "cli/admin_client.h"

#include <fmt/format.h>

#include "cli/environment.h"

namespace custody::cli {

// The variables a client bundle's env.sh exports count too.
AdminConnection default_connection() {
  AdminConnection c;
  c.registry = env_or("CUSTODY_REGISTRY", "http://127.0.0.1:5000");
  c.user = env_or("CUSTODY_USER");
  c.cacert = env_or("CUSTODY_CA_CERT");
  c.cert = env_or("CUSTODY_CLIENT_CERT");
  c.key = env_or("CUSTODY_CLIENT_KEY");
  return c;
}

Result<AdminClient> AdminClient::connect(const AdminConnection& c) {
  http::ClientOptions o;
  o.ca_file = c.cacert;
  o.client_cert = c.cert;
  o.client_key = c.key;
  o.timeout_seconds = 30;
  auto client = http::HttpClient::create(o);
  if (!client) return std::unexpected(client.error());
  std::string authorization;
  std::string secret = env_or("CUSTODY_SECRET");
  if (!c.user.empty()) {
    if (secret.empty())
      return fail(ErrorCode::kInvalidArgument, "--user/CUSTODY_USER needs the secret or password in CUSTODY_SECRET");
    authorization = basic_authorization(c.user, secret);
  } else if (c.cert.empty()) {
    return fail(ErrorCode::kInvalidArgument, "no credentials: set CUSTODY_USER and CUSTODY_SECRET, or --cert/--key");
  }
  return AdminClient(std::make_unique<http::HttpClient>(std::move(*client)), registry_url(c.registry, !c.cacert.empty()),
                     authorization);
}

Result<ApiReply> AdminClient::call(const std::string& method, const std::string& path, const nlohmann::json& body) {
  std::map<std::string, std::string> headers;
  if (!authorization_.empty()) headers["Authorization"] = authorization_;
  std::string text;
  if (!body.is_null()) {
    headers["Content-Type"] = "application/json";
    text = body.dump();
  }
  auto r = http_->perform(method, base_ + path, headers, text);
  if (!r && base_.starts_with("https://") && r.error().message.find("SSL") != std::string::npos)
    return fail(r.error().code, r.error().message +
                                    " (does --cacert / CUSTODY_CA_CERT name the CA that signed the server's certificate?)");
  if (!r) return std::unexpected(r.error());
  ApiReply reply{r->status, nlohmann::json::parse(r->body, nullptr, false)};
  if (reply.body.is_discarded()) reply.body = nullptr;
  if (r->status >= 400) {
    std::string message = reply.body.is_object() && reply.body.contains("error")
                              ? reply.body["error"].value("message", "")
                              : r->body.substr(0, 300);
    return fail(ErrorCode::kFailedPrecondition, fmt::format("HTTP {}: {}", r->status, message));
  }
  return reply;
}

}  // namespace custody::cli
