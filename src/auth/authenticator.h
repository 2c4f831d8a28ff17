// Authenticator: turns credentials (Basic user and password or secret, a
// verified client certificate, the subject of a verified token) into the
// account they prove, or refuses them.
//
// Every refusal is kUnauthenticated with the same message, whatever the
// reason (unknown account, wrong secret, disabled, expired, passwords off),
// so that answers do not tell which accounts exist. Password guessing is
// throttled per account and per source address; a valid secret passes
// even while its account is throttled (secrets cannot be guessed, and a
// lockout must not be a way to shut robots or administrators out).
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <string>
#include <string_view>

#include "auth/identity.h"
#include "auth/password.h"
#include "common/error.h"
#include "common/worker_slots.h"
#include "meta/meta_store.h"
#include "pki/subject.h"

namespace custody::auth {

// An authenticated account and how it proved itself: "password", "secret"
// (enrolment secret), "robot" (robot secret), "certificate:<sha256 prefix>",
// "token" or "refresh".
struct Identity {
  Principal principal;
  std::string method;
};

struct AuthenticatorOptions {
  bool passwords = true;  // false: passwords never authenticate
  pki::SubjectMapping certificate_identity = pki::SubjectMapping::kSanUri;
  std::string certificate_email_domain;
  ThrottlePolicy throttle;
};

class Authenticator {
 public:
  Authenticator(meta::MetaStore& meta, AuthenticatorOptions options)
      : meta_(meta),
        options_(std::move(options)),
        throttle_(options_.throttle),
        password_slots_(std::max(2u, std::thread::hardware_concurrency())) {}

  // Basic credentials from `source` (a client address). kResourceExhausted
  // while the account or the source is throttled (see retry_after_s).
  Result<Identity> basic(std::string_view user, std::string_view secret, std::string_view source);
  // Seconds until `user` from `source` may try again; 0 if it may now.
  int64_t retry_after_s(std::string_view user, std::string_view source) const;

  // The DER of a client certificate the TLS handshake verified.
  Result<Identity> certificate(std::string_view der);

  // The account `name` if it exists and is enabled and unexpired.
  Result<Identity> account(const std::string& name, std::string method);

 private:
  struct Stored {
    std::optional<Principal> principal;
    std::string password_hash;
    std::string secret_hash;
  };
  Result<Stored> load(const std::string& name);
  std::string check_secret(const Stored& s, std::string_view secret) const;

  meta::MetaStore& meta_;
  const AuthenticatorOptions options_;
  LoginThrottle throttle_;
  // Argon2id checks running at once (each holds 64 MiB): one per core, so
  // a flood of logins costs time, not memory.
  mutable WorkerSlots password_slots_;
};

// The source address without its port ("10.0.0.1:4242" -> "10.0.0.1",
// "[::1]:4242" -> "::1"), which is what throttling counts by.
std::string throttle_source(std::string_view remote_address);

}  // namespace custody::auth
