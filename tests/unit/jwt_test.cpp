#include "auth/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"

namespace custody::auth {
namespace {

using json = nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;

const TokenKey& test_key() {
  static const TokenKey key = *TokenKey::generate();
  return key;
}

const TokenKey& other_key() {
  static const TokenKey key = *TokenKey::generate();
  return key;
}

Claims good_claims() {
  Claims c;
  c.iss = "custody-token";
  c.sub = "alice";
  c.aud = {"custody.example"};
  c.iat = kNow;
  c.nbf = kNow;
  c.exp = kNow + 300;
  c.jti = "3f1c0f4e-6a0b-4c1e-9d43-0e6a7c1c2a11";
  c.access = {*parse_scope("repository:org/app:pull,push")};
  return c;
}

json good_header(const TokenKey& key = test_key()) { return {{"alg", "ES256"}, {"kid", key.kid()}, {"typ", "JWT"}}; }

json good_payload() {
  return json::parse(R"({"iss":"custody-token","sub":"alice","aud":"custody.example","iat":1800000000,
    "nbf":1800000000,"exp":1800000300,"jti":"x",
    "access":[{"type":"repository","name":"org/app","actions":["pull","push"]}]})");
}

std::string b64(std::string_view s) { return base64url_encode(s); }

// A token with any header and payload text, ES256-signed by `key`, exactly
// as an attacker holding that key would make it.
std::string forge_text(std::string_view header, std::string_view payload, const TokenKey& key = test_key()) {
  std::string input = b64(header) + "." + b64(payload);
  return input + "." + base64url_encode(*key.sign(input));
}

std::string forge(const json& header, const json& payload, const TokenKey& key = test_key()) {
  return forge_text(header.dump(), payload.dump(), key);
}

TokenVerifier verifier() { return TokenVerifier({test_key().public_key()}, "custody-token", "custody.example"); }

// Expects a refusal whose message contains `why`.
void expect_refused(const std::string& token, std::string_view why, int64_t now = kNow) {
  auto r = verifier().verify(token, now);
  ASSERT_FALSE(r) << "accepted a token that should fail with: " << why;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
}

TEST(JwtTest, SignedTokensVerify) {
  TokenSigner signer(test_key());
  auto token = signer.sign(good_claims());
  ASSERT_TRUE(token) << token.error().message;
  auto claims = verifier().verify(*token, kNow + 10);
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ(*claims, good_claims());
  EXPECT_EQ(signer.kid(), test_key().kid());
}

TEST(JwtTest, HeaderAndAudienceShape) {
  auto token = *TokenSigner(test_key()).sign(good_claims());
  auto header = base64url_decode(token.substr(0, token.find('.')));
  ASSERT_TRUE(header);
  EXPECT_EQ(json::parse(*header), good_header());
  size_t a = token.find('.'), b = token.rfind('.');
  auto payload = json::parse(*base64url_decode(token.substr(a + 1, b - a - 1)));
  EXPECT_EQ(payload["aud"], "custody.example");  // a single audience is a plain string
  EXPECT_EQ(payload["access"][0]["name"], "org/app");
}

TEST(JwtTest, AudienceMayBeAnArray) {
  Claims c = good_claims();
  c.aud = {"other", "custody.example"};
  auto claims = verifier().verify(*TokenSigner(test_key()).sign(c), kNow);
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ(claims->aud, c.aud);
  c.aud = {"other", "another"};
  expect_refused(*TokenSigner(test_key()).sign(c), "another audience");
}

TEST(JwtTest, RefusesAlgNone) {
  json h = {{"alg", "none"}, {"typ", "JWT"}, {"kid", test_key().kid()}};
  expect_refused(b64(h.dump()) + "." + b64(good_payload().dump()) + ".", "empty part");
  expect_refused(b64(h.dump()) + "." + b64(good_payload().dump()) + ".AAAA", "alg none");
  // Even with a valid ES256 signature over it.
  expect_refused(forge(h, good_payload()), "alg none");
}

TEST(JwtTest, RefusesHs256SignedWithThePublicKey) {
  // The classic key-confusion forgery: HMAC keyed with the public key PEM.
  std::string pem = test_key().public_key().pem();
  json h = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", test_key().kid()}};
  std::string input = b64(h.dump()) + "." + b64(good_payload().dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  ASSERT_NE(HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len),
            nullptr);
  expect_refused(input + "." + base64url_encode(std::span<const uint8_t>(mac, mac_len)), "not ES256");
  for (const char* alg : {"RS256", "ES384", "es256", "EdDSA", "PS256"}) {
    json other = good_header();
    other["alg"] = alg;
    expect_refused(forge(other, good_payload()), "not ES256");
  }
  json missing = good_header();
  missing.erase("alg");
  expect_refused(forge(missing, good_payload()), "no alg");
  json numeric = good_header();
  numeric["alg"] = 1;
  expect_refused(forge(numeric, good_payload()), "alg must be a string");
}

TEST(JwtTest, RefusesUnknownKid) {
  expect_refused(forge(good_header(other_key()), good_payload(), other_key()), "unknown key");
  json h = good_header();
  h["kid"] = "AAAA:BBBB";
  expect_refused(forge(h, good_payload()), "unknown key");
  h.erase("kid");
  expect_refused(forge(h, good_payload()), "no kid");
  h["kid"] = 5;
  expect_refused(forge(h, good_payload()), "kid must be a string");
}

TEST(JwtTest, RefusesKeysCarriedInTheHeader) {
  // An attacker signs with their own key and ships it in the header.
  json jwk = json::parse(other_key().public_key().jwk());
  json h = good_header(other_key());
  h["jwk"] = jwk;
  expect_refused(forge(h, good_payload(), other_key()), "\"jwk\"");
  // Even naming the pinned kid and signing correctly, the member is refused.
  json pinned = good_header();
  pinned["jwk"] = json::parse(test_key().public_key().jwk());
  expect_refused(forge(pinned, good_payload()), "\"jwk\"");
  for (const char* member : {"jku", "x5u", "x5c"}) {
    json with = good_header();
    with[member] = "https://attacker.example/key";
    expect_refused(forge(with, good_payload()), std::string("\"") + member + "\"");
  }
  json crit = good_header();
  crit["crit"] = {"exp"};
  expect_refused(forge(crit, good_payload()), "critical");
  json extra = good_header();
  extra["cty"] = "JWT";
  expect_refused(forge(extra, good_payload()), "unexpected member");
  json typ = good_header();
  typ["typ"] = "at+jwt";
  expect_refused(forge(typ, good_payload()), "typ");
}

TEST(JwtTest, RefusesBadSignatures) {
  std::string token = *TokenSigner(test_key()).sign(good_claims());
  std::string sig = token.substr(token.rfind('.') + 1);
  std::string input = token.substr(0, token.rfind('.'));
  // Truncated by characters, and by bytes (63 of 64).
  expect_refused(input + "." + sig.substr(0, sig.size() - 1), "signature");
  auto raw = *base64url_decode(sig);
  expect_refused(input + "." + base64url_encode(std::span(raw).first(63)), "not 64 bytes");
  auto longer = raw;
  longer.push_back(0);
  expect_refused(input + "." + base64url_encode(longer), "not 64 bytes");
  // A flipped bit, r and s swapped, zeros, and the order n itself as s.
  auto flipped = raw;
  flipped[10] ^= 1;
  expect_refused(input + "." + base64url_encode(flipped), "signature is invalid");
  std::vector<uint8_t> swapped(raw.begin() + 32, raw.end());
  swapped.insert(swapped.end(), raw.begin(), raw.begin() + 32);
  expect_refused(input + "." + base64url_encode(swapped), "signature is invalid");
  expect_refused(input + "." + base64url_encode(std::vector<uint8_t>(64, 0)), "signature is invalid");
  auto n = *base64url_decode("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE");  // P-256 group order
  std::vector<uint8_t> big(raw.begin(), raw.begin() + 32);
  big.insert(big.end(), n.begin(), n.end());
  expect_refused(input + "." + base64url_encode(big), "signature is invalid");
  // The signature of another key under the pinned kid.
  expect_refused(forge(good_header(), good_payload(), other_key()), "signature is invalid");
}

TEST(JwtTest, RefusesTamperedPayload) {
  std::string token = *TokenSigner(test_key()).sign(good_claims());
  size_t a = token.find('.'), b = token.rfind('.');
  json payload = json::parse(*base64url_decode(token.substr(a + 1, b - a - 1)));
  payload["access"][0]["name"] = "org/prod";
  expect_refused(token.substr(0, a + 1) + b64(payload.dump()) + token.substr(b), "signature is invalid");
  payload = good_payload();
  payload["sub"] = "admin";
  expect_refused(token.substr(0, a + 1) + b64(payload.dump()) + token.substr(b), "signature is invalid");
  // A different header with the same payload and signature.
  json h = good_header();
  h.erase("typ");
  expect_refused(b64(h.dump()) + token.substr(a), "signature is invalid");
}

TEST(JwtTest, RefusesByTime) {
  TokenSigner signer(test_key());
  std::string token = *signer.sign(good_claims());  // valid [kNow, kNow + 300)
  const int64_t leeway = kDefaultLeewaySeconds;
  EXPECT_TRUE(verifier().verify(token, kNow + 300 + leeway - 1));
  expect_refused(token, "expired", kNow + 300 + leeway);
  expect_refused(token, "expired", kNow + 100000);
  EXPECT_TRUE(verifier().verify(token, kNow - leeway));
  expect_refused(token, "not valid yet", kNow - leeway - 1);
  Claims future = good_claims();
  future.iat = kNow + 1000;
  future.nbf = kNow - 10;
  expect_refused(*signer.sign(future), "issued in the future");
  json backwards = good_payload();
  backwards["nbf"] = kNow + 20;
  backwards["exp"] = kNow + 10;
  expect_refused(forge(good_header(), backwards), "expire after it becomes valid");
  json no_jti = good_payload();
  no_jti["jti"] = "";
  expect_refused(forge(good_header(), no_jti), "jti");
  json empty_aud = good_payload();
  empty_aud["aud"] = {"custody.example", ""};
  expect_refused(forge(good_header(), empty_aud), "audiences");
  TokenVerifier strict({test_key().public_key()}, "custody-token", "custody.example", 0);
  EXPECT_FALSE(strict.verify(token, kNow + 300));
  EXPECT_TRUE(strict.verify(token, kNow + 299));
  EXPECT_FALSE(strict.verify(token, kNow - 1));
}

TEST(JwtTest, RefusesWrongIssuerAndAudience) {
  Claims c = good_claims();
  c.iss = "someone-else";
  expect_refused(*TokenSigner(test_key()).sign(c), "another issuer");
  c = good_claims();
  c.aud = {"other-registry.example"};
  expect_refused(*TokenSigner(test_key()).sign(c), "another audience");
  json p = good_payload();
  p["aud"] = json::array();
  expect_refused(forge(good_header(), p), "\"aud\"");
  p["aud"] = 7;
  expect_refused(forge(good_header(), p), "\"aud\"");
  p["aud"] = {"custody.example", 7};
  expect_refused(forge(good_header(), p), "\"aud\"");
}

TEST(JwtTest, RefusesMissingAndMistypedClaims) {
  for (const char* claim : {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}) {
    json p = good_payload();
    p.erase(claim);
    expect_refused(forge(good_header(), p), std::string("no \"") + claim + "\"");
  }
  for (const char* claim : {"iss", "sub", "jti"}) {
    json p = good_payload();
    p[claim] = 1;
    expect_refused(forge(good_header(), p), "must be a string");
  }
  for (const char* claim : {"exp", "nbf", "iat"}) {
    for (json bad : {json("1800000300"), json(1800000300.5), json(true), json(nullptr), json(-1),
                     json(kMaxNumericDate + 1), json(uint64_t{18446744073709551615u})}) {
      json p = good_payload();
      p[claim] = bad;
      expect_refused(forge(good_header(), p), std::string("\"") + claim + "\"");
    }
  }
  json p = good_payload();
  p["access"] = {{"type", "repository"}};
  expect_refused(forge(good_header(), p), "\"access\"");
  p["access"] = nullptr;
  expect_refused(forge(good_header(), p), "\"access\"");
  p["access"] = json::parse(R"([{"type":"repository","name":"../etc","actions":["pull"]}])");
  expect_refused(forge(good_header(), p), "\"access\"");
  // No access claim at all grants nothing, and unknown claims are ignored.
  p.erase("access");
  p["custom"] = {1, 2};
  auto claims = verifier().verify(forge(good_header(), p), kNow);
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_TRUE(claims->access.empty());
}

TEST(JwtTest, RefusesDuplicateMembers) {
  std::string payload = good_payload().dump();
  std::string dup_exp = payload.substr(0, payload.size() - 1) + R"(,"exp":9999999999})";
  expect_refused(forge_text(good_header().dump(), dup_exp), "repeats a member");
  std::string dup_sub = payload.substr(0, payload.size() - 1) + R"(,"sub":"admin"})";
  expect_refused(forge_text(good_header().dump(), dup_sub), "repeats a member");
  std::string header = R"({"alg":"none","alg":"ES256","kid":")" + test_key().kid() + R"("})";
  expect_refused(forge_text(header, payload), "repeats a member");
  // Nested objects are checked too; the same name in sibling objects is fine.
  std::string nested = R"({"iss":"custody-token","sub":"alice","aud":"custody.example","iat":1800000000,)"
                       R"("nbf":1800000000,"exp":1800000300,"jti":"x","access":[)"
                       R"({"type":"repository","name":"a","name":"b","actions":["pull"]}]})";
  expect_refused(forge_text(good_header().dump(), nested), "repeats a member");
  std::string siblings = R"({"iss":"custody-token","sub":"alice","aud":"custody.example","iat":1800000000,)"
                         R"("nbf":1800000000,"exp":1800000300,"jti":"x","access":[)"
                         R"({"type":"repository","name":"a","actions":["pull"]},)"
                         R"({"type":"repository","name":"b","actions":["pull"]}]})";
  EXPECT_TRUE(verifier().verify(forge_text(good_header().dump(), siblings), kNow));
}

TEST(JwtTest, RefusesMalformedStructure) {
  std::string token = *TokenSigner(test_key()).sign(good_claims());
  expect_refused("", "empty token");
  expect_refused("abc", "three parts");
  expect_refused(token.substr(0, token.rfind('.')), "three parts");
  expect_refused(token + ".x", "three parts");
  expect_refused("." + token.substr(token.find('.') + 1), "empty part");
  expect_refused(token + std::string(kMaxTokenSize, 'A'), "8 KiB");
  expect_refused(forge_text("[1,2]", good_payload().dump()), "not a JSON object");
  expect_refused(forge_text(good_header().dump(), "[1,2]"), "not a JSON object");
  expect_refused(forge_text(good_header().dump(), "\"text\""), "not a JSON object");
  expect_refused(forge_text(good_header().dump(), "{\"iss\":"), "not valid JSON");
  expect_refused(forge_text(good_header().dump(), good_payload().dump() + "x"), "not valid JSON");
  expect_refused(forge_text(good_header().dump(), "{\"a\":\"\xff\"}"), "not valid JSON");
  std::string deep = std::string(20, '[') + std::string(20, ']');
  json p = good_payload();
  std::string payload = p.dump();
  expect_refused(forge_text(good_header().dump(), payload.substr(0, payload.size() - 1) + ",\"d\":" + deep + "}"),
                 "nested too deeply");
}

TEST(JwtTest, RefusesNonCanonicalBase64url) {
  std::string token = *TokenSigner(test_key()).sign(good_claims());
  size_t a = token.find('.'), b = token.rfind('.');
  std::string header = token.substr(0, a), payload = token.substr(a + 1, b - a - 1), sig = token.substr(b + 1);
  // Padding, the standard alphabet, whitespace.
  std::string padded_header = header + std::string((4 - header.size() % 4) % 4, '=');
  if (padded_header != header) expect_refused(padded_header + token.substr(a), "base64url");
  expect_refused(header + "." + payload + "." + sig + "=", "base64url");
  // Whitespace changes the signed input, so the signature check catches it
  // first; correctly signed non-canonical parts are refused by the decoder.
  expect_refused(header + ".\n" + payload + "." + sig, "signature is invalid");
  auto signed_parts = [](const std::string& h, const std::string& p) {
    return h + "." + p + "." + base64url_encode(*test_key().sign(h + "." + p));
  };
  expect_refused(signed_parts(header, payload + "="), "payload is not canonical");
  expect_refused(signed_parts(header, " " + payload), "payload is not canonical");
  expect_refused(signed_parts(header + "=", payload), "header is not canonical");
  EXPECT_TRUE(verifier().verify(signed_parts(header, payload), kNow));
  std::string std_alphabet = sig;
  for (char& c : std_alphabet) c = c == '-' ? '+' : c == '_' ? '/' : c;
  if (std_alphabet != sig) expect_refused(header + "." + payload + "." + std_alphabet, "base64url");
  std::string plus = sig;
  plus[0] = '+';
  expect_refused(header + "." + payload + "." + plus, "base64url");
}

TEST(JwtTest, SignerRefusesWhatTheVerifierWould) {
  TokenSigner signer(test_key());
  Claims c = good_claims();
  c.iss.clear();
  EXPECT_FALSE(signer.sign(c));
  c = good_claims();
  c.aud.clear();
  EXPECT_FALSE(signer.sign(c));
  c.aud = {""};
  EXPECT_FALSE(signer.sign(c));
  c = good_claims();
  c.jti.clear();
  EXPECT_FALSE(signer.sign(c));
  c = good_claims();
  c.exp = c.nbf;
  EXPECT_FALSE(signer.sign(c));
  c = good_claims();
  c.iat = -1;
  EXPECT_FALSE(signer.sign(c));
  c = good_claims();
  c.sub = "\xff\xfe";
  auto utf8 = signer.sign(c);
  ASSERT_FALSE(utf8);
  EXPECT_NE(utf8.error().message.find("UTF-8"), std::string::npos);
  c = good_claims();
  c.access = {Scope{"repository", "", "../x", {"pull"}}};
  EXPECT_FALSE(signer.sign(c));
  c = good_claims();
  c.sub = std::string(kMaxTokenSize, 'a');
  auto big = signer.sign(c);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kResourceExhausted);
}

TEST(JwtTest, VerifierWithSeveralPinnedKeys) {
  TokenVerifier both({test_key().public_key(), other_key().public_key(), test_key().public_key()}, "custody-token",
                     "custody.example");
  EXPECT_TRUE(both.verify(*TokenSigner(test_key()).sign(good_claims()), kNow));
  EXPECT_TRUE(both.verify(*TokenSigner(other_key()).sign(good_claims()), kNow));
  TokenVerifier none({}, "custody-token", "custody.example");
  EXPECT_FALSE(none.verify(*TokenSigner(test_key()).sign(good_claims()), kNow));
}

}  // namespace
}  // namespace custody::auth
