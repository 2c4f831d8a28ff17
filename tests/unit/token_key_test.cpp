#include "auth/token_key.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/token_key_file.h"
#include "common/ids.h"

namespace custody::auth {
namespace {

// RFC 7515 Appendix A.3: the ES256 example key and signed JWS.
constexpr std::string_view kRfcPublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n"
    "6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kRfcSigningInput =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr std::string_view kRfcSignature =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// A SEC1 ("EC PRIVATE KEY") P-256 key made with `openssl ecparam -genkey`;
// its kid computed independently (Python: sha256 of the SPKI DER, 30 bytes, base32).
constexpr std::string_view kSec1Pem =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIGLhXFaFCzLDZBXY01B/5O6FBcBLHQkV/aLS4Y9vmnILoAoGCCqGSM49\n"
    "AwEHoUQDQgAElb4zH35Iwz2d71Ks+QGG4DqJTk9lSar0lb+XDdq8R1AMBDsc3ILu\n"
    "KQ00otubPGN+N0ZZX/c2DXPmPdBdLJXOVw==\n"
    "-----END EC PRIVATE KEY-----\n";
constexpr std::string_view kSec1Kid = "I7FB:AUWC:CFTF:QWLH:S66E:WQDO:R5QP:B23G:QYIB:5ETK:K3E2:FX72";

TEST(TokenKeyTest, VerifiesTheRfc7515Example) {
  auto key = TokenPublicKey::from_pem(kRfcPublicPem);
  ASSERT_TRUE(key) << key.error().message;
  auto sig = base64url_decode(kRfcSignature);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(key->verify(kRfcSigningInput, *sig));
  EXPECT_FALSE(key->verify(std::string(kRfcSigningInput) + "x", *sig));
  // Computed independently from the RFC's JWK.
  EXPECT_EQ(key->kid(), "FPI3:WDCE:VCL4:GCT2:UCMR:ZXRY:3ADC:7ZCB:3ZIN:UD2G:QJJU:J5QC");
  auto jwk = nlohmann::json::parse(key->jwk());
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_EQ(jwk["alg"], "ES256");
  EXPECT_EQ(jwk["x"], "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
  EXPECT_EQ(jwk["y"], "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  EXPECT_EQ(jwk["kid"], key->kid());
  EXPECT_EQ(key->pem(), kRfcPublicPem);
}

TEST(TokenKeyTest, LoadsSec1AndPkcs8AndKeepsTheKid) {
  auto key = TokenKey::from_pem(kSec1Pem);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->kid(), kSec1Kid);
  auto pkcs8 = key->private_pem();
  ASSERT_TRUE(pkcs8);
  EXPECT_TRUE(pkcs8->starts_with("-----BEGIN PRIVATE KEY-----"));
  auto again = TokenKey::from_pem(*pkcs8);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->kid(), kSec1Kid);
  auto pub = TokenPublicKey::from_pem(key->public_key().pem());
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->kid(), kSec1Kid);
  // The public PEM holds no private material.
  EXPECT_FALSE(TokenKey::from_pem(key->public_key().pem()));
}

TEST(TokenKeyTest, SignaturesAreRawAndVerify) {
  auto key = TokenKey::generate();
  ASSERT_TRUE(key);
  EXPECT_EQ(key->kid().size(), 59u);  // 12 groups of 4, 11 colons
  auto sig = key->sign("message");
  ASSERT_TRUE(sig);
  EXPECT_TRUE(key->public_key().verify("message", *sig));
  EXPECT_FALSE(key->public_key().verify("messagf", *sig));
  EXPECT_FALSE(key->public_key().verify("message", std::span(*sig).first(63)));
  EXPECT_FALSE(key->public_key().verify("message", {}));
  auto other = TokenKey::generate();
  EXPECT_NE(other->kid(), key->kid());
  EXPECT_FALSE(other->public_key().verify("message", *sig));
}

TEST(TokenKeyTest, RefusesOtherKeys) {
  const char* p384 =
      "-----BEGIN PUBLIC KEY-----\n"
      "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAERDDk0GWN0BVg0EBjOcM1sjW0nkJ1XQVs\n"
      "IXvi/ZgwSItDfzdsnJGbwd5SLlmUvozzTWIhWCPv/NXdaiA9Mq8olJ0jNGaOb3rh\n"
      "c30sFky+2+WikMViMOjzgGGDDCnHG4KA\n"
      "-----END PUBLIC KEY-----\n";
  const char* secp256k1 =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEz+MKr8vSTXliWoCmkwmZr7UmQ+dSE6Vv\n"
      "KMswhyoCN1OuSWr7lR2H/5YXwuosw1lsujpbV2VKQ+z1gD9BgqkWhQ==\n"
      "-----END PUBLIC KEY-----\n";
  const char* ed25519 =
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VwAyEAri0TlzSZtobY0NybT5HHJ3L9BdpDuOj1hoEwQPYoHzI=\n"
      "-----END PUBLIC KEY-----\n";
  const char* compressed =
      "-----BEGIN PUBLIC KEY-----\n"
      "MDkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDIgADlb4zH35Iwz2d71Ks+QGG4DqJTk9l\n"
      "Sar0lb+XDdq8R1A=\n"
      "-----END PUBLIC KEY-----\n";
  const char* explicit_params =
      "-----BEGIN PUBLIC KEY-----\n"
      "MIIBSzCCAQMGByqGSM49AgEwgfcCAQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAA\n"
      "AAAAAAAAAAAA////////////////MFsEIP////8AAAABAAAAAAAAAAAAAAAA////\n"
      "///////////8BCBaxjXYqjqT57PrvVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSd\n"
      "NgiG5wSTamZ44ROdJreBn36QBEEEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5\n"
      "RdiYwpZP40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA\n"
      "//////////+85vqtpxeehPO5ysL8YyVRAgEBA0IABJW+Mx9+SMM9ne9SrPkBhuA6\n"
      "iU5PZUmq9JW/lw3avEdQDAQ7HNyC7ikNNKLbmzxjfjdGWV/3Ng1z5j3QXSyVzlc=\n"
      "-----END PUBLIC KEY-----\n";
  for (const char* pem : {p384, secp256k1, ed25519, compressed, explicit_params, "", "garbage",
                          "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}) {
    auto k = TokenPublicKey::from_pem(pem);
    EXPECT_FALSE(k) << pem;
    if (!k) {
      EXPECT_EQ(k.error().code, ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(TokenPublicKey::from_pem(std::string(20000, 'A')));
}

TEST(TokenKeyTest, RefusesEncryptedPrivateKeysWithoutPrompting) {
  const char* encrypted =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgmtQmW0fVB1wICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEB0KgrBRkuwMW1bFFSR4gUMEgZC8\n"
      "hU7zrU2Uwn04ls4w3pZVgNLxDMN1YXI/XDHuIzXzJnvS6UgJElFsuhz6XoZVcRKa\n"
      "sBC4gaZTQH8xCwqgwd3/fMa12yUAz+BvDjbUcj8HZueoDkW0Th2FHeOD3BBb5Ply\n"
      "u+2JceQem95MiFQVx7evCkJD+q+pjZtO/XzB4LZVcjo8gcEz7fUTKepY+SfZC4A=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  EXPECT_FALSE(TokenKey::from_pem(encrypted));
}

class TokenKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("custody-token-key-" + random_uuid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(TokenKeyFileTest, CreatesOncePrivatelyThenLoads) {
  auto path = dir_ / "token.key";
  auto created = load_or_create_token_key(path);
  ASSERT_TRUE(created) << created.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = load_or_create_token_key(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->kid(), created->kid());
  // Nothing but the key file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(TokenKeyFileTest, RefusesAFileThatIsNotAKey) {
  auto path = dir_ / "token.key";
  std::ofstream(path) << "not a key";
  auto r = load_or_create_token_key(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(path.string()), std::string::npos);
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "not a key");  // never overwritten
}

TEST_F(TokenKeyFileTest, FailsInAMissingDirectory) {
  EXPECT_FALSE(load_or_create_token_key(dir_ / "missing" / "token.key"));
}

TEST(Base64urlTest, RoundTripsAndIsStrict) {
  for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    std::string enc = base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec) << enc;
    EXPECT_EQ(std::string(dec->begin(), dec->end()), s);
  }
  EXPECT_EQ(base64url_encode(std::string_view("\xfb\xff")), "-_8");
  for (const char* bad : {"Zg==", "Zg=", "Z", "Zh", "Zm9=", "Zm+v", "Zm/v", "Zm9v\n", " Zm9v", "Zm.v"})
    EXPECT_FALSE(base64url_decode(bad)) << bad;
  EXPECT_TRUE(base64url_decode("Zg"));
  EXPECT_TRUE(base64url_decode("Zm8"));
}

}  // namespace
}  // namespace custody::auth
