// Passwords, robot secrets, and the throttle in front of both (libsodium).
//
// Passwords are hashed with Argon2id at libsodium's INTERACTIVE limits
// (2 passes, 64 MiB). Docker clients send Basic credentials to the token
// endpoint for every token they fetch (each pull or push session), so a
// password check sits on the request path: MODERATE (3 passes, 256 MiB,
// ~0.7 s) would make every pull slow and hand anyone who can reach the
// endpoint a cheap memory exhaustion. INTERACTIVE is what libsodium
// recommends for online logins and is above OWASP's Argon2id minimum
// (19 MiB, 2 passes); callers should still bound how many checks run at
// once. Stored hashes carry their parameters, so they can be raised later
// (password_needs_rehash).
//
// Robot and enrolment secrets are 32 random bytes: nobody can guess them,
// so a slow hash would add nothing but latency on every request a robot
// makes. They are stored as SHA-256, which still keeps a stolen database
// from yielding usable credentials.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/error.h"

namespace custody::auth {

inline constexpr size_t kMaxPasswordLength = 1024;

// The PHC string "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>".
// kInvalidArgument for an empty or over-long password; kResourceExhausted
// if the memory for the hash cannot be had; kInternal if libsodium cannot
// initialise.
Result<std::string> hash_password(std::string_view password);

// True only if `password` matches `stored_hash`, an Argon2id string from
// hash_password. False for anything else, including other Argon2 variants.
bool verify_password(std::string_view password, std::string_view stored_hash);

// True if `stored_hash` uses other limits than hash_password does now:
// replace it after the next successful login.
bool password_needs_rehash(std::string_view stored_hash);

// Costs what verify_password costs, against a hash nobody knows the
// password of. Call it when the account does not exist (or has no
// password), so response times do not reveal which accounts exist.
void burn_password_check(std::string_view password);

// Secrets are "cst_" + base64url of 32 random bytes (47 characters): the
// prefix lets secret scanners and log filters recognise them.
inline constexpr std::string_view kSecretPrefix = "cst_";
inline constexpr size_t kSecretLength = 47;

// kInternal if libsodium cannot initialise.
Result<std::string> generate_secret();

// Has the exact shape of a generated secret (says nothing about validity).
bool looks_like_secret(std::string_view text);

// "sha256:<64 lowercase hex>" of the secret, for storage.
std::string hash_secret(std::string_view secret);

// True if `secret` hashes to `stored_hash`; compared in constant time.
bool verify_secret(std::string_view secret, std::string_view stored_hash);

// Compares the contents in time independent of where they differ (the
// lengths are not secret).
bool constant_time_equal(std::string_view a, std::string_view b);

struct ThrottlePolicy {
  int account_free_failures = 5;             // failures before an account is locked out
  int source_free_failures = 20;             // an address may front many users (NAT, proxies)
  int64_t forget_after_ms = 15 * 60 * 1000;  // quiet time after which failures are forgotten
  int64_t first_lockout_ms = 30 * 1000;      // doubles with each further failure...
  int64_t max_lockout_ms = 15 * 60 * 1000;   // ...up to this
  size_t max_tracked = 100'000;              // accounts and sources each, to bound memory
};

// Slows down password guessing: per account (one target, many sources)
// and per source address (one source, many accounts). Once a key has had
// its free failures, each further failure locks it out for
// first_lockout_ms, doubling, capped at max_lockout_ms. Lockouts are
// temporary on purpose: a permanent one would let anyone lock a victim out.
//
// `source` is whatever the caller groups addresses by (an IPv4 address, an
// IPv6 /64). Times are passed in, for testability. Thread-safe.
class LoginThrottle {
 public:
  explicit LoginThrottle(ThrottlePolicy policy = {}) : policy_(policy) {}

  // 0 if an attempt may proceed at `now_ms`, else how long until it may
  // (for Retry-After). Check before verifying a password, so a locked-out
  // attempt costs no hash and reveals nothing.
  int64_t retry_after_ms(std::string_view account, std::string_view source, int64_t now_ms) const;

  void record_failure(std::string_view account, std::string_view source, int64_t now_ms);

  // Forgets the account's failures. The source's stay: one success must not
  // wash away a source's guesses at other accounts.
  void record_success(std::string_view account);

 private:
  struct Entry {
    int failures = 0;
    int64_t last_failure_ms = 0;
    int64_t locked_until_ms = 0;
  };
  using Table = std::map<std::string, Entry, std::less<>>;

  void fail_in(Table& table, std::string_view key, int free_failures, int64_t now_ms);
  void make_room(Table& table, int64_t now_ms);
  bool forgotten(const Entry& e, int64_t now_ms) const;
  int64_t wait_ms(const Table& table, std::string_view key, int64_t now_ms) const;

  const ThrottlePolicy policy_;
  mutable std::mutex mu_;
  Table accounts_;  // guarded by mu_
  Table sources_;   // guarded by mu_
};

}  // namespace custody::auth
