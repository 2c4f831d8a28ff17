#include "common/config.h"

#include <toml++/toml.h>

#include <fmt/format.h>

#include <set>

#include "common/file.h"

namespace custody {
namespace {

using Keys = std::set<std::string, std::less<>>;

Status check_keys(const toml::table& t, std::string_view section, const Keys& allowed) {
  for (const auto& [k, v] : t) {
    if (!allowed.contains(k.str()))
      return fail(ErrorCode::kInvalidArgument, fmt::format("config: unknown key '{}{}{}'", section,
                                                           section.empty() ? "" : ".", k.str()));
  }
  return {};
}

template <typename T>
Status read_uint(const toml::table& t, std::string_view section, std::string_view key, T& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  auto v = n->value<int64_t>();
  if (!v || *v < 0 || static_cast<uint64_t>(*v) > std::numeric_limits<T>::max())
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("config: {}.{} must be a non-negative integer", section, key));
  out = static_cast<T>(*v);
  return {};
}

Status read_string(const toml::table& t, std::string_view section, std::string_view key, std::string& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  auto v = n->value<std::string>();
  if (!v) return fail(ErrorCode::kInvalidArgument, fmt::format("config: {}.{} must be a string", section, key));
  out = *v;
  return {};
}


const toml::table* section_of(const toml::table& root, std::string_view name) {
  const toml::node* n = root.get(name);
  return n ? n->as_table() : nullptr;
}

Status apply_tls(const toml::table& t, TlsConfig& tls) {
  if (auto r = check_keys(t, "server.tls", {"cert", "key", "client_ca", "client_auth"}); !r) return r;
  Status r;
  if (!(r = read_string(t, "server.tls", "cert", tls.cert))) return r;
  if (!(r = read_string(t, "server.tls", "key", tls.key))) return r;
  if (!(r = read_string(t, "server.tls", "client_ca", tls.client_ca))) return r;
  if (!(r = read_string(t, "server.tls", "client_auth", tls.client_auth))) return r;
  if (tls.client_auth != "none" && tls.client_auth != "request" && tls.client_auth != "require")
    return fail(ErrorCode::kInvalidArgument, "config: server.tls.client_auth must be none, request or require");
  if (tls.cert.empty() != tls.key.empty())
    return fail(ErrorCode::kInvalidArgument, "config: server.tls needs both cert and key");
  if (tls.client_auth != "none" && tls.client_ca.empty())
    return fail(ErrorCode::kInvalidArgument, "config: server.tls.client_auth needs client_ca");
  return {};
}

Status apply_server(const toml::table& t, ServerConfig& s) {
  if (auto r = check_keys(t, "server", {"listen", "max_connections", "workers", "access_log",
                                         "shutdown_grace_seconds", "idle_timeout_seconds", "tls"});
      !r)
    return r;
  Status r;
  if (!(r = read_string(t, "server", "listen", s.listen))) return r;
  if (!(r = read_uint(t, "server", "max_connections", s.max_connections))) return r;
  if (!(r = read_uint(t, "server", "workers", s.workers))) return r;
  if (!(r = read_string(t, "server", "access_log", s.access_log))) return r;
  if (!(r = read_uint(t, "server", "shutdown_grace_seconds", s.shutdown_grace_seconds))) return r;
  if (!(r = read_uint(t, "server", "idle_timeout_seconds", s.idle_timeout_seconds))) return r;
  if (const auto* tls = section_of(t, "tls")) return apply_tls(*tls, s.tls);
  return {};
}

Status apply_limits(const toml::table& t, LimitsConfig& l) {
  if (auto r = check_keys(t, "limits",
                          {"manifest_max_bytes", "page_size_max", "header_max_bytes", "upload_max_bytes"});
      !r)
    return r;
  Status r;
  if (!(r = read_uint(t, "limits", "manifest_max_bytes", l.manifest_max_bytes))) return r;
  if (!(r = read_uint(t, "limits", "page_size_max", l.page_size_max))) return r;
  if (!(r = read_uint(t, "limits", "header_max_bytes", l.header_max_bytes))) return r;
  return read_uint(t, "limits", "upload_max_bytes", l.upload_max_bytes);
}

Status apply_log(const toml::table& t, LogConfig& l) {
  if (auto r = check_keys(t, "log", {"origin", "checkpoint_interval_ms", "checkpoint_events", "witnesses",
                                      "witness_quorum", "record_pulls"});
      !r)
    return r;
  Status r;
  if (!(r = read_string(t, "log", "origin", l.origin))) return r;
  if (!(r = read_uint(t, "log", "checkpoint_interval_ms", l.checkpoint_interval_ms))) return r;
  if (!(r = read_uint(t, "log", "checkpoint_events", l.checkpoint_events))) return r;
  if (!(r = read_uint(t, "log", "witness_quorum", l.witness_quorum))) return r;
  if (const toml::node* n = t.get("record_pulls")) {
    auto v = n->value<bool>();
    if (!v) return fail(ErrorCode::kInvalidArgument, "config: log.record_pulls must be true or false");
    l.record_pulls = *v;
  }
  if (const toml::node* n = t.get("witnesses")) {
    const toml::array* arr = n->as_array();
    if (!arr) return fail(ErrorCode::kInvalidArgument, "config: log.witnesses must be an array of keys");
    for (const auto& item : *arr) {
      auto v = item.value<std::string>();
      if (!v) return fail(ErrorCode::kInvalidArgument, "config: log.witnesses must hold strings");
      l.witnesses.push_back(*v);
    }
  }
  if (l.witness_quorum > l.witnesses.size())
    return fail(ErrorCode::kInvalidArgument, "config: log.witness_quorum exceeds the number of witnesses");
  if (l.checkpoint_interval_ms == 0 || l.checkpoint_events == 0)
    return fail(ErrorCode::kInvalidArgument, "config: log checkpoint interval and events must be > 0");
  return {};
}

Status apply_auth(const toml::table& t, AuthConfig& a) {
  if (auto r = check_keys(t, "auth", {"mode", "passwords", "service", "issuer", "realm", "token_ttl_seconds",
                                       "refresh_ttl_seconds", "certificate_identity", "certificate_email_domain"});
      !r)
    return r;
  Status r;
  std::string passwords = a.passwords ? "on" : "off";
  if (!(r = read_string(t, "auth", "mode", a.mode))) return r;
  if (!(r = read_string(t, "auth", "passwords", passwords))) return r;
  if (!(r = read_string(t, "auth", "service", a.service))) return r;
  if (!(r = read_string(t, "auth", "issuer", a.issuer))) return r;
  if (!(r = read_string(t, "auth", "realm", a.realm))) return r;
  if (!(r = read_uint(t, "auth", "token_ttl_seconds", a.token_ttl_seconds))) return r;
  if (!(r = read_uint(t, "auth", "refresh_ttl_seconds", a.refresh_ttl_seconds))) return r;
  if (!(r = read_string(t, "auth", "certificate_identity", a.certificate_identity))) return r;
  if (!(r = read_string(t, "auth", "certificate_email_domain", a.certificate_email_domain))) return r;
  if (a.mode != "token" && a.mode != "open")
    return fail(ErrorCode::kInvalidArgument, "config: auth.mode must be token or open");
  if (passwords != "on" && passwords != "off")
    return fail(ErrorCode::kInvalidArgument, "config: auth.passwords must be on or off");
  a.passwords = passwords == "on";
  if (a.certificate_identity != "uri" && a.certificate_identity != "cn" && a.certificate_identity != "email")
    return fail(ErrorCode::kInvalidArgument, "config: auth.certificate_identity must be uri, cn or email");
  if (a.service.empty() || a.issuer.empty())
    return fail(ErrorCode::kInvalidArgument, "config: auth.service and auth.issuer must not be empty");
  if (a.token_ttl_seconds < 10 || a.token_ttl_seconds > 86400)
    return fail(ErrorCode::kInvalidArgument, "config: auth.token_ttl_seconds must be within 10..86400");
  if (a.refresh_ttl_seconds < a.token_ttl_seconds)
    return fail(ErrorCode::kInvalidArgument, "config: auth.refresh_ttl_seconds must be >= token_ttl_seconds");
  if (!a.realm.empty() && !a.realm.starts_with("http://") && !a.realm.starts_with("https://"))
    return fail(ErrorCode::kInvalidArgument, "config: auth.realm must be an absolute http(s) URL");
  return {};
}

}  // namespace

