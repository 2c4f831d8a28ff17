#include "audit/tile.h"

#include <charconv>

#include "audit/encoding.h"

namespace custody::audit {
namespace {

constexpr std::string_view kTilePrefix = "tile/";
constexpr std::string_view kEntriesPrefix = "entries/";
constexpr std::string_view kPartialMarker = ".p/";

// How many hashes of Merkle level 8 * tile_level are complete in a tree.
uint64_t hashes_at_tile_level(int tile_level, uint64_t tree_size) {
  int shift = tile_level * kTileHeight;
  return shift >= 64 ? 0 : tree_size >> shift;
}

// A decimal with no sign, leading zeros or overflow, at most `max`.
Result<uint64_t> parse_small_decimal(std::string_view s, uint64_t max, std::string_view what) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  bool leading_zero = s.size() > 1 && s[0] == '0';
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || leading_zero || v > max)
    return fail(ErrorCode::kInvalidArgument, "invalid tile " + std::string(what) + " \"" + std::string(s) + "\"");
  return v;
}

std::string width_suffix(uint16_t width) {
  return width < kTileWidth ? std::string(kPartialMarker) + std::to_string(width) : std::string();
}

}  // namespace

std::vector<NodeId> TileId::nodes() const {
  std::vector<NodeId> ids;
  ids.reserve(width);
  auto node_level = static_cast<uint8_t>(level * kTileHeight);
  for (uint64_t i = 0; i < width; ++i) ids.push_back(NodeId{node_level, index * kTileWidth + i});
  return ids;
}

std::string TileId::path() const {
  return std::string(kTilePrefix) + std::to_string(level) + "/" + encode_tile_index(index) + width_suffix(width);
}

std::string TileId::entries_path() const {
  return std::string(kTilePrefix) + std::string(kEntriesPrefix) + encode_tile_index(index) + width_suffix(width);
}

Result<TileId> tile_at(uint8_t level, uint64_t index, uint64_t tree_size) {
  uint64_t have = hashes_at_tile_level(level, tree_size);
  uint64_t tiles = have / kTileWidth + (have % kTileWidth != 0 ? 1 : 0);
  if (level > kMaxTileLevel || index >= tiles)
    return fail(ErrorCode::kNotFound, "tile " + std::to_string(level) + "/" + std::to_string(index) +
                                          " does not exist at tree size " + std::to_string(tree_size));
  uint64_t width = std::min<uint64_t>(kTileWidth, have - index * kTileWidth);
  return TileId{level, index, static_cast<uint16_t>(width)};
}

std::vector<TileId> new_tiles(uint64_t from_size, uint64_t tree_size) {
  std::vector<TileId> out;
  if (from_size > tree_size) from_size = tree_size;
  for (int level = 0; level <= kMaxTileLevel; ++level) {
    uint64_t have = hashes_at_tile_level(level, tree_size);
    uint64_t had = hashes_at_tile_level(level, from_size);
    // Counts only shrink going up, so an unchanged level ends the search.
    if (have == had) break;
    auto l = static_cast<uint8_t>(level);
    for (uint64_t n = had / kTileWidth; n < have / kTileWidth; ++n) out.push_back(TileId{l, n, kTileWidth});
    if (have % kTileWidth != 0)
      out.push_back(TileId{l, have / kTileWidth, static_cast<uint16_t>(have % kTileWidth)});
  }
  return out;
}

std::string encode_tile_index(uint64_t index) {
  std::string digits = std::to_string(index);
  digits.insert(0, (3 - digits.size() % 3) % 3, '0');
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 3) {
    bool last = i + 3 == digits.size();
    if (!last) out += 'x';
    out.append(digits, i, 3);
    if (!last) out += '/';
  }
  return out;
}

