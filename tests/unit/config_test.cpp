#include "common/config.h"

#include <gtest/gtest.h>

namespace custody {
namespace {

TEST(ConfigTest, DefaultsAreTheEmbeddedMode) {
  auto c = Config::parse_toml("");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server.listen, "127.0.0.1:5000");
  EXPECT_EQ(c->storage.data_dir, "custody-data");
  EXPECT_EQ(c->limits.manifest_max_bytes, 4u * 1024 * 1024);
}

TEST(ConfigTest, ReadsEverySection) {
  auto c = Config::parse_toml(R"(
[server]
listen = "0.0.0.0:6000"
max_connections = 10
access_log = "off"
[storage]
data_dir = "/srv/custody"
[limits]
manifest_max_bytes = 1024
page_size_max = 50
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server.listen, "0.0.0.0:6000");
  EXPECT_EQ(c->server.max_connections, 10u);
  EXPECT_EQ(c->server.access_log, "off");
  EXPECT_EQ(c->storage.data_dir, "/srv/custody");
  EXPECT_EQ(c->limits.page_size_max, 50u);
}

TEST(ConfigTest, RejectsMistakes) {
  EXPECT_FALSE(Config::parse_toml("[server]\nlisten = 5\n"));
  EXPECT_FALSE(Config::parse_toml("[server]\nmax_connections = -1\n"));
  EXPECT_FALSE(Config::parse_toml("[server]\nmax_connections = 99999999999\n"));
  EXPECT_FALSE(Config::parse_toml("[limits]\npage_size_max = 0\n"));
  EXPECT_FALSE(Config::parse_toml("[nope]\n"));
  EXPECT_FALSE(Config::parse_toml("[storage]\ndata_dir = \"x\"\nextra = 1\n"));
  EXPECT_FALSE(Config::parse_toml("this is not toml"));
}

}  // namespace
}  // namespace custody
