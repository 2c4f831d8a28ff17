#include "audit/ed25519.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

namespace custody::audit {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

PkeyPtr private_key(const Ed25519Seed& seed) {
  return PkeyPtr(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
}

}  // namespace

Result<Ed25519Seed> ed25519_generate_seed() {
  Ed25519Seed seed{};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1)
    return fail(ErrorCode::kInternal, "the random number generator failed");
  return seed;
}

Result<Ed25519PublicKey> ed25519_public_key(const Ed25519Seed& seed) {
  PkeyPtr key = private_key(seed);
  Ed25519PublicKey pub{};
  size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != pub.size())
    return fail(ErrorCode::kInternal, "cannot derive an Ed25519 public key");
  return pub;
}

Result<Ed25519Signature> ed25519_sign(const Ed25519Seed& seed, std::span<const uint8_t> message) {
  PkeyPtr key = private_key(seed);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  Ed25519Signature sig{};
  size_t len = sig.size();
  // Ed25519 hashes internally, so no digest is named and the whole
  // message goes in one call (EVP has no streaming mode for it).
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 || len != sig.size())
    return fail(ErrorCode::kInternal, "Ed25519 signing failed");
  return sig;
}

bool ed25519_verify(std::span<const uint8_t, 32> public_key, std::span<const uint8_t> message,
                    std::span<const uint8_t> signature) {
  if (signature.size() != std::tuple_size_v<Ed25519Signature>) return false;
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return key && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
}

}  // namespace custody::audit
