// Proof verifiers: RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
// (consistency), step for step, preceded by an exact length check so a
// wrong-length proof gets an error that says so.
#include <bit>
#include <string>

#include "audit/merkle.h"

namespace custody::audit {
namespace {

std::string str(uint64_t v) { return std::to_string(v); }

// Shifts fn and sn right together until fn's low bit is set or fn is 0.
void shift_to_set_bit(uint64_t& fn, uint64_t& sn) {
  while (fn != 0 && (fn & 1) == 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

// The path from a leaf has one element per level where the leaf's and the
// last leaf's paths diverge (inner), then one per set bit above that
// (border: complete left siblings on the right edge).
size_t inclusion_proof_size(uint64_t index, uint64_t size) {
  int inner = std::bit_width(index ^ (size - 1));
  return static_cast<size_t>(inner + std::popcount(index >> inner));
}

size_t consistency_proof_size(uint64_t old_size, uint64_t new_size) {
  if (old_size == 0 || old_size >= new_size) return 0;
  int inner = std::bit_width((old_size - 1) ^ (new_size - 1));
  int border = std::popcount((old_size - 1) >> inner);
  int shift = std::countr_zero(old_size);
  // When old_size is a power of two its root is a node of the new tree
  // and the verifier seeds with it instead of receiving it.
  int seed = std::has_single_bit(old_size) ? 0 : 1;
  return static_cast<size_t>(seed + (inner - shift) + border);
}

Result<Hash> root_from_inclusion_proof(const Hash& leaf, uint64_t index, uint64_t size,
                                       std::span<const Hash> proof) {
  if (index >= size)
    return fail(ErrorCode::kInvalidArgument, "leaf index " + str(index) + " is not below tree size " + str(size));
  size_t want = inclusion_proof_size(index, size);
  if (proof.size() != want)
    return fail(ErrorCode::kInvalidArgument, "inclusion proof for leaf " + str(index) + " in a tree of size " +
                                                 str(size) + " must have " + str(want) + " hashes, got " +
                                                 str(proof.size()));
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return fail(ErrorCode::kInvalidArgument, "inclusion proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = node_hash(p, r);
      shift_to_set_bit(fn, sn);
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return fail(ErrorCode::kInvalidArgument, "inclusion proof is too short");
  return r;
}

Status verify_inclusion(const Hash& leaf, uint64_t index, uint64_t size, std::span<const Hash> proof,
                        const Hash& root) {
  auto got = root_from_inclusion_proof(leaf, index, size, proof);
  if (!got) return std::unexpected(got.error());
  if (*got != root)
    return fail(ErrorCode::kDataLoss, "inclusion proof for leaf " + str(index) + " leads to root " + got->hex() +
                                          ", not the expected root " + root.hex() + " of tree size " + str(size));
  return {};
}

namespace {

// The trivial cases RFC 9162 leaves to the caller: equal sizes and the
// empty old tree, which every tree extends.
Status verify_trivial_consistency(uint64_t old_size, uint64_t new_size, std::span<const Hash> proof,
                                  const Hash& old_root, const Hash& new_root) {
  if (!proof.empty())
    return fail(ErrorCode::kInvalidArgument, "consistency proof from size " + str(old_size) + " to " +
                                                 str(new_size) + " must be empty");
  if (old_size == 0 && old_root != empty_root())
    return fail(ErrorCode::kDataLoss, "root of the empty tree must be " + empty_root().hex());
  if (old_size == new_size && old_root != new_root)
    return fail(ErrorCode::kDataLoss, "two different roots for tree size " + str(new_size) + ": " +
                                          old_root.hex() + " and " + new_root.hex());
  return {};
}

}  // namespace

Status verify_consistency(uint64_t old_size, uint64_t new_size, std::span<const Hash> proof,
                          const Hash& old_root, const Hash& new_root) {
  if (old_size > new_size)
    return fail(ErrorCode::kInvalidArgument,
                "old tree size " + str(old_size) + " exceeds new tree size " + str(new_size));
  if (old_size == 0 || old_size == new_size)
    return verify_trivial_consistency(old_size, new_size, proof, old_root, new_root);
  size_t want = consistency_proof_size(old_size, new_size);
  if (proof.size() != want)
    return fail(ErrorCode::kInvalidArgument, "consistency proof from size " + str(old_size) + " to " +
                                                 str(new_size) + " must have " + str(want) + " hashes, got " +
                                                 str(proof.size()));
  // Step 2: when old_size is a power of two, the old root is the path's head.
  bool seeded = std::has_single_bit(old_size);
  Hash seed = seeded ? old_root : proof[0];
  std::span<const Hash> rest = seeded ? proof : proof.subspan(1);
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = seed, sr = seed;
  for (const Hash& c : rest) {
    if (sn == 0) return fail(ErrorCode::kInvalidArgument, "consistency proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      shift_to_set_bit(fn, sn);
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return fail(ErrorCode::kInvalidArgument, "consistency proof is too short");
  if (fr != old_root)
    return fail(ErrorCode::kDataLoss, "consistency proof does not match the root " + old_root.hex() +
                                          " of tree size " + str(old_size) + " (it leads to " + fr.hex() + ")");
  if (sr != new_root)
    return fail(ErrorCode::kDataLoss, "tree size " + str(new_size) + " with root " + new_root.hex() +
                                          " is not an extension of tree size " + str(old_size) +
                                          " (the proof leads to " + sr.hex() + ")");
  return {};
}

}  // namespace custody::audit