Result<uint64_t> parse_tile_index(std::string_view text) {
  // 2^64 has 20 digits: at most 7 groups, "x018/x446/x744/x073/x709/x551/615".
  if (text.empty() || text.size() > 6 * 5 + 3) return fail(ErrorCode::kInvalidArgument, "invalid tile index");
  std::string digits;
  size_t pos = 0;
  while (true) {
    size_t slash = text.find('/', pos);
    std::string_view group = text.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    bool last = slash == std::string_view::npos;
    if (!last) {
      if (group.size() != 4 || group[0] != 'x') return fail(ErrorCode::kInvalidArgument, "invalid tile index");
      group.remove_prefix(1);
    }
    if (group.size() != 3) return fail(ErrorCode::kInvalidArgument, "invalid tile index");
    for (char c : group)
      if (c < '0' || c > '9') return fail(ErrorCode::kInvalidArgument, "invalid tile index");
    digits.append(group);
    if (last) break;
    pos = slash + 1;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  // Only the shortest spelling is canonical: "x000/001" is not 1.
  if (ec != std::errc() || end != digits.data() + digits.size() || encode_tile_index(v) != text)
    return fail(ErrorCode::kInvalidArgument, "invalid tile index");
  return v;
}

Result<TilePath> parse_tile_path(std::string_view path) {
  if (!path.starts_with(kTilePrefix)) return fail(ErrorCode::kInvalidArgument, "not a tile path");
  path.remove_prefix(kTilePrefix.size());
  TilePath out;
  if (path.starts_with(kEntriesPrefix)) {
    out.entries = true;
    path.remove_prefix(kEntriesPrefix.size());
  } else {
    size_t slash = path.find('/');
    if (slash == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "tile path has no index");
    auto level = parse_small_decimal(path.substr(0, slash), kMaxTileLevel, "level");
    if (!level) return std::unexpected(level.error());
    out.tile.level = static_cast<uint8_t>(*level);
    path.remove_prefix(slash + 1);
  }
  size_t marker = path.find(kPartialMarker);
  if (marker != std::string_view::npos) {
    auto width = parse_small_decimal(path.substr(marker + kPartialMarker.size()), kTileWidth - 1, "width");
    if (!width) return std::unexpected(width.error());
    if (*width == 0) return fail(ErrorCode::kInvalidArgument, "partial tile width must be at least 1");
    out.tile.width = static_cast<uint16_t>(*width);
    path = path.substr(0, marker);
  }
  auto index = parse_tile_index(path);
  if (!index) return std::unexpected(index.error());
  out.tile.index = *index;
  return out;
}

Result<std::vector<Hash>> read_tile(const MerkleTree& tree, const TileId& tile) {
  uint64_t have = hashes_at_tile_level(tile.level, tree.size());
  bool fits = tile.width >= 1 && tile.width <= kTileWidth && tile.index < have / kTileWidth + 1 &&
              tile.index * kTileWidth + tile.width <= have;
  if (!fits)
    return fail(ErrorCode::kOutOfRange, tile.path() + " is beyond tree size " + std::to_string(tree.size()));
  return tree.complete_nodes(tile.nodes());
}

std::string encode_tile(std::span<const Hash> hashes) {
  std::string out;
  out.reserve(hashes.size() * Hash::kSize);
  for (const Hash& h : hashes) out.append(reinterpret_cast<const char*>(h.bytes().data()), Hash::kSize);
  return out;
}

Result<std::vector<Hash>> decode_tile(std::string_view data, const TileId& tile) {
  if (data.size() != size_t{tile.width} * Hash::kSize)
    return fail(ErrorCode::kInvalidArgument, tile.path() + " must be " + std::to_string(tile.width * Hash::kSize) +
                                                 " bytes, got " + std::to_string(data.size()));
  std::vector<Hash> out;
  out.reserve(tile.width);
  for (size_t off = 0; off < data.size(); off += Hash::kSize) {
    auto h = Hash::from_bytes(bytes_of(data.substr(off, Hash::kSize)));
    if (!h) return std::unexpected(h.error());
    out.push_back(*h);
  }
  return out;
}

Result<std::string> encode_entry_bundle(std::span<const std::string> entries) {
  if (entries.size() > kTileWidth)
    return fail(ErrorCode::kInvalidArgument, "an entry bundle holds at most 256 entries");
  std::string out;
  for (const std::string& e : entries) {
    if (e.size() > kMaxEntrySize)
      return fail(ErrorCode::kInvalidArgument, "log entry of " + std::to_string(e.size()) +
                                                   " bytes exceeds the 65535-byte bundle limit");
    out.push_back(static_cast<char>(e.size() >> 8));
    out.push_back(static_cast<char>(e.size() & 0xff));
    out.append(e);
  }
  return out;
}

Result<std::vector<std::string>> decode_entry_bundle(std::string_view data) {
  std::vector<std::string> out;
  while (!data.empty()) {
    if (out.size() == kTileWidth)
      return fail(ErrorCode::kInvalidArgument, "entry bundle has more than 256 entries");
    if (data.size() < 2) return fail(ErrorCode::kInvalidArgument, "entry bundle is truncated");
    size_t len = size_t{static_cast<uint8_t>(data[0])} << 8 | static_cast<uint8_t>(data[1]);
    data.remove_prefix(2);
    if (data.size() < len) return fail(ErrorCode::kInvalidArgument, "entry bundle is truncated");
    out.emplace_back(data.substr(0, len));
    data.remove_prefix(len);
  }
  return out;
}

Status verify_entry_bundle(std::span<const std::string> entries, std::span<const Hash> hashes,
                           const TileId& tile) {
  if (tile.level != 0) return fail(ErrorCode::kInvalidArgument, "entry bundles match level-0 tiles only");
  if (entries.size() != tile.width || hashes.size() != tile.width)
    return fail(ErrorCode::kDataLoss, tile.entries_path() + " has " + std::to_string(entries.size()) +
                                          " entries for " + std::to_string(hashes.size()) + " hashes");
  for (size_t i = 0; i < entries.size(); ++i) {
    if (leaf_hash(entries[i]) != hashes[i])
      return fail(ErrorCode::kDataLoss, "entry " + std::to_string(tile.index * kTileWidth + i) +
                                            " does not match its leaf hash in " + tile.path());
  }
  return {};
}

}  // namespace custody::audit
