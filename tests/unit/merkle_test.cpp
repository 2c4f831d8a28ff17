// The custody log's Merkle tree against the RFC 6962 reference vectors
// (the 8-leaf tree of the certificate-transparency reference code, as kept
// in transparency-dev/merkle proof/verify_test.go and rfc6962_test.go), an
// independent transcription of the RFC 9162 definitions, and tampering.
#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "audit/encoding.h"

namespace custody::audit {
namespace {

Hash H(std::string_view hex) { return *Hash::from_hex(hex); }

std::string unhex(std::string_view hex) {
  Bytes b = *hex_decode(hex);
  return std::string(b.begin(), b.end());
}

// RFC 6962 reference leaves and the roots of their prefixes (size 1..8).
const std::vector<std::string> kLeaves = {
    unhex(""),         unhex("00"),       unhex("10"),               unhex("2021"),
    unhex("3031"),     unhex("40414243"), unhex("5051525354555657"), unhex("606162636465666768696a6b6c6d6e6f"),
};
const std::vector<Hash> kRoots = {
    H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    H("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    H("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    H("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    H("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    H("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
};

struct InclusionVector {
  uint64_t index, size;
  std::vector<Hash> proof;
};
const std::vector<InclusionVector> kInclusionVectors = {
    {0, 8,
     {H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
      H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}},
    {5, 8,
     {H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
      H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
      H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
    {2, 3, {H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")}},
    {1, 5,
     {H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
      H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")}},
};

struct ConsistencyVector {
  uint64_t old_size, new_size;
  std::vector<Hash> proof;
};
const std::vector<ConsistencyVector> kConsistencyVectors = {
    {1, 8,
     {H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
      H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}},
    {6, 8,
     {H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
      H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
      H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
    {2, 5,
     {H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")}},
    {6, 7,
     {H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
      H("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
      H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
};

const Hash kSomeHash = H("abacaba000000000000000000000000000000000000000000060061e00123456");

// RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 written out as recursion, to
// check the tree's iterative, store-backed versions against.
Hash reference_mth(std::span<const Hash> d) {
  if (d.empty()) return empty_root();
  if (d.size() == 1) return d[0];
  size_t k = std::bit_floor(d.size() - 1);
  return node_hash(reference_mth(d.first(k)), reference_mth(d.subspan(k)));
}

std::vector<Hash> reference_path(uint64_t m, std::span<const Hash> d) {
  if (d.size() <= 1) return {};
  size_t k = std::bit_floor(d.size() - 1);
  std::vector<Hash> p = m < k ? reference_path(m, d.first(k)) : reference_path(m - k, d.subspan(k));
  p.push_back(m < k ? reference_mth(d.subspan(k)) : reference_mth(d.first(k)));
  return p;
}

std::vector<Hash> reference_subproof(uint64_t m, std::span<const Hash> d, bool whole) {
  if (m == d.size()) return whole ? std::vector<Hash>{} : std::vector<Hash>{reference_mth(d)};
  size_t k = std::bit_floor(d.size() - 1);
  std::vector<Hash> p = m <= k ? reference_subproof(m, d.first(k), whole) : reference_subproof(m - k, d.subspan(k), false);
  p.push_back(m <= k ? reference_mth(d.subspan(k)) : reference_mth(d.first(k)));
  return p;
}

std::vector<Hash> leaf_hashes(const std::vector<std::string>& entries) {
  std::vector<Hash> out;
  for (const auto& e : entries) out.push_back(leaf_hash(e));
  return out;
}

Hash flip_bit(Hash h, size_t bit) {
  std::array<uint8_t, Hash::kSize> raw;
  std::copy(h.bytes().begin(), h.bytes().end(), raw.begin());
  raw[bit / 8 % Hash::kSize] ^= static_cast<uint8_t>(1 << (bit % 8));
  return Hash(raw);
}

// Fails put_many once, on the call numbered `fail_at` (0-based).
class FailingHashStore final : public HashStore {
 public:
  explicit FailingHashStore(int fail_at) : fail_at_(fail_at) {}
  Result<Hash> get(NodeId id) override { return inner_.get(id); }
  Status put(NodeId id, const Hash& hash) override { return inner_.put(id, hash); }
  Status put_many(std::span<const std::pair<NodeId, Hash>> nodes) override {
    if (calls_++ == fail_at_) {
      // Half the batch lands before the failure, as with a torn write.
      (void)HashStore::put_many(nodes.first(nodes.size() / 2));
      return fail(ErrorCode::kUnavailable, "injected write failure");
    }
    return HashStore::put_many(nodes);
  }

 private:
  MemoryHashStore inner_;
  int fail_at_;
  int calls_ = 0;
};

MerkleTree build(HashStore& store, std::span<const Hash> leaves) {
  auto tree = MerkleTree::open(store, 0);
  EXPECT_TRUE(tree);
  EXPECT_TRUE(tree->append_batch(leaves));
  return *tree;
}

// Known answers.

TEST(MerkleHashTest, MatchesRfc6962KnownAnswers) {
  EXPECT_EQ(empty_root().hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(leaf_hash("").hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(leaf_hash("L123456").hex(), "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
  // A node over the first two reference leaves is the size-2 root.
  EXPECT_EQ(node_hash(leaf_hash(kLeaves[0]), leaf_hash(kLeaves[1])), kRoots[1]);
  EXPECT_NE(node_hash(leaf_hash("a"), leaf_hash("b")), node_hash(leaf_hash("b"), leaf_hash("a")));
}

TEST(MerkleHashTest, HashParsingIsStrict) {
  EXPECT_FALSE(Hash::from_hex("abc"));
  EXPECT_FALSE(Hash::from_hex(std::string(64, 'g')));
  EXPECT_FALSE(Hash::from_bytes(std::vector<uint8_t>(31)));
  EXPECT_EQ(Hash::from_hex(kRoots[0].hex().substr(0, 62) + "1D")->hex(), kRoots[0].hex());
}

TEST(MerkleTreeTest, RootsMatchRfc6962Vectors) {
  MemoryHashStore store;
  auto tree = MerkleTree::open(store, 0);
  ASSERT_TRUE(tree);
  EXPECT_EQ(tree->root(), empty_root());
  for (size_t i = 0; i < kLeaves.size(); ++i) {
    ASSERT_EQ(*tree->append(leaf_hash(kLeaves[i])), i);
    EXPECT_EQ(tree->root(), kRoots[i]) << "size " << i + 1;
  }
  for (size_t s = 1; s <= kLeaves.size(); ++s) EXPECT_EQ(*tree->root_at(s), kRoots[s - 1]);
  EXPECT_EQ(*tree->root_at(0), empty_root());
  auto hashes = leaf_hashes(kLeaves);
  for (size_t s = 1; s <= hashes.size(); ++s) EXPECT_EQ(root_of(std::span(hashes).first(s)), kRoots[s - 1]);
}

TEST(MerkleTreeTest, InclusionProofsMatchRfc6962Vectors) {
  MemoryHashStore store;
  auto hashes = leaf_hashes(kLeaves);
  MerkleTree tree = build(store, hashes);
  for (const auto& v : kInclusionVectors) {
    SCOPED_TRACE("leaf " + std::to_string(v.index) + " size " + std::to_string(v.size));
    EXPECT_EQ(*tree.inclusion_proof(v.index, v.size), v.proof);
    EXPECT_EQ(inclusion_proof_size(v.index, v.size), v.proof.size());
    EXPECT_TRUE(verify_inclusion(hashes[v.index], v.index, v.size, v.proof, kRoots[v.size - 1]));
  }
  EXPECT_TRUE(tree.inclusion_proof(0, 1)->empty());
  EXPECT_TRUE(verify_inclusion(hashes[0], 0, 1, {}, kRoots[0]));
}

TEST(MerkleTreeTest, ConsistencyProofsMatchRfc6962Vectors) {
  MemoryHashStore store;
  MerkleTree tree = build(store, leaf_hashes(kLeaves));
  for (const auto& v : kConsistencyVectors) {
    SCOPED_TRACE(std::to_string(v.old_size) + " -> " + std::to_string(v.new_size));
    EXPECT_EQ(*tree.consistency_proof(v.old_size, v.new_size), v.proof);
    EXPECT_EQ(consistency_proof_size(v.old_size, v.new_size), v.proof.size());
    EXPECT_TRUE(verify_consistency(v.old_size, v.new_size, v.proof, kRoots[v.old_size - 1], kRoots[v.new_size - 1]));
  }
}

// The corruptions of transparency-dev/merkle's corruptInclusionProof and
// corruptConsistencyProof, applied to the reference vectors.

TEST(MerkleVerifyTest, RejectsCorruptedReferenceInclusionProofs) {
  auto hashes = leaf_hashes(kLeaves);
  for (const auto& v : kInclusionVectors) {
    SCOPED_TRACE("leaf " + std::to_string(v.index) + " size " + std::to_string(v.size));
    const Hash& root = kRoots[v.size - 1];
    const Hash& leaf = hashes[v.index];
    EXPECT_FALSE(verify_inclusion(leaf, v.index - 1, v.size, v.proof, root));
    EXPECT_FALSE(verify_inclusion(leaf, v.index + 1, v.size, v.proof, root));
    EXPECT_FALSE(verify_inclusion(leaf, v.index ^ 2, v.size, v.proof, root));
    EXPECT_FALSE(verify_inclusion(leaf, v.index, v.size * 2, v.proof, root));
    EXPECT_FALSE(verify_inclusion(leaf, v.index, v.size / 2, v.proof, root));
    EXPECT_FALSE(verify_inclusion(leaf_hash("WrongLeaf"), v.index, v.size, v.proof, root));
    EXPECT_FALSE(verify_inclusion(leaf, v.index, v.size, v.proof, empty_root()));
    EXPECT_FALSE(verify_inclusion(leaf, v.index, v.size, v.proof, kSomeHash));
    auto extended = v.proof;
    extended.push_back(root);
    EXPECT_FALSE(verify_inclusion(leaf, v.index, v.size, extended, root));
    auto prepended = v.proof;
    prepended.insert(prepended.begin(), root);
    EXPECT_FALSE(verify_inclusion(leaf, v.index, v.size, prepended, root));
    for (size_t i = 0; i < v.proof.size(); ++i) {
      auto bad = v.proof;
      bad[i] = flip_bit(bad[i], 3);
      auto s = verify_inclusion(leaf, v.index, v.size, bad, root);
      ASSERT_FALSE(s);
      EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
    }
    auto truncated = v.proof;
    truncated.pop_back();
    auto s = verify_inclusion(leaf, v.index, v.size, truncated, root);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(MerkleVerifyTest, RejectsCorruptedReferenceConsistencyProofs) {
  for (const auto& v : kConsistencyVectors) {
    SCOPED_TRACE(std::to_string(v.old_size) + " -> " + std::to_string(v.new_size));
    const Hash& r1 = kRoots[v.old_size - 1];
    const Hash& r2 = kRoots[v.new_size - 1];
    uint64_t m = v.old_size, n = v.new_size;
    EXPECT_FALSE(verify_consistency(m - 1, n, v.proof, r1, r2));
    EXPECT_FALSE(verify_consistency(m + 1, n, v.proof, r1, r2));
    EXPECT_FALSE(verify_consistency(m ^ 2, n, v.proof, r1, r2));
    EXPECT_FALSE(verify_consistency(m, n * 2, v.proof, r1, r2));
    EXPECT_FALSE(verify_consistency(m, n / 2, v.proof, r1, r2));
    EXPECT_FALSE(verify_consistency(m, n, v.proof, kSomeHash, r2));
    EXPECT_FALSE(verify_consistency(m, n, v.proof, r1, kSomeHash));
    EXPECT_FALSE(verify_consistency(m, n, v.proof, r2, r1));
    EXPECT_FALSE(verify_consistency(m, n, {}, r1, r2));
    for (const Hash& extra : {r1, r2, v.proof[0]}) {
      auto appended = v.proof;
      appended.push_back(extra);
      EXPECT_FALSE(verify_consistency(m, n, appended, r1, r2));
      auto prepended = v.proof;
      prepended.insert(prepended.begin(), extra);
      EXPECT_FALSE(verify_consistency(m, n, prepended, r1, r2));
    }
    auto truncated = v.proof;
    truncated.pop_back();
    EXPECT_FALSE(verify_consistency(m, n, truncated, r1, r2));
    for (size_t i = 0; i < v.proof.size(); ++i) {
      auto bad = v.proof;
      bad[i] = flip_bit(bad[i], 4);
      EXPECT_FALSE(verify_consistency(m, n, bad, r1, r2));
    }
  }
}

TEST(MerkleVerifyTest, TrivialConsistencyCases) {
  const Hash a = leaf_hash("a"), b = leaf_hash("b");
  EXPECT_TRUE(verify_consistency(0, 0, {}, empty_root(), empty_root()));
  EXPECT_TRUE(verify_consistency(0, 5, {}, empty_root(), a));
  EXPECT_TRUE(verify_consistency(1, 1, {}, a, a));
  EXPECT_FALSE(verify_consistency(0, 0, {}, a, b));
  EXPECT_FALSE(verify_consistency(1, 1, {}, a, b));  // a fork at equal size
  EXPECT_FALSE(verify_consistency(0, 5, {}, a, b));  // the empty tree has one root
  EXPECT_FALSE(verify_consistency(1, 0, {}, a, b));  // time travel
  EXPECT_FALSE(verify_consistency(2, 1, {}, a, b));
  EXPECT_FALSE(verify_consistency(1, 2, {}, a, b));
  EXPECT_FALSE(verify_consistency(1, 1, std::vector<Hash>{a}, a, a));
  EXPECT_FALSE(verify_consistency(0, 1, std::vector<Hash>{a}, empty_root(), a));
}

TEST(MerkleVerifyTest, InclusionIndexMustBeInsideTree) {
  for (auto [index, size] : {std::pair<uint64_t, uint64_t>{0, 0}, {1, 0}, {2, 1}, {1, 1}}) {
    auto s = verify_inclusion(kSomeHash, index, size, {}, kSomeHash);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(verify_inclusion(kSomeHash, 0, 1, {}, kSomeHash));
}

// Properties over random trees.

class MerklePropertyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(6962);
    for (int i = 0; i < 3000; ++i) {
      // Distinct entries: two equal adjacent leaves would make their
      // indices interchangeable in a proof.
      std::string entry = std::to_string(i) + ":" + std::string(rng() % 40, '\0');
      for (size_t k = entry.find(':') + 1; k < entry.size(); ++k) entry[k] = static_cast<char>(rng());
      leaves_.push_back(leaf_hash(entry));
    }
    auto tree = MerkleTree::open(store_, 0);
    ASSERT_TRUE(tree);
    // Mixed single and batched appends build the same tree.
    for (size_t i = 0; i < leaves_.size();) {
      size_t n = std::min<size_t>(rng() % 70 + 1, leaves_.size() - i);
      if (n == 1) {
        ASSERT_EQ(*tree->append(leaves_[i]), i);
      } else {
        ASSERT_EQ(*tree->append_batch(std::span(leaves_).subspan(i, n)), i);
      }
      i += n;
    }
    tree_.emplace(std::move(*tree));
  }

  Hash root(uint64_t size) const { return *tree_->root_at(size); }
  std::span<const Hash> prefix(uint64_t size) const { return std::span(leaves_).first(size); }

  void check_inclusion(uint64_t index, uint64_t size, bool against_reference) {
    SCOPED_TRACE("leaf " + std::to_string(index) + " size " + std::to_string(size));
    auto proof = tree_->inclusion_proof(index, size);
    ASSERT_TRUE(proof);
    if (against_reference) {
      EXPECT_EQ(*proof, reference_path(index, prefix(size)));
    }
    EXPECT_EQ(proof->size(), inclusion_proof_size(index, size));
    const Hash& leaf = leaves_[index];
    ASSERT_TRUE(verify_inclusion(leaf, index, size, *proof, root(size)));
    if (!proof->empty()) {
      auto bad = *proof;
      bad[index % bad.size()] = flip_bit(bad[index % bad.size()], index * 7 + size);
      EXPECT_FALSE(verify_inclusion(leaf, index, size, bad, root(size)));
      bad = *proof;
      bad.pop_back();
      EXPECT_FALSE(verify_inclusion(leaf, index, size, bad, root(size)));
    }
    auto longer = *proof;
    longer.push_back(leaf);
    EXPECT_FALSE(verify_inclusion(leaf, index, size, longer, root(size)));
    EXPECT_FALSE(verify_inclusion(flip_bit(leaf, size), index, size, *proof, root(size)));
    for (uint64_t other : {index - 1, index + 1, index ^ 1})
      if (other < size) {
        EXPECT_FALSE(verify_inclusion(leaf, other, size, *proof, root(size)));
      }
    for (uint64_t other : {size - 1, size + 1, size * 2, size / 2})
      if (index < other && other <= tree_->size() && other != size) {
        EXPECT_FALSE(verify_inclusion(leaf, index, other, *proof, root(other)));
      }
  }

  void check_consistency(uint64_t m, uint64_t n, bool against_reference) {
    SCOPED_TRACE(std::to_string(m) + " -> " + std::to_string(n));
    auto proof = tree_->consistency_proof(m, n);
    ASSERT_TRUE(proof);
    if (against_reference && m > 0 && m < n) {
      EXPECT_EQ(*proof, reference_subproof(m, prefix(n), true));
    }
    EXPECT_EQ(proof->size(), consistency_proof_size(m, n));
    ASSERT_TRUE(verify_consistency(m, n, *proof, root(m), root(n)));
    if (proof->empty()) return;
    auto bad = *proof;
    bad[n % bad.size()] = flip_bit(bad[n % bad.size()], m * 5 + n);
    EXPECT_FALSE(verify_consistency(m, n, bad, root(m), root(n)));
    bad = *proof;
    bad.pop_back();
    EXPECT_FALSE(verify_consistency(m, n, bad, root(m), root(n)));
    bad = *proof;
    bad.push_back(root(m));
    EXPECT_FALSE(verify_consistency(m, n, bad, root(m), root(n)));
    EXPECT_FALSE(verify_consistency(m, n, *proof, root(n), root(m)));
    EXPECT_FALSE(verify_consistency(m, n, *proof, flip_bit(root(m), 9), root(n)));
    EXPECT_FALSE(verify_consistency(m, n, *proof, root(m), flip_bit(root(n), 9)));
    for (uint64_t other : {m - 1, m + 1, m * 2, m / 2})
      if (other != m && other <= n) {
        EXPECT_FALSE(verify_consistency(other, n, *proof, root(other), root(n)));
      }
    for (uint64_t other : {n - 1, n + 1, n * 2})
      if (other != n && other >= m && other <= tree_->size()) {
        EXPECT_FALSE(verify_consistency(m, other, *proof, root(m), root(other)));
      }
  }

  MemoryHashStore store_;
  std::vector<Hash> leaves_;
  std::optional<MerkleTree> tree_;
};

TEST_F(MerklePropertyTest, RootsMatchReference) {
  EXPECT_EQ(tree_->root(), reference_mth(leaves_));
  for (uint64_t s = 0; s <= 300; ++s) ASSERT_EQ(root(s), reference_mth(prefix(s))) << s;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100; ++i) {
    uint64_t s = rng() % (leaves_.size() + 1);
    ASSERT_EQ(root(s), reference_mth(prefix(s))) << s;
  }
}

TEST_F(MerklePropertyTest, EveryProofInSmallTreesVerifiesAndTamperingFails) {
  for (uint64_t n = 1; n <= 40; ++n) {
    for (uint64_t i = 0; i < n; ++i) check_inclusion(i, n, true);
    for (uint64_t m = 0; m <= n; ++m) check_consistency(m, n, true);
  }
}

TEST_F(MerklePropertyTest, RandomProofsInLargeTreesVerifyAndTamperingFails) {
  std::mt19937_64 rng(9162);
  const uint64_t size = tree_->size();
  for (int i = 0; i < 400; ++i) {
    uint64_t n = rng() % size + 1;
    check_inclusion(rng() % n, n, i % 8 == 0);
    check_consistency(rng() % (n + 1), n, i % 8 == 0);
  }
  // The largest proofs: first and last leaf of the whole tree.
  check_inclusion(0, size, true);
  check_inclusion(size - 1, size, true);
  check_consistency(1, size, true);
  check_consistency(size - 1, size, true);
}

// Tree mechanics.

TEST_F(MerklePropertyTest, ReopeningAtAnySizeContinuesTheSameTree) {
  for (uint64_t s : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{1023}, uint64_t{2047}}) {
    // A store holding the whole tree opens at any smaller size...
    auto tree = MerkleTree::open(store_, s);
    ASSERT_TRUE(tree) << s;
    EXPECT_EQ(tree->root(), root(s));
    // ...and a fresh store holding exactly s leaves continues to the same tree.
    MemoryHashStore copy;
    build(copy, prefix(s));
    auto reopened = MerkleTree::open(copy, s);
    ASSERT_TRUE(reopened);
    ASSERT_TRUE(reopened->append_batch(std::span(leaves_).subspan(s)));
    EXPECT_EQ(reopened->root(), tree_->root());
    EXPECT_EQ(copy.size(), store_.size());
  }
}

TEST(MerkleTreeTest, StoresOnlyCompleteSubtrees) {
  MemoryHashStore store;
  std::vector<Hash> leaves(1000, leaf_hash("x"));
  build(store, leaves);
  // Level l holds floor(1000 / 2^l) nodes: 1000 + 500 + ... + 1 = 1994.
  size_t expected = 0;
  for (uint64_t n = 1000; n > 0; n /= 2) expected += n;
  EXPECT_EQ(store.size(), expected);
}

TEST(MerkleTreeTest, OpenFailsWhenStoreLacksNodes) {
  MemoryHashStore store;
  auto tree = MerkleTree::open(store, 5);
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().code, ErrorCode::kDataLoss);
  build(store, leaf_hashes(kLeaves));
  EXPECT_FALSE(MerkleTree::open(store, 9));
  EXPECT_EQ(MerkleTree::open(store, 8)->root(), kRoots[7]);
}

TEST(MerkleTreeTest, FailedWriteLeavesTreeUnchanged) {
  auto hashes = leaf_hashes(kLeaves);
  FailingHashStore store(/*fail_at=*/1);
  auto tree = MerkleTree::open(store, 0);
  ASSERT_TRUE(tree);
  ASSERT_TRUE(tree->append_batch(std::span(hashes).first(3)));
  auto failed = tree->append_batch(std::span(hashes).subspan(3));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(tree->size(), 3u);
  EXPECT_EQ(tree->root(), kRoots[2]);
  // The retry rewrites the torn half with the same hashes and succeeds.
  ASSERT_TRUE(tree->append_batch(std::span(hashes).subspan(3)));
  EXPECT_EQ(tree->root(), kRoots[7]);
  EXPECT_EQ(*tree->inclusion_proof(5, 8), kInclusionVectors[1].proof);
}

TEST(MerkleTreeTest, RequestsBeyondTheTreeAreOutOfRange) {
  MemoryHashStore store;
  MerkleTree tree = build(store, leaf_hashes(kLeaves));
  for (auto r : {tree.inclusion_proof(8, 8), tree.inclusion_proof(0, 9), tree.inclusion_proof(0, 0),
                 tree.consistency_proof(3, 2), tree.consistency_proof(1, 9)}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kOutOfRange);
  }
  EXPECT_EQ(tree.root_at(9).error().code, ErrorCode::kOutOfRange);
  EXPECT_TRUE(tree.consistency_proof(0, 8)->empty());
  EXPECT_TRUE(tree.consistency_proof(8, 8)->empty());
  EXPECT_FALSE(tree.complete_nodes(std::vector<NodeId>{{3, 1}}));  // leaves 8..15
  EXPECT_FALSE(tree.complete_nodes(std::vector<NodeId>{{4, 0}}));
  EXPECT_EQ(tree.complete_nodes(std::vector<NodeId>{{3, 0}, {0, 7}})->front(), kRoots[7]);
}

TEST(MerkleTreeTest, MemoryStoreRefusesToRewriteHistory) {
  MemoryHashStore store;
  ASSERT_TRUE(store.put({0, 0}, kSomeHash));
  EXPECT_TRUE(store.put({0, 0}, kSomeHash));
  auto s = store.put({0, 0}, empty_root());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store.get({1, 0}).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace custody::audit
