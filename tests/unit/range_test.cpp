#include "registry/range.h"

#include <gtest/gtest.h>

namespace custody::registry {
namespace {

TEST(RangeTest, UploadContentRange) {
  auto r = parse_upload_content_range("0-99");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->length(), 100u);
  r = parse_upload_content_range("bytes 100-199/*");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 100u);
  for (const char* bad : {"", "-", "5-4", "a-b", "1-", "-1", "bytes 1-2", "0-99999999999999999999999", "+1-2"})
    EXPECT_FALSE(parse_upload_content_range(bad)) << bad;
}

TEST(RangeTest, RangeHeader) {
  auto r = parse_range_header("bytes=0-9", 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->last, 9u);
  r = parse_range_header("bytes=90-", 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->length(), 10u);
  r = parse_range_header("bytes=-5", 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 95u);
  r = parse_range_header("bytes=50-500", 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->last, 99u);
  EXPECT_EQ(parse_range_header("bytes=100-", 100).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(parse_range_header("bytes=-0", 100).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(parse_range_header("bytes=0-1,3-4", 100).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_range_header("items=0-1", 100).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_range_header("bytes=5-1", 100).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace custody::registry
