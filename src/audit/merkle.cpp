// SHA256_CTX is deprecated in OpenSSL 3, but the custody log hashes tiny
// inputs (65-byte nodes) at a high rate: the EVP one-shot functions fetch
// the algorithm on every call and measure 4-5x slower here (about 450 ns
// against 100 ns per node). The low-level API runs the same SHA-NI code.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "audit/merkle.h"

#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "audit/encoding.h"

namespace custody::audit {
namespace {

using Range = std::pair<uint64_t, uint64_t>;  // leaves [first, second)

Hash sha256_with_prefix(uint8_t prefix, std::span<const uint8_t> a, std::span<const uint8_t> b = {}) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &prefix, 1);
  SHA256_Update(&ctx, a.data(), a.size());
  SHA256_Update(&ctx, b.data(), b.size());
  std::array<uint8_t, Hash::kSize> out{};
  SHA256_Final(out.data(), &ctx);
  return Hash(out);
}

std::string node_name(NodeId id) {
  return "level " + std::to_string(id.level) + " index " + std::to_string(id.index);
}

// Appends the complete subtrees covering [begin, end), largest first. The
// ranges the RFC 9162 recursions produce always start at a multiple of the
// largest power of two not above their width, so each piece is aligned.
void append_range_nodes(Range range, std::vector<NodeId>& out) {
  uint64_t width = range.second - range.first;
  uint64_t pos = range.first;
  for (int level = 63; level >= 0; --level) {
    uint64_t piece = uint64_t{1} << level;
    if ((width & piece) == 0) continue;
    out.push_back(NodeId{static_cast<uint8_t>(level), pos >> level});
    pos += piece;
  }
}

// MTH of consecutive complete subtrees given largest first: the right
// edge folds from the smallest piece up.
Hash fold_edge(std::span<const Hash> pieces) {
  if (pieces.empty()) return empty_root();
  Hash h = pieces.back();
  for (size_t i = pieces.size() - 1; i-- > 0;) h = node_hash(pieces[i], h);
  return h;
}

}  // namespace

Result<Hash> Hash::from_bytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSize)
    return fail(ErrorCode::kInvalidArgument, "hash must be 32 bytes, got " + std::to_string(bytes.size()));
  std::array<uint8_t, kSize> raw{};
  std::memcpy(raw.data(), bytes.data(), kSize);
  return Hash(raw);
}

Result<Hash> Hash::from_hex(std::string_view hex) {
  if (hex.size() != 2 * kSize) return fail(ErrorCode::kInvalidArgument, "hash must be 64 hex digits");
  auto raw = hex_decode(hex);
  if (!raw) return std::unexpected(raw.error());
  return from_bytes(*raw);
}

std::string Hash::hex() const { return hex_encode(bytes_); }

Hash leaf_hash(std::span<const uint8_t> entry) { return sha256_with_prefix(0x00, entry); }
Hash leaf_hash(std::string_view entry) { return leaf_hash(bytes_of(entry)); }
Hash node_hash(const Hash& left, const Hash& right) {
  return sha256_with_prefix(0x01, left.bytes(), right.bytes());
}

Hash empty_root() {
  std::array<uint8_t, Hash::kSize> out{};
  SHA256(nullptr, 0, out.data());
  return Hash(out);
}

Hash root_of(std::span<const Hash> hashes) {
  if (hashes.empty()) return empty_root();
  if (hashes.size() == 1) return hashes[0];
  size_t k = std::bit_floor(hashes.size() - 1);  // largest power of two below size
  return node_hash(root_of(hashes.first(k)), root_of(hashes.subspan(k)));
}

// HashStore batched defaults.

Result<std::vector<Hash>> HashStore::get_many(std::span<const NodeId> ids) {
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (NodeId id : ids) {
    auto h = get(id);
    if (!h) return std::unexpected(h.error());
    out.push_back(*h);
  }
  return out;
}

Status HashStore::put_many(std::span<const std::pair<NodeId, Hash>> nodes) {
  for (const auto& [id, hash] : nodes) {
    if (auto s = put(id, hash); !s) return s;
  }
  return {};
}

Result<Hash> MemoryHashStore::get(NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return fail(ErrorCode::kNotFound, "no hash stored for " + node_name(id));
  return it->second;
}

Status MemoryHashStore::put(NodeId id, const Hash& hash) {
  auto [it, inserted] = nodes_.emplace(id, hash);
  if (!inserted && it->second != hash)
    return fail(ErrorCode::kAlreadyExists, "a different hash is already stored for " + node_name(id));
  return {};
}

// MerkleTree.

Result<MerkleTree> MerkleTree::open(HashStore& store, uint64_t size) {
  MerkleTree tree(store, size, {});
  std::vector<NodeId> ids;
  append_range_nodes({0, size}, ids);
  auto edge = tree.fetch(ids);
  if (!edge) return std::unexpected(edge.error());
  tree.edge_ = std::move(*edge);
  return tree;
}

Result<uint64_t> MerkleTree::append(const Hash& leaf) { return append_batch(std::span(&leaf, 1)); }

