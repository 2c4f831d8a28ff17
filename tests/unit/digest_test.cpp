#include "common/digest.h"

#include <gtest/gtest.h>

namespace custody {
namespace {

TEST(DigestTest, HashesKnownAnswer) {
  EXPECT_EQ(Digest::of(std::string_view("")).str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Digest::of(std::string_view("abc")).str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, ParsesValidSha256) {
  auto d = Digest::parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, RejectsMalformed) {
  for (const char* bad : {"", "sha256", "sha256:", ":abc", "sha256:abc", "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                          "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                          "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
                          "sha256:../../etc/passwd", "sha256+:aa", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001/ad"}) {
    auto d = Digest::parse(bad);
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
}

TEST(DigestTest, UnsupportedAlgorithmIsNotMalformed) {
  auto d = Digest::parse("sha384:abcd");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kUnimplemented);
}

TEST(Sha256Test, StateSurvivesSaveAndRestore) {
  Sha256 a;
  a.update(std::string_view("hello "));
  auto restored = Sha256::restore_state(a.save_state());
  ASSERT_TRUE(restored);
  restored->update(std::string_view("world"));
  EXPECT_EQ(restored->finish(), Digest::of(std::string_view("hello world")));
}

TEST(Sha256Test, RejectsCorruptState) {
  EXPECT_FALSE(Sha256::restore_state("short"));
  std::string state = Sha256().save_state();
  state[state.size() - 8] = '\x7f';  // the block position field (num)
  EXPECT_FALSE(Sha256::restore_state(state));
}

}  // namespace
}  // namespace custody
