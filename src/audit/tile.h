// C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the log's Merkle tree
// and entries cut into immutable static resources that any client can
// fetch, cache and turn into its own proofs.
//
//   tile/<L>/<N>[.p/<W>]       W hashes of Merkle level 8L, starting at
//                              index 256N; full tiles (W = 256) omit .p/W
//   tile/entries/<N>[.p/<W>]   the entries behind level-0 tile N
//
// N is written in 3-digit groups, all but the last prefixed with "x"
// (1234067 is x001/x234/067) so tiles can be files in a directory tree.
// Paths here are relative to the log's URL prefix (the server mounts
// them under /log/).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "common/error.h"

namespace custody::audit {

inline constexpr int kTileHeight = 8;
inline constexpr uint16_t kTileWidth = 1 << kTileHeight;  // hashes in a full tile
inline constexpr int kMaxTileLevel = 63;                    // as the spec bounds <L>
inline constexpr size_t kMaxEntrySize = 65535;              // uint16 length prefix

// One tile: `width` hashes at Merkle level 8 * level, from hash index
// 256 * index. The same id names the entry bundle of a level-0 tile.
struct TileId {
  uint8_t level = 0;
  uint64_t index = 0;
  uint16_t width = kTileWidth;  // 1..256

  bool is_partial() const { return width < kTileWidth; }
  // NodeIds of the hashes the tile holds, in order (meaningful for tiles
  // that can exist: level 7 and below).
  std::vector<NodeId> nodes() const;
  std::string path() const;          // tile/<L>/<N>[.p/<W>]
  std::string entries_path() const;  // tile/entries/<N>[.p/<W>]

  friend bool operator==(const TileId&, const TileId&) = default;
};

// The tile at (level, index) in a tree of `tree_size` leaves: full, or
// partial with the width the spec assigns. kNotFound if it has no hashes.
Result<TileId> tile_at(uint8_t level, uint64_t index, uint64_t tree_size);

// Every tile (full or partial) of a tree of `tree_size` leaves that a tree
// of `from_size` leaves did not already have in the same form: what a log
// must publish when it moves from one checkpoint to the next.
std::vector<TileId> new_tiles(uint64_t from_size, uint64_t tree_size);

// "x001/x234/067" for 1234067; "000" for 0.
std::string encode_tile_index(uint64_t index);
// The inverse; kInvalidArgument for anything but the canonical form.
Result<uint64_t> parse_tile_index(std::string_view text);

// A parsed request path.
struct TilePath {
  bool entries = false;  // tile/entries/... rather than a hash tile
  TileId tile;
};
// Strict: decimal fields without leading zeros, L in 0..63, W in 1..255,
// canonical N. kInvalidArgument otherwise.
Result<TilePath> parse_tile_path(std::string_view path);

// The hashes of `tile` read from the tree. kOutOfRange if the tree is too
// small to hold them (a partial tile exists for any width up to what the
// tree has).
Result<std::vector<Hash>> read_tile(const MerkleTree& tree, const TileId& tile);

// A tile's wire form: its hashes, concatenated.
std::string encode_tile(std::span<const Hash> hashes);
// kInvalidArgument unless `data` is exactly tile.width hashes.
Result<std::vector<Hash>> decode_tile(std::string_view data, const TileId& tile);

// An entry bundle: each entry as a big-endian uint16 length and its bytes.
// kInvalidArgument for an entry over kMaxEntrySize or more than 256 entries.
Result<std::string> encode_entry_bundle(std::span<const std::string> entries);
// kInvalidArgument if truncated or over 256 entries.
Result<std::vector<std::string>> decode_entry_bundle(std::string_view data);

// Checks that `entries` hash to the level-0 tile `hashes`, one to one.
// kDataLoss naming the first entry that does not.
Status verify_entry_bundle(std::span<const std::string> entries, std::span<const Hash> hashes,
                           const TileId& tile);

}  // namespace custody::audit
