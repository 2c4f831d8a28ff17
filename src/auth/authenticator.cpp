#include "auth/authenticator.h"

#include "common/time.h"

namespace custody::auth {
namespace {

std::unexpected<Error> refused() { return fail(ErrorCode::kUnauthenticated, "invalid credentials"); }

}  // namespace

std::string throttle_source(std::string_view remote_address) {
  if (remote_address.starts_with('[')) {
    auto end = remote_address.find(']');
    return std::string(remote_address.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
  }
  auto colon = remote_address.rfind(':');
  return std::string(colon == std::string_view::npos ? remote_address : remote_address.substr(0, colon));
}

Result<Authenticator::Stored> Authenticator::load(const std::string& name) {
  Stored s;
  auto r = meta_.read([&](meta::Txn& t) -> Status {
    auto p = t.identity().principal(name);
    if (!p) return std::unexpected(p.error());
    s.principal = std::move(*p);
    if (!s.principal) return {};
    auto ph = t.identity().password_hash(name);
    if (!ph) return std::unexpected(ph.error());
    auto sh = t.identity().secret_hash(name);
    if (!sh) return std::unexpected(sh.error());
    s.password_hash = ph->value_or("");
    s.secret_hash = sh->value_or("");
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return s;
}

// The method that `secret` proves for the stored account, or "".
std::string Authenticator::check_secret(const Stored& s, std::string_view secret) const {
  const Principal& p = *s.principal;
  if (looks_like_secret(secret)) {
    if (!s.secret_hash.empty() && verify_secret(secret, s.secret_hash))
      return p.kind == PrincipalKind::kRobot ? "robot" : "secret";
    return "";
  }
  if (p.kind == PrincipalKind::kRobot || !options_.passwords || s.password_hash.empty()) {
    WorkerSlots::Hold slot(&password_slots_);
    burn_password_check(secret);
    return "";
  }
  WorkerSlots::Hold slot(&password_slots_);
  return verify_password(secret, s.password_hash) ? "password" : "";
}

Result<Identity> Authenticator::basic(std::string_view user, std::string_view secret, std::string_view source) {
  if (user.empty() || user.size() > 200 || secret.empty() || secret.size() > kMaxPasswordLength) return refused();
  int64_t now = now_unix_ms();
  // A secret (256 random bits) cannot be guessed, so a locked-out account
  // still takes its right secret: nobody can lock out a robot or the
  // administrator by failing logins under their name.
  if (!looks_like_secret(secret) && throttle_.retry_after_ms(user, source, now) > 0)
    return fail(ErrorCode::kResourceExhausted, "too many failed logins; try again later");
  auto stored = load(std::string(user));
  if (!stored) return std::unexpected(stored.error());
  std::string method;
  if (stored->principal && !stored->principal->disabled && !stored->principal->expired(now)) {
    method = check_secret(*stored, secret);
  } else if (!looks_like_secret(secret)) {
    WorkerSlots::Hold slot(&password_slots_);
    burn_password_check(secret);
  }
  if (method.empty()) {
    throttle_.record_failure(user, source, now);
    return refused();
  }
  throttle_.record_success(user);
  return Identity{std::move(*stored->principal), std::move(method)};
}

int64_t Authenticator::retry_after_s(std::string_view user, std::string_view source) const {
  int64_t ms = throttle_.retry_after_ms(user, source, now_unix_ms());
  return ms <= 0 ? 0 : (ms + 999) / 1000;
}

Result<Identity> Authenticator::certificate(std::string_view der) {
  auto cert = pki::parse_peer_certificate(der);
  if (!cert) return refused();
  bool revoked = false;
  auto r = meta_.read([&](meta::Txn& t) -> Status {
    auto v = t.identity().certificate_revoked(cert->serial_hex);
    if (!v) return std::unexpected(v.error());
    revoked = *v;
    return {};
  });
  if (!r) return std::unexpected(r.error());
  if (revoked) return refused();
  auto name = pki::map_subject_to_identity(*cert, options_.certificate_identity, options_.certificate_email_domain);
  if (!name) return refused();
  return account(*name, "certificate:" + cert->sha256_fingerprint.substr(0, 16));
}

Result<Identity> Authenticator::account(const std::string& name, std::string method) {
  auto stored = load(name);
  if (!stored) return std::unexpected(stored.error());
  if (!stored->principal || stored->principal->disabled || stored->principal->expired(now_unix_ms()))
    return refused();
  return Identity{std::move(*stored->principal), std::move(method)};
}

}  // namespace custody::auth
