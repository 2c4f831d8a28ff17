#include "auth/password.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace custody::auth {
namespace {

TEST(PasswordTest, HashesWithArgon2idAndVerifies) {
  auto hash = hash_password("correct horse battery staple");
  ASSERT_TRUE(hash) << hash.error().message;
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=65536,t=2,p=1$")) << *hash;
  EXPECT_TRUE(verify_password("correct horse battery staple", *hash));
  EXPECT_FALSE(verify_password("correct horse battery stapler", *hash));
  EXPECT_FALSE(verify_password("", *hash));
  EXPECT_FALSE(password_needs_rehash(*hash));
  // Salted: the same password never hashes the same way twice.
  EXPECT_NE(*hash_password("correct horse battery staple"), *hash);
}

TEST(PasswordTest, RefusesBadPasswordsAndHashes) {
  EXPECT_FALSE(hash_password(""));
  EXPECT_FALSE(hash_password(std::string(kMaxPasswordLength + 1, 'x')));
  auto hash = hash_password("pw");
  ASSERT_TRUE(hash);
  EXPECT_FALSE(verify_password(std::string(kMaxPasswordLength + 1, 'x'), *hash));
  EXPECT_FALSE(verify_password("pw", ""));
  EXPECT_FALSE(verify_password("pw", "pw"));
  EXPECT_FALSE(verify_password("pw", hash->substr(0, hash->size() - 2)));
  std::string with_nul = *hash;
  with_nul.insert(12, 1, '\0');
  EXPECT_FALSE(verify_password("pw", with_nul));
  // Argon2i (not id) strings are refused even if libsodium could check them.
  std::string argon2i = *hash;
  argon2i.replace(0, 10, "$argon2i$");
  EXPECT_FALSE(verify_password("pw", argon2i));
  EXPECT_TRUE(password_needs_rehash("$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
  EXPECT_TRUE(password_needs_rehash("garbage"));
}

TEST(PasswordTest, BurnCheckDoesNotCrash) {
  burn_password_check("anything");
  burn_password_check(std::string(kMaxPasswordLength * 2, 'x'));
}

TEST(SecretTest, GeneratesRecognisableDistinctSecrets) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto s = generate_secret();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->size(), kSecretLength);
    EXPECT_TRUE(s->starts_with("cst_"));
    EXPECT_TRUE(looks_like_secret(*s)) << *s;
    seen.insert(*s);
  }
  EXPECT_EQ(seen.size(), 100u);
  for (const char* bad : {"", "cst_", "cst_short", "abc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "cst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "cst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"})  // non-canonical last digit
    EXPECT_FALSE(looks_like_secret(bad)) << bad;
}