Result<uint64_t> MerkleTree::append_batch(std::span<const Hash> leaves) {
  if (leaves.size() > UINT64_MAX - size_) return fail(ErrorCode::kResourceExhausted, "merkle tree is full");
  // Work on copies so that a failed write leaves this tree unchanged.
  std::vector<std::pair<NodeId, Hash>> writes;
  writes.reserve(leaves.size() * 2 + 64);
  std::vector<Hash> edge = edge_;
  uint64_t size = size_;
  for (const Hash& leaf : leaves) {
    Hash h = leaf;
    NodeId id{0, size};
    writes.emplace_back(id, h);
    // Each trailing one bit of the old size is a complete subtree on the
    // edge that the new leaf now completes to the next level.
    while (id.index & 1) {
      h = node_hash(edge.back(), h);
      edge.pop_back();
      id = NodeId{static_cast<uint8_t>(id.level + 1), id.index >> 1};
      writes.emplace_back(id, h);
    }
    edge.push_back(h);
    ++size;
  }
  if (auto s = store_->put_many(writes); !s) return std::unexpected(s.error());
  uint64_t first = size_;
  size_ = size;
  edge_ = std::move(edge);
  return first;
}

Hash MerkleTree::root() const { return fold_edge(edge_); }

Result<Hash> MerkleTree::root_at(uint64_t size) const {
  if (size > size_)
    return fail(ErrorCode::kOutOfRange,
                "tree size " + std::to_string(size) + " exceeds the log size " + std::to_string(size_));
  if (size == size_) return root();
  if (size == 0) return empty_root();
  const Range whole{0, size};
  auto roots = hash_ranges(std::span(&whole, 1));
  if (!roots) return std::unexpected(roots.error());
  return roots->front();
}

Result<std::vector<Hash>> MerkleTree::inclusion_proof(uint64_t index, uint64_t size) const {
  if (size > size_ || index >= size)
    return fail(ErrorCode::kOutOfRange, "no leaf " + std::to_string(index) + " in a tree of size " +
                                            std::to_string(size) + " (log size " + std::to_string(size_) + ")");
  // Walk down from the root to the leaf; each step's sibling subtree is
  // one proof element. The proof lists them leaf end first.
  std::vector<Range> siblings;
  uint64_t begin = 0, end = size;
  while (end - begin > 1) {
    uint64_t k = std::bit_floor(end - begin - 1);
    if (index < begin + k) {
      siblings.push_back({begin + k, end});
      end = begin + k;
    } else {
      siblings.push_back({begin, begin + k});
      begin += k;
    }
  }
  std::reverse(siblings.begin(), siblings.end());
  return hash_ranges(siblings);
}

Result<std::vector<Hash>> MerkleTree::consistency_proof(uint64_t old_size, uint64_t new_size) const {
  if (old_size > new_size || new_size > size_)
    return fail(ErrorCode::kOutOfRange, "no consistency proof from size " + std::to_string(old_size) + " to " +
                                            std::to_string(new_size) + " (log size " + std::to_string(size_) + ")");
  if (old_size == 0 || old_size == new_size) return std::vector<Hash>{};
  // RFC 9162 SUBPROOF(m, D[begin:end], whole), unrolled from the top.
  std::vector<Range> parts;
  uint64_t begin = 0, end = new_size, m = old_size;
  bool whole = true;  // is D[begin:end]'s prefix of size m the entire old tree?
  while (m != end - begin) {
    uint64_t k = std::bit_floor(end - begin - 1);
    if (m <= k) {
      parts.push_back({begin + k, end});
      end = begin + k;
    } else {
      parts.push_back({begin, begin + k});
      begin += k;
      m -= k;
      whole = false;
    }
  }
  // The verifier knows the old root; it needs this subtree only when the
  // old tree is not itself this subtree.
  if (!whole) parts.push_back({begin, end});
  std::reverse(parts.begin(), parts.end());
  return hash_ranges(parts);
}

Result<std::vector<Hash>> MerkleTree::complete_nodes(std::span<const NodeId> ids) const {
  for (NodeId id : ids) {
    if (id.level >= 64 || id.index >= (size_ >> id.level))
      return fail(ErrorCode::kOutOfRange,
                  node_name(id) + " is not a complete subtree of a tree of size " + std::to_string(size_));
  }
  return fetch(ids);
}

Result<std::vector<Hash>> MerkleTree::fetch(std::span<const NodeId> ids) const {
  if (ids.empty()) return std::vector<Hash>{};
  auto hashes = store_->get_many(ids);
  if (!hashes) {
    // A node below size_ was appended and must be there: its absence
    // means the store lost data, not that the caller asked for too much.
    return fail(hashes.error().code == ErrorCode::kNotFound ? ErrorCode::kDataLoss : hashes.error().code,
                "merkle tree of size " + std::to_string(size_) + ": " + hashes.error().message);
  }
  if (hashes->size() != ids.size()) return fail(ErrorCode::kInternal, "hash store answered the wrong count");
  return hashes;
}

// Hashes each range with one batched read for all of them.
Result<std::vector<Hash>> MerkleTree::hash_ranges(std::span<const Range> ranges) const {
  std::vector<NodeId> ids;
  std::vector<size_t> ends;  // ids[ends[i-1], ends[i]) cover ranges[i]
  for (const Range& r : ranges) {
    append_range_nodes(r, ids);
    ends.push_back(ids.size());
  }
  auto pieces = fetch(ids);
  if (!pieces) return std::unexpected(pieces.error());
  std::vector<Hash> out;
  out.reserve(ranges.size());
  size_t start = 0;
  for (size_t end : ends) {
    out.push_back(fold_edge(std::span(*pieces).subspan(start, end - start)));
    start = end;
  }
  return out;
}

}  // namespace custody::audit
