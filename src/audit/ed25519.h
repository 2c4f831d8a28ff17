// Ed25519 (RFC 8032) through OpenSSL 3's EVP interface: the one place the
// custody log touches a signature primitive.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "common/error.h"

namespace custody::audit {

using Ed25519Seed = std::array<uint8_t, 32>;  // the private key, as RFC 8032 defines it
using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Signature = std::array<uint8_t, 64>;

// A fresh seed from OpenSSL's CSPRNG. kInternal if it cannot supply one.
Result<Ed25519Seed> ed25519_generate_seed();
Result<Ed25519PublicKey> ed25519_public_key(const Ed25519Seed& seed);
// Deterministic: the same seed and message always give the same signature.
Result<Ed25519Signature> ed25519_sign(const Ed25519Seed& seed, std::span<const uint8_t> message);
// False for any bad input (wrong sizes, invalid key, forged signature).
bool ed25519_verify(std::span<const uint8_t, 32> public_key, std::span<const uint8_t> message,
                    std::span<const uint8_t> signature);

}  // namespace custody::audit
