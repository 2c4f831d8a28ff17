// C2SP tlog-tiles: paths, which tiles exist at a size (the spec's own
// 70,000-entry example), tile contents against the spec's MTH formula, and
// entry bundles.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "audit/tile.h"

namespace custody::audit {
namespace {

TEST(TilePathTest, EncodesIndexInThreeDigitGroups) {
  EXPECT_EQ(encode_tile_index(0), "000");
  EXPECT_EQ(encode_tile_index(7), "007");
  EXPECT_EQ(encode_tile_index(999), "999");
  EXPECT_EQ(encode_tile_index(1000), "x001/000");
  EXPECT_EQ(encode_tile_index(1234067), "x001/x234/067");  // the spec's example
  EXPECT_EQ(encode_tile_index(UINT64_MAX), "x018/x446/x744/x073/x709/x551/615");
  for (uint64_t n : {uint64_t{0}, uint64_t{5}, uint64_t{1000}, uint64_t{1234067}, UINT64_MAX}) {
    auto parsed = parse_tile_index(encode_tile_index(n));
    ASSERT_TRUE(parsed) << n;
    EXPECT_EQ(*parsed, n);
  }
}

TEST(TilePathTest, IndexParsingAcceptsOnlyTheCanonicalForm) {
  for (const char* bad : {"", "1", "01", "0001", "x001", "x000/001", "001/002", "x1/002", "x001/x234/67",
                          "x001//067", "x00a/001", "-01", "+01", "x001/x234/067/", "/001", "X001/000",
                          "x018/x446/x744/x073/x709/x551/616", "x001/x018/x446/x744/x073/x709/x551/615"}) {
    auto r = parse_tile_index(bad);
    EXPECT_FALSE(r) << bad;
  }
}

TEST(TilePathTest, FormatsAndParsesTilePaths) {
  TileId full{0, 1234067, kTileWidth};
  EXPECT_EQ(full.path(), "tile/0/x001/x234/067");
  EXPECT_EQ(full.entries_path(), "tile/entries/x001/x234/067");
  TileId partial{1, 5, 17};
  EXPECT_EQ(partial.path(), "tile/1/005.p/17");
  EXPECT_EQ((TileId{0, 3, 3}).entries_path(), "tile/entries/003.p/3");
  for (const TileId& t : {full, partial, TileId{63, 0, 1}, TileId{2, 1000, 255}}) {
    auto p = parse_tile_path(t.path());
    ASSERT_TRUE(p) << t.path();
    EXPECT_FALSE(p->entries);
    EXPECT_EQ(p->tile, t);
    auto e = parse_tile_path(t.entries_path());
    ASSERT_TRUE(e) << t.entries_path();
    EXPECT_TRUE(e->entries);
    EXPECT_EQ(e->tile, (TileId{0, t.index, t.width}));
  }
}

TEST(TilePathTest, RejectsMalformedTilePaths) {
  for (const char* bad : {"tile/00/000", "tile/64/000", "tile/-1/000", "tile/+1/000", "tile/0/000.p/0",
                          "tile/0/000.p/256", "tile/0/000.p/05", "tile/0/000.p/", "tile/0/000.p", "tile/0/000.q/5",
                          "tile/entries/000.p/300", "tiles/0/000", "tile/0", "tile/0/", "tile/", "tile/entries/",
                          "tile/0/000.p/5/x", "tile/0/000.p/5.p/3", "/tile/0/000", "tile/0/0000", "tile/a/000",
                          "tile/entries/x000/001", "tile/1/2/3"}) {
    EXPECT_FALSE(parse_tile_path(bad)) << bad;
  }
}

TEST(TileLayoutTest, SpecExampleOfSeventyThousandEntries) {
  // "a tree of size 70,000 will be represented by 273 full level 0 tiles,
  // one partial level 0 tile of width 112, one full level 1 tile, one
  // partial level 1 tile of width 17, and one partial level 2 tile of
  // width 1."
  std::vector<TileId> tiles = new_tiles(0, 70000);
  ASSERT_EQ(tiles.size(), 273u + 4u);
  for (uint64_t n = 0; n < 273; ++n) EXPECT_EQ(tiles[n], (TileId{0, n, kTileWidth}));
  EXPECT_EQ(tiles[273], (TileId{0, 273, 112}));
  EXPECT_EQ(tiles[274], (TileId{1, 0, kTileWidth}));
  EXPECT_EQ(tiles[275], (TileId{1, 1, 17}));
  EXPECT_EQ(tiles[276], (TileId{2, 0, 1}));
  // "a tree of size 256 will be represented by a full level 0 tile and a
  // partial level 1 tile of width 1."
  EXPECT_EQ(new_tiles(0, 256), (std::vector<TileId>{{0, 0, kTileWidth}, {1, 0, 1}}));
  EXPECT_TRUE(new_tiles(0, 0).empty());
  EXPECT_EQ(*tile_at(0, 273, 70000), (TileId{0, 273, 112}));
  EXPECT_EQ(*tile_at(1, 0, 70000), (TileId{1, 0, kTileWidth}));
  EXPECT_EQ(tile_at(0, 274, 70000).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(tile_at(3, 0, 70000));
  EXPECT_FALSE(tile_at(8, 0, UINT64_MAX));
  EXPECT_EQ(*tile_at(7, 0, UINT64_MAX), (TileId{7, 0, 255}));
}

TEST(TileLayoutTest, NewTilesAreExactlyTheChangedOnes) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    uint64_t to = rng() % 200000, from = rng() % (to + 1);
    if (i % 4 == 0) from = to - std::min<uint64_t>(to, rng() % 300);
    std::vector<TileId> all = new_tiles(0, to), fresh = new_tiles(from, to);
    for (const TileId& t : all) {
      auto before = tile_at(t.level, t.index, from);
      bool unchanged = before && *before == t;
      bool listed = std::find(fresh.begin(), fresh.end(), t) != fresh.end();
      EXPECT_NE(unchanged, listed) << t.path() << " from " << from << " to " << to;
      EXPECT_EQ(*tile_at(t.level, t.index, to), t);
    }
    EXPECT_LE(fresh.size(), all.size());
  }
}

class TileContentTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kSize = 256 * 256 + 300;  // a full level-1 tile and more
  void SetUp() override {
    for (uint64_t i = 0; i < kSize; ++i) {
      entries_.push_back("entry " + std::to_string(i));
      leaves_.push_back(leaf_hash(entries_.back()));
    }
    auto tree = MerkleTree::open(store_, 0);
    ASSERT_TRUE(tree);
    ASSERT_TRUE(tree->append_batch(leaves_));
    tree_.emplace(std::move(*tree));
  }
  // The spec's definition: hash i of tile (l, n) is
  // MTH(D[(n * 256 + i) * 256^l : (n * 256 + i + 1) * 256^l]).
  Hash spec_hash(uint8_t level, uint64_t n, uint64_t i) const {
    uint64_t span = uint64_t{1} << (8 * level);
    return root_of(std::span(leaves_).subspan((n * 256 + i) * span, span));
  }

