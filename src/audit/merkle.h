// The custody log's Merkle tree: RFC 6962 / RFC 9162 hashing, an
// append-only tree kept incrementally over a narrow hash store, and
// inclusion and consistency proofs with their verifiers.
//
// Vocabulary (RFC 9162 §2.1):
//   leaf hash  = SHA-256(0x00 || entry)
//   node hash  = SHA-256(0x01 || left || right)
//   MTH(D[n])  = the root of the tree over the first n entries; the
//                empty tree's root is SHA-256("").
//
// Storage model: only hashes of *complete* subtrees are ever stored. A
// complete subtree is named by a NodeId{level, index} and covers leaves
// [index * 2^level, (index + 1) * 2^level); once written its hash never
// changes. Every other hash the tree needs (roots of sizes that are not a
// power of two, proof elements on the right edge) is recomputed from at
// most log2(n) stored hashes. So an append writes 1 + trailing_ones(n)
// hashes, a tree of n leaves stores fewer than 2n hashes, and nothing is
// ever overwritten: the store can be an append-only table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace custody::audit {

// A SHA-256 value: a leaf, node or root hash.
class Hash {
 public:
  static constexpr size_t kSize = 32;

  Hash() = default;  // all zero bytes; not the hash of anything
  explicit Hash(const std::array<uint8_t, kSize>& bytes) : bytes_(bytes) {}

  // kInvalidArgument unless `bytes` is exactly 32 bytes long.
  static Result<Hash> from_bytes(std::span<const uint8_t> bytes);
  // 64 hex digits, either case.
  static Result<Hash> from_hex(std::string_view hex);

  std::span<const uint8_t, kSize> bytes() const { return bytes_; }
  std::string hex() const;

  friend bool operator==(const Hash&, const Hash&) = default;
  friend auto operator<=>(const Hash&, const Hash&) = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

Hash leaf_hash(std::span<const uint8_t> entry);
Hash leaf_hash(std::string_view entry);
Hash node_hash(const Hash& left, const Hash& right);
Hash empty_root();  // MTH of the empty tree: SHA-256 of no bytes

// MTH over `hashes` taken as the roots of equal-sized, adjacent complete
// subtrees (leaf hashes, or the hashes of one tile). empty_root() if empty.
Hash root_of(std::span<const Hash> hashes);

// A complete subtree: leaves [index << level, (index + 1) << level).
struct NodeId {
  uint8_t level = 0;
  uint64_t index = 0;

  uint64_t first_leaf() const { return index << level; }
  uint64_t end_leaf() const { return (index + 1) << level; }
  friend bool operator==(const NodeId&, const NodeId&) = default;
  friend auto operator<=>(const NodeId&, const NodeId&) = default;
};

// Where the tree keeps its complete-subtree hashes. The MetaStore provides
// one inside each transaction, so hashes commit with the events they cover.
// Implementations need not be thread-safe; a MerkleTree uses one at a time.
class HashStore {
 public:
  virtual ~HashStore() = default;

  // kNotFound if the node was never put.
  virtual Result<Hash> get(NodeId id) = 0;
  // Puts a node's hash. Putting a node again with the same hash must
  // succeed (a retried append repeats its writes).
  virtual Status put(NodeId id, const Hash& hash) = 0;

  // Batched forms, for stores where one round trip per hash is costly.
  // The defaults loop over get/put. get_many answers in the order asked.
  virtual Result<std::vector<Hash>> get_many(std::span<const NodeId> ids);
  virtual Status put_many(std::span<const std::pair<NodeId, Hash>> nodes);
};

// A HashStore in memory, for tests and for verifying clients that rebuild
// a tree from downloaded entries.
class MemoryHashStore final : public HashStore {
 public:
  Result<Hash> get(NodeId id) override;
  // kAlreadyExists if the node is present with a different hash.
  Status put(NodeId id, const Hash& hash) override;
  size_t size() const { return nodes_.size(); }

 private:
  std::map<NodeId, Hash> nodes_;
};

// The append-only tree. A cheap view over a HashStore: it holds the
// store pointer, the size, and the log2(size) hashes of the complete
// subtrees along the right edge (the "compact range"). The store must
// outlive the tree. Not thread-safe.
//
// Opening is O(log n) reads, so with a transactional store the usual
// pattern is to open a tree inside each transaction at the size recorded
// there, append, and drop it; a rolled-back transaction then cannot leave
// an in-memory tree ahead of the store.
class MerkleTree {
 public:
  // A tree over `store` that already holds the hashes for `size` leaves.
  // kDataLoss if the store lacks any of them.
  static Result<MerkleTree> open(HashStore& store, uint64_t size);

  uint64_t size() const { return size_; }

  // Appends one leaf hash (see leaf_hash) and returns its index.
  Result<uint64_t> append(const Hash& leaf);
  // Appends leaves in order with one put_many. Returns the first index.
  // On error nothing is appended (the store may hold orphan nodes for the
  // failed leaves; re-appending the same leaves rewrites the same hashes).
  Result<uint64_t> append_batch(std::span<const Hash> leaves);

  // MTH(D[size()]), from the edge hashes held in memory (no store reads).
  Hash root() const;
  // MTH(D[size]) for any size <= size(); O(log n) reads.
  Result<Hash> root_at(uint64_t size) const;

  // RFC 9162 §2.1.3.1 PATH(index, D[size]), leaf end first.
  // kOutOfRange unless index < size <= size().
  Result<std::vector<Hash>> inclusion_proof(uint64_t index, uint64_t size) const;
  // RFC 9162 §2.1.4.1 PROOF(old_size, D[new_size]). Empty when old_size is
  // 0 or equal to new_size. kOutOfRange unless old_size <= new_size <= size().
  Result<std::vector<Hash>> consistency_proof(uint64_t old_size, uint64_t new_size) const;

  // Stored hashes of complete subtrees, in the order asked (tiles are
  // built from these). kOutOfRange if a node is not complete at size().
  Result<std::vector<Hash>> complete_nodes(std::span<const NodeId> ids) const;

 private:
  MerkleTree(HashStore& store, uint64_t size, std::vector<Hash> edge)
      : store_(&store), size_(size), edge_(std::move(edge)) {}

  Result<std::vector<Hash>> fetch(std::span<const NodeId> ids) const;
  Result<std::vector<Hash>> hash_ranges(std::span<const std::pair<uint64_t, uint64_t>> ranges) const;

  HashStore* store_;
  uint64_t size_ = 0;
  // Roots of the complete subtrees that make up [0, size_), largest first:
  // one per set bit of size_.
  std::vector<Hash> edge_;
};

// Verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2). They return OK only for a
// proof that is exactly right; otherwise kInvalidArgument when the sizes
// or the proof length cannot be right for any tree, and kDataLoss when
// the hashes do not lead to the expected root.

// Recomputes the root from a leaf hash and its inclusion proof.
Result<Hash> root_from_inclusion_proof(const Hash& leaf, uint64_t index, uint64_t size,
                                       std::span<const Hash> proof);
Status verify_inclusion(const Hash& leaf, uint64_t index, uint64_t size, std::span<const Hash> proof,
                        const Hash& root);
Status verify_consistency(uint64_t old_size, uint64_t new_size, std::span<const Hash> proof,
                          const Hash& old_root, const Hash& new_root);

// The number of hashes a correct proof has, so callers can reject bad
// input before fetching anything. Preconditions as for the generators.
size_t inclusion_proof_size(uint64_t index, uint64_t size);
size_t consistency_proof_size(uint64_t old_size, uint64_t new_size);

}  // namespace custody::audit