TEST(SecretTest, HashesAndVerifies) {
  // SHA-256("abc"), FIPS 180-2.
  EXPECT_EQ(hash_secret("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto s = *generate_secret();
  std::string stored = hash_secret(s);
  EXPECT_TRUE(verify_secret(s, stored));
  EXPECT_FALSE(verify_secret(s + "x", stored));
  EXPECT_FALSE(verify_secret(s, stored.substr(0, stored.size() - 1)));
  EXPECT_FALSE(verify_secret(s, ""));
  EXPECT_FALSE(verify_secret(s, s));
}

TEST(SecretTest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

constexpr int64_t kT0 = 1'000'000;

TEST(LoginThrottleTest, LocksAnAccountAfterFreeFailuresThenBacksOff) {
  LoginThrottle t;  // 5 free, 30 s doubling to 15 min
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(t.retry_after_ms("alice", "10.0.0.1", kT0), 0);
    t.record_failure("alice", "10.0.0.1", kT0);
  }
  EXPECT_EQ(t.retry_after_ms("alice", "10.0.0.1", kT0), 0);
  t.record_failure("alice", "10.0.0.1", kT0);  // 5th
  EXPECT_EQ(t.retry_after_ms("alice", "10.0.0.2", kT0), 30'000);
  EXPECT_EQ(t.retry_after_ms("alice", "10.0.0.2", kT0 + 10'000), 20'000);
  EXPECT_EQ(t.retry_after_ms("bob", "10.0.0.2", kT0), 0);  // other accounts unaffected
  int64_t now = kT0 + 30'000;
  EXPECT_EQ(t.retry_after_ms("alice", "10.0.0.2", now), 0);
  int64_t expected = 60'000;
  for (int i = 0; i < 10; ++i) {
    t.record_failure("alice", "10.0.0.3", now);
    EXPECT_EQ(t.retry_after_ms("alice", "10.0.0.4", now), std::min<int64_t>(expected, 15 * 60'000));
    now += t.retry_after_ms("alice", "10.0.0.4", now);
    expected *= 2;
  }
}

TEST(LoginThrottleTest, SuccessClearsTheAccountOnly) {
  ThrottlePolicy p;
  p.source_free_failures = 3;
  LoginThrottle t(p);
  for (int i = 0; i < 5; ++i) t.record_failure("alice", "10.0.0.1", kT0);
  EXPECT_GT(t.retry_after_ms("alice", "10.0.0.9", kT0), 0);
  t.record_success("alice");
  EXPECT_EQ(t.retry_after_ms("alice", "10.0.0.9", kT0), 0);
  EXPECT_GT(t.retry_after_ms("alice", "10.0.0.1", kT0), 0);  // the source is still locked
}

TEST(LoginThrottleTest, LocksASourceSprayingManyAccounts) {
  LoginThrottle t;  // 20 free per source
  for (int i = 0; i < 19; ++i) t.record_failure("user" + std::to_string(i), "192.0.2.7", kT0);
  EXPECT_EQ(t.retry_after_ms("victim", "192.0.2.7", kT0), 0);
  t.record_failure("user19", "192.0.2.7", kT0);
  EXPECT_EQ(t.retry_after_ms("victim", "192.0.2.7", kT0), 30'000);
  EXPECT_EQ(t.retry_after_ms("victim", "192.0.2.8", kT0), 0);
}

TEST(LoginThrottleTest, ForgetsAfterAQuietPeriod) {
  LoginThrottle t;
  for (int i = 0; i < 4; ++i) t.record_failure("alice", "s", kT0);
  int64_t later = kT0 + 15 * 60'000 + 1;
  t.record_failure("alice", "s", later);  // counts as the first again
  EXPECT_EQ(t.retry_after_ms("alice", "s", later), 0);
  // But failures spaced just under the quiet period keep accumulating.
  LoginThrottle u;
  int64_t now = kT0;
  for (int i = 0; i < 5; ++i, now += 15 * 60'000) u.record_failure("bob", "s2", now);
  EXPECT_GT(u.retry_after_ms("bob", "s2", now - 15 * 60'000), 0);
}

TEST(LoginThrottleTest, BoundsMemory) {
  ThrottlePolicy p;
  p.max_tracked = 10;
  LoginThrottle t(p);
  for (int i = 0; i < 5; ++i) t.record_failure("alice", "s", kT0);
  EXPECT_GT(t.retry_after_ms("alice", "x", kT0), 0);
  // A flood of new names evicts the longest idle entries, never grows past the cap.
  for (int i = 0; i < 1000; ++i) t.record_failure("u" + std::to_string(i), "src" + std::to_string(i), kT0 + 1 + i);
  EXPECT_EQ(t.retry_after_ms("alice", "x", kT0), 0);
  // The newest entries are still tracked: four more failures lock u999.
  for (int i = 0; i < 4; ++i) t.record_failure("u999", "z", kT0 + 1001);
  EXPECT_GT(t.retry_after_ms("u999", "y", kT0 + 1001), 0);
}

TEST(LoginThrottleTest, IsThreadSafe) {
  LoginThrottle t;
  std::vector<std::thread> threads;
  for (int n = 0; n < 8; ++n) {
    threads.emplace_back([&t, n] {
      for (int i = 0; i < 2000; ++i) {
        std::string account = "acct" + std::to_string(i % 50);
        std::string source = "src" + std::to_string(n);
        (void)t.retry_after_ms(account, source, kT0 + i);
        if (i % 7 == 0) t.record_success(account);
        else t.record_failure(account, source, kT0 + i);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(t.retry_after_ms("acct1", "src0", kT0 + 2000), 0);
}

}  // namespace
}  // namespace custody::auth