Result<Config> Config::parse_toml(std::string_view text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("config: {} (line {})", e.description(),
                                                         e.source().begin.line));
  }
  if (auto r = check_keys(root, "", {"server", "auth", "storage", "limits", "log"}); !r) return std::unexpected(r.error());
  Config c;
  if (const auto* t = section_of(root, "server")) {
    if (auto r = apply_server(*t, c.server); !r) return std::unexpected(r.error());
  }
  if (const auto* t = section_of(root, "storage")) {
    if (auto r = check_keys(*t, "storage", {"data_dir"}); !r) return std::unexpected(r.error());
    std::string dir = c.storage.data_dir.string();
    if (auto r = read_string(*t, "storage", "data_dir", dir); !r) return std::unexpected(r.error());
    c.storage.data_dir = dir;
  }
  if (const auto* t = section_of(root, "limits")) {
    if (auto r = apply_limits(*t, c.limits); !r) return std::unexpected(r.error());
  }
  if (const auto* t = section_of(root, "log")) {
    if (auto r = apply_log(*t, c.log); !r) return std::unexpected(r.error());
  }
  if (const auto* t = section_of(root, "auth")) {
    if (auto r = apply_auth(*t, c.auth); !r) return std::unexpected(r.error());
  }
  if (c.limits.page_size_max == 0) return fail(ErrorCode::kInvalidArgument, "config: limits.page_size_max must be > 0");
  return c;
}

Result<Config> Config::load(const std::filesystem::path& path) {
  auto text = read_small_file(path, 1 << 20);
  if (!text) return std::unexpected(text.error());
  return parse_toml(*text);
}

}  // namespace custody
