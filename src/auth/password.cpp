#include "auth/password.h"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "auth/base64url.h"

namespace custody::auth {
namespace {

constexpr unsigned long long kOpsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr size_t kMemLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
constexpr std::string_view kArgon2idPrefix = "$argon2id$";
constexpr std::string_view kSecretHashPrefix = "sha256:";
constexpr size_t kSecretBytes = 32;

// sodium_init() is safe to call repeatedly, but once is enough; the static
// makes the first call thread-safe and remembers whether it worked.
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

bool is_stored_hash(std::string_view stored) {
  return stored.starts_with(kArgon2idPrefix) && stored.size() < crypto_pwhash_STRBYTES &&
         stored.find('\0') == std::string_view::npos;
}

const std::string& decoy_hash() {
  static const std::string hash = [] {
    auto secret = generate_secret();
    auto h = secret ? hash_password(*secret) : Result<std::string>();
    return h ? *h : std::string();
  }();
  return hash;
}

}  // namespace

Result<std::string> hash_password(std::string_view password) {
  if (password.empty()) return fail(ErrorCode::kInvalidArgument, "password is empty");
  if (password.size() > kMaxPasswordLength) return fail(ErrorCode::kInvalidArgument, "password is too long");
  if (!sodium_ready()) return fail(ErrorCode::kInternal, "libsodium cannot initialise");
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), kOpsLimit, kMemLimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return fail(ErrorCode::kResourceExhausted, "not enough memory to hash a password");
  return std::string(out.data());
}

bool verify_password(std::string_view password, std::string_view stored_hash) {
  if (password.size() > kMaxPasswordLength || !is_stored_hash(stored_hash) || !sodium_ready()) return false;
  // libsodium reads the hash as a NUL-terminated string.
  std::string stored(stored_hash);
  return crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view stored_hash) {
  if (!is_stored_hash(stored_hash) || !sodium_ready()) return true;
  std::string stored(stored_hash);
  return crypto_pwhash_str_needs_rehash(stored.c_str(), kOpsLimit, kMemLimit) != 0;
}

void burn_password_check(std::string_view password) {
  const std::string& decoy = decoy_hash();
  // A decoy that could not be made would make this check fast, which only
  // weakens the timing disguise; refusing the login is the caller's job.
  if (!decoy.empty()) (void)verify_password(password.substr(0, kMaxPasswordLength), decoy);
}

Result<std::string> generate_secret() {
  if (!sodium_ready()) return fail(ErrorCode::kInternal, "libsodium cannot initialise");
  std::array<uint8_t, kSecretBytes> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string secret = std::string(kSecretPrefix) + base64url_encode(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return secret;
}

bool looks_like_secret(std::string_view text) {
  if (text.size() != kSecretLength || !text.starts_with(kSecretPrefix)) return false;
  auto decoded = base64url_decode(text.substr(kSecretPrefix.size()));
  return decoded && decoded->size() == kSecretBytes;
}

std::string hash_secret(std::string_view secret) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(kSecretHashPrefix) + hex.data();
}

bool verify_secret(std::string_view secret, std::string_view stored_hash) {
  return constant_time_equal(hash_secret(secret), stored_hash);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// LoginThrottle.

bool LoginThrottle::forgotten(const Entry& e, int64_t now_ms) const {
  return now_ms >= e.locked_until_ms && now_ms - e.last_failure_ms > policy_.forget_after_ms;
}

int64_t LoginThrottle::wait_ms(const Table& table, std::string_view key, int64_t now_ms) const {
  auto it = table.find(key);
  if (it == table.end()) return 0;
  return std::max<int64_t>(0, it->second.locked_until_ms - now_ms);
}

int64_t LoginThrottle::retry_after_ms(std::string_view account, std::string_view source, int64_t now_ms) const {
  std::lock_guard lock(mu_);
  return std::max(wait_ms(accounts_, account, now_ms), wait_ms(sources_, source, now_ms));
}

void LoginThrottle::record_failure(std::string_view account, std::string_view source, int64_t now_ms) {
  std::lock_guard lock(mu_);
  fail_in(accounts_, account, policy_.account_free_failures, now_ms);
  fail_in(sources_, source, policy_.source_free_failures, now_ms);
}

void LoginThrottle::record_success(std::string_view account) {
  std::lock_guard lock(mu_);
  if (auto it = accounts_.find(account); it != accounts_.end()) accounts_.erase(it);
}

void LoginThrottle::fail_in(Table& table, std::string_view key, int free_failures, int64_t now_ms) {
  auto it = table.find(key);
  if (it == table.end()) {
    make_room(table, now_ms);
    it = table.emplace(std::string(key), Entry{}).first;
  } else if (forgotten(it->second, now_ms)) {
    it->second = Entry{};
  }
  Entry& e = it->second;
  e.failures = std::min(e.failures + 1, 1 << 20);
  e.last_failure_ms = now_ms;
  if (e.failures < free_failures) return;
  int doublings = std::min(e.failures - free_failures, 40);
  int64_t lockout = policy_.max_lockout_ms;
  if (policy_.first_lockout_ms <= (policy_.max_lockout_ms >> doublings))
    lockout = policy_.first_lockout_ms << doublings;
  e.locked_until_ms = std::max(e.locked_until_ms, now_ms + lockout);
}

// Keeps a table within max_tracked: forgotten entries go first; if that is
// not enough (a flood of distinct names), the longest-idle entry goes.
// Linear, but it only runs when the table is full, and each failure it
// accounts for has already cost a password hash.
void LoginThrottle::make_room(Table& table, int64_t now_ms) {
  if (table.size() < policy_.max_tracked) return;
  std::erase_if(table, [&](const auto& kv) { return forgotten(kv.second, now_ms); });
  if (table.size() < policy_.max_tracked || table.empty()) return;
  auto oldest = std::min_element(table.begin(), table.end(), [](const auto& a, const auto& b) {
    return a.second.last_failure_ms < b.second.last_failure_ms;
  });
  table.erase(oldest);
}

}  // namespace custody::auth