  MemoryHashStore store_;
  std::vector<std::string> entries_;
  std::vector<Hash> leaves_;
  std::optional<MerkleTree> tree_;
};

TEST_F(TileContentTest, EveryTileMatchesTheSpecDefinition) {
  for (const TileId& t : new_tiles(0, kSize)) {
    if (t.level == 0 && t.index % 37 != 0 && !t.is_partial()) continue;  // sample level 0
    auto hashes = read_tile(*tree_, t);
    ASSERT_TRUE(hashes) << t.path();
    ASSERT_EQ(hashes->size(), t.width);
    for (uint64_t i = 0; i < t.width; ++i) ASSERT_EQ((*hashes)[i], spec_hash(t.level, t.index, i)) << t.path();
  }
  // A full tile's hashes fold into the next level's hash.
  auto level0 = *read_tile(*tree_, TileId{0, 5, kTileWidth});
  EXPECT_EQ(root_of(level0), (*read_tile(*tree_, TileId{1, 0, kTileWidth}))[5]);
}

TEST_F(TileContentTest, PartialTilesOfEarlierSizesAreReadable) {
  // Tree size 256*256+300 has level-0 tile 257 of width 44; narrower
  // versions of it existed at earlier checkpoints.
  for (uint16_t w : {uint16_t{1}, uint16_t{43}, uint16_t{44}}) EXPECT_TRUE(read_tile(*tree_, TileId{0, 257, w}));
  auto too_wide = read_tile(*tree_, TileId{0, 257, 45});
  ASSERT_FALSE(too_wide);
  EXPECT_EQ(too_wide.error().code, ErrorCode::kOutOfRange);
  EXPECT_FALSE(read_tile(*tree_, TileId{0, 258, 1}));
  EXPECT_FALSE(read_tile(*tree_, TileId{1, 1, 2}));  // level 1 has one hash past the full tile
  EXPECT_TRUE(read_tile(*tree_, TileId{1, 1, 1}));
  EXPECT_FALSE(read_tile(*tree_, TileId{2, 0, 2}));
  EXPECT_FALSE(read_tile(*tree_, TileId{9, 0, 1}));
}

