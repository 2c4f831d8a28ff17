// Fuzzes the bearer token verifier with a fixed pinned key: it must never
// crash, and whatever it accepts must survive a sign/verify round trip.
//
// Inputs starting "P:" are a payload and "H:" a header, as JSON text, that
// the harness signs with the pinned key before verifying, so the fuzzer
// reaches the claim checks behind the signature; anything else is a token.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/encoding.h"
#include "auth/base64url.h"
#include "auth/credentials.h"
#include "auth/jwt.h"

using namespace custody::auth;

namespace {

// The seed corpus is signed with this key (kid
// I7FB:AUWC:CFTF:QWLH:S66E:WQDO:R5QP:B23G:QYIB:5ETK:K3E2:FX72).
constexpr std::string_view kKeyPem =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIGLhXFaFCzLDZBXY01B/5O6FBcBLHQkV/aLS4Y9vmnILoAoGCCqGSM49\n"
    "AwEHoUQDQgAElb4zH35Iwz2d71Ks+QGG4DqJTk9lSar0lb+XDdq8R1AMBDsc3ILu\n"
    "KQ00otubPGN+N0ZZX/c2DXPmPdBdLJXOVw==\n"
    "-----END EC PRIVATE KEY-----\n";
constexpr int64_t kNow = 1'800'000'000;

struct Fixture {
  TokenKey key = *TokenKey::from_pem(kKeyPem);
  TokenSigner signer{key};
  TokenVerifier verifier{{key.public_key()}, "custody-token", "custody.example"};
};

std::string sign_parts(const TokenKey& key, std::string_view header, std::string_view payload) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  auto sig = key.sign(input);
  if (!sig) __builtin_trap();
  return input + "." + base64url_encode(*sig);
}

void check_token(const Fixture& f, std::string_view token) {
  auto claims = f.verifier.verify(token, kNow);
  if (!claims) return;
  if (token.size() > kMaxTokenSize) __builtin_trap();
  // Anything accepted can be issued again and reads back the same.
  // (Re-signing may only grow the token past the cap: the signer always
  // writes "typ" and "access", which an accepted token may omit.)
  auto again = f.signer.sign(*claims);
  if (!again && again.error().code == custody::ErrorCode::kResourceExhausted) return;
  if (!again) __builtin_trap();
  auto reread = f.verifier.verify(*again, kNow);
  if (!reread || !(*reread == *claims)) __builtin_trap();
}

void check_base64url(std::string_view in) {
  auto bytes = base64url_decode(in);
  if (bytes && base64url_encode(*bytes) != in) __builtin_trap();  // one spelling only
}

// Authorization headers: whatever parses as Basic reads back the same
// after re-encoding; nothing crashes.
void check_authorization(std::string_view in) {
  Credentials c = parse_authorization(in);
  if (c.kind != Credentials::Kind::kBasic) return;
  std::string pair = c.user + ":" + c.secret;
  Credentials again = parse_authorization("Basic " + custody::audit::base64_encode(custody::audit::bytes_of(pair)));
  if (again.kind != Credentials::Kind::kBasic || again.user != c.user || again.secret != c.secret) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture f;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() > 2 * kMaxTokenSize) return 0;
  constexpr std::string_view kHeader =
      R"({"alg":"ES256","kid":"I7FB:AUWC:CFTF:QWLH:S66E:WQDO:R5QP:B23G:QYIB:5ETK:K3E2:FX72","typ":"JWT"})";
  constexpr std::string_view kPayload =
      R"({"iss":"custody-token","sub":"a","aud":"custody.example","exp":1800000300,"nbf":1800000000,)"
      R"("iat":1800000000,"jti":"j","access":[]})";
  if (in.starts_with("P:")) {
    check_token(f, sign_parts(f.key, kHeader, in.substr(2)));
  } else if (in.starts_with("H:")) {
    check_token(f, sign_parts(f.key, in.substr(2), kPayload));
  } else {
    check_token(f, in);
    check_base64url(in);
    check_authorization(in);
    (void)TokenPublicKey::from_pem(in);
  }
  return 0;
}
