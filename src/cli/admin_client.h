// AdminClient: the admin commands' connection to a running server's
// /api/v1/ (docs/auth.md). Credentials come from the environment
// (CUSTODY_USER, CUSTODY_SECRET), never from the command line, so they
// stay out of shell history and `ps`. Private to cli/.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "http/client.h"

namespace CLI {
class App;
}

namespace custody::cli {

struct AdminConnection {
  std::string registry;  // e.g. https://registry.example:5000
  std::string user;
  std::string cacert, cert, key;
};

// Flags default to CUSTODY_REGISTRY (a URL, or host:port), CUSTODY_USER,
// and the CUSTODY_CA_CERT / CUSTODY_CLIENT_CERT / CUSTODY_CLIENT_KEY a
// client bundle's env.sh exports; the registry to http://127.0.0.1:5000.
AdminConnection default_connection();

struct ApiReply {
  long status = 0;
  nlohmann::json body;  // null when the reply had none
};

class AdminClient {
 public:
  static Result<AdminClient> connect(const AdminConnection& c);

  // One call; a transport failure or a 4xx/5xx reply is an Error whose
  // message is the server's own.
  Result<ApiReply> call(const std::string& method, const std::string& path,
                        const nlohmann::json& body = nullptr);

 private:
  AdminClient(std::unique_ptr<http::HttpClient> http, std::string base, std::string authorization)
      : http_(std::move(http)), base_(std::move(base)), authorization_(std::move(authorization)) {}

  std::unique_ptr<http::HttpClient> http_;
  std::string base_;
  std::string authorization_;
};

// --registry, --user, --cacert, --cert, --key on `cmd`.
void add_admin_connection_options(CLI::App* cmd, AdminConnection& c);
int run_pki_revoke(const AdminConnection& conn, const std::string& serial, const std::string& reason);

}  // namespace custody::cli