TEST_F(TileContentTest, TilesRoundTripThroughTheirWireForm) {
  TileId t{0, 3, 100};
  auto hashes = *read_tile(*tree_, t);
  std::string wire = encode_tile(hashes);
  EXPECT_EQ(wire.size(), 100u * 32);
  EXPECT_EQ(*decode_tile(wire, t), hashes);
  EXPECT_FALSE(decode_tile(wire.substr(1), t));
  EXPECT_FALSE(decode_tile(wire + std::string(32, 'x'), t));
}

TEST_F(TileContentTest, EntryBundlesMatchLevelZeroTiles) {
  TileId t{0, 2, kTileWidth};
  std::vector<std::string> entries(entries_.begin() + 512, entries_.begin() + 768);
  auto bundle = encode_entry_bundle(entries);
  ASSERT_TRUE(bundle);
  auto decoded = decode_entry_bundle(*bundle);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, entries);
  auto hashes = *read_tile(*tree_, t);
  EXPECT_TRUE(verify_entry_bundle(*decoded, hashes, t));
  (*decoded)[17] += " (edited)";
  auto s = verify_entry_bundle(*decoded, hashes, t);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(s.error().message.find("entry 529"), std::string::npos) << s.error().message;
  decoded->pop_back();
  EXPECT_FALSE(verify_entry_bundle(*decoded, hashes, t));
}

TEST(TileBundleTest, WireFormatIsBigEndianLengthPrefixed) {
  std::vector<std::string> entries = {"a", "", std::string(300, 'z')};
  auto bundle = encode_entry_bundle(entries);
  ASSERT_TRUE(bundle);
  EXPECT_EQ(bundle->substr(0, 5), std::string("\x00\x01" "a" "\x00\x00", 5));
  EXPECT_EQ(bundle->substr(5, 2), std::string("\x01\x2c", 2));  // 300
  EXPECT_EQ(bundle->size(), 3 * 2 + 1 + 300u);
  EXPECT_EQ(*decode_entry_bundle(*bundle), entries);
  EXPECT_TRUE(decode_entry_bundle("")->empty());
}

TEST(TileBundleTest, RejectsOversizedAndTruncatedBundles) {
  EXPECT_TRUE(encode_entry_bundle(std::vector<std::string>{std::string(kMaxEntrySize, 'x')}));
  EXPECT_FALSE(encode_entry_bundle(std::vector<std::string>{std::string(kMaxEntrySize + 1, 'x')}));
  EXPECT_FALSE(encode_entry_bundle(std::vector<std::string>(257, "e")));
  std::string full = *encode_entry_bundle(std::vector<std::string>(256, "e"));
  EXPECT_EQ(decode_entry_bundle(full)->size(), 256u);
  EXPECT_FALSE(decode_entry_bundle(full + std::string("\x00\x00", 2)));  // a 257th entry
  for (const std::string& bad : {std::string("\x00", 1), std::string("\x00\x02" "a", 3), std::string("\x01", 1)})
    EXPECT_FALSE(decode_entry_bundle(bad));
}

}  // namespace
}  // namespace custody::audit
