// The canonical event encoding (audit/event.h): the custody log's tree
// commits to these bytes, so they are a contract. Deterministic key order,
// no floats, a size limit, a version field, strict decoding, round trips.
#include "audit/event.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace custody::audit {
namespace {

constexpr int64_t kTime = 1796328050215;  // 2026-12-03T20:00:50.215Z

Event sample() {
  Event e;
  e.seq = 42;
  e.time_ms = kTime;
  e.actor = "alice";
  e.auth = "password";
  e.source = "127.0.0.1:51234";
  e.action = "manifest.push";
  e.repository = "org/app";
  e.digest = "sha256:" + std::string(64, 'a');
  e.tag = "v1";
  e.detail_json = R"({"size":1234,"media_type":"application/vnd.oci.image.manifest.v1+json"})";
  return e;
}

const std::string kSampleEntry =
    R"({"action":"manifest.push","actor":{"auth":"password","name":"alice"},)"
    R"("detail":{"media_type":"application/vnd.oci.image.manifest.v1+json","size":1234},)"
    R"("digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
    R"("repository":"org/app","seq":42,"source":"127.0.0.1:51234","tag":"v1",)"
    R"("time":"2026-12-03T20:00:50.215Z","v":1})";

void expect_same(const Event& a, const Event& b) {
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.time_ms, b.time_ms);
  EXPECT_EQ(a.actor, b.actor);
  EXPECT_EQ(a.auth, b.auth);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.repository, b.repository);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.tag, b.tag);
}

TEST(EventEncoding, KnownAnswer) {
  auto entry = encode_event(sample());
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(*entry, kSampleEntry);
}

TEST(EventEncoding, KeysAreSortedAtEveryDepthWhateverTheInputOrder) {
  Event a = sample();
  a.detail_json = R"({"z":1,"a":{"y":[{"q":1,"b":2}],"b":3},"m":"x"})";
  Event b = sample();
  b.detail_json = R"({ "m" : "x", "a" : { "b" : 3, "y" : [ { "b" : 2, "q" : 1 } ] }, "z" : 1 })";
  auto ea = encode_event(a);
  auto eb = encode_event(b);
  ASSERT_TRUE(ea && eb);
  EXPECT_EQ(*ea, *eb);
  EXPECT_NE(ea->find(R"("detail":{"a":{"b":3,"y":[{"b":2,"q":1}]},"m":"x","z":1})"), std::string::npos) << *ea;
  // Top-level keys in byte order, no whitespace outside strings.
  std::vector<std::string> keys = {"\"action\"", "\"actor\"", "\"detail\"", "\"digest\"", "\"repository\"",
                                   "\"seq\"",    "\"source\"", "\"tag\"",   "\"time\"",   "\"v\""};
  size_t last = 0;
  for (const auto& k : keys) {
    size_t at = ea->find(k + ":");
    ASSERT_NE(at, std::string::npos) << k;
    EXPECT_GT(at, last) << k;
    last = at;
  }
  EXPECT_EQ(ea->find('\n'), std::string::npos);
  EXPECT_EQ(ea->find(": "), std::string::npos);
}

TEST(EventEncoding, EncodingIsDeterministic) {
  auto first = encode_event(sample());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(encode_event(sample()).value(), first.value());
}

TEST(EventEncoding, AbsentValuesAreEmptyStringsNotMissingKeys) {
  Event e;
  e.seq = 1;
  e.time_ms = kTime;
  e.action = "blob.push";
  auto entry = encode_event(e);
  ASSERT_TRUE(entry);
  EXPECT_EQ(*entry,
            R"({"action":"blob.push","actor":{"auth":"none","name":"anonymous"},"detail":{},"digest":"",)"
            R"("repository":"","seq":1,"source":"","tag":"","time":"2026-12-03T20:00:50.215Z","v":1})");
}

TEST(EventEncoding, FloatsAreRefusedAnywhereInTheDetail) {
  for (const char* detail : {R"({"x":1.5})", R"({"x":1.0})", R"({"x":1e3})", R"({"x":-0.0})", R"({"a":{"b":[1,2,0.5]}})",
                             R"({"a":[[{"c":2.25}]]})"}) {
    Event e = sample();
    e.detail_json = detail;
    auto r = encode_event(e);
    ASSERT_FALSE(r) << detail;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("floating-point"), std::string::npos) << r.error().message;
  }
  // Integers of every size JSON can carry exactly are fine.
  Event e = sample();
  e.detail_json = R"({"big":9223372036854775807,"neg":-9223372036854775808,"u":18446744073709551615})";
  auto r = encode_event(e);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->find(R"("big":9223372036854775807)"), std::string::npos);
  EXPECT_NE(r->find(R"("u":18446744073709551615)"), std::string::npos);
  EXPECT_TRUE(decode_event(*r));
}

TEST(EventEncoding, DetailMustBeAJsonObject) {
  for (const char* detail : {"", "[]", "null", "1", "\"s\"", "{", "{\"a\":}", "{} {}"}) {
    Event e = sample();
    e.detail_json = detail;
    auto r = encode_event(e);
    EXPECT_FALSE(r) << detail;
  }
}

TEST(EventEncoding, SizeLimitIsTheTileEntryLimit) {
  Event e = sample();
  e.detail_json = R"({"pad":""})";
  size_t base = encode_event(e).value().size();
  ASSERT_LT(base, 65535u);
  e.detail_json = R"({"pad":")" + std::string(65535 - base, 'x') + R"("})";
  auto at_limit = encode_event(e);
  ASSERT_TRUE(at_limit) << at_limit.error().message;
  EXPECT_EQ(at_limit->size(), 65535u);
  EXPECT_TRUE(decode_event(*at_limit));
  e.detail_json = R"({"pad":")" + std::string(65535 - base + 1, 'x') + R"("})";
  auto over = encode_event(e);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(over.error().message.find("65536 bytes"), std::string::npos) << over.error().message;
  // A long field other than the detail counts just the same.
  Event f = sample();
  f.repository = std::string(70000, 'r');
  EXPECT_FALSE(encode_event(f));
}

TEST(EventEncoding, RoundTrip) {
  std::vector<Event> events;
  events.push_back(sample());
  Event unicode = sample();
  unicode.actor = "zoë 🐳";
  unicode.tag = "quote\"back\\slash\ttab";
  unicode.detail_json = R"({"before":"sha256:1","after":"sha256:2","note":"ünïcödé","list":[1,"a",true,null]})";
  events.push_back(unicode);
  Event zero = sample();
  zero.time_ms = 0;
  zero.seq = 1;
  events.push_back(zero);
  Event late = sample();
  late.time_ms = 253402300799999;  // 9999-12-31T23:59:59.999Z
  late.seq = 9007199254740993;     // beyond a double's exact integers
  events.push_back(late);
  for (const Event& e : events) {
    auto entry = encode_event(e);
    ASSERT_TRUE(entry) << entry.error().message;
    auto back = decode_event(*entry);
    ASSERT_TRUE(back) << back.error().message << " in " << *entry;
    expect_same(*back, e);
    // The detail comes back canonical, and re-encodes to the same bytes.
    auto again = encode_event(*back);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *entry);
  }
  auto back = decode_event(kSampleEntry).value();
  EXPECT_EQ(back.detail_json, R"({"media_type":"application/vnd.oci.image.manifest.v1+json","size":1234})");
}

TEST(EventEncoding, InvalidUtf8IsReplacedSoTheEntryStaysValidJson) {
  Event e = sample();
  e.actor = std::string("bad\xff\xfe", 5);
  auto entry = encode_event(e);
  ASSERT_TRUE(entry);
  EXPECT_NE(entry->find("bad\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  auto back = decode_event(*entry);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(encode_event(*back).value(), *entry);
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(EventDecoding, NonCanonicalBytesAreRefused) {
  ASSERT_TRUE(decode_event(kSampleEntry));
  const std::vector<std::string> variants = {
      kSampleEntry + "\n",                                                      // trailing newline
      " " + kSampleEntry,                                                       // leading space
      replace(kSampleEntry, R"("seq":42,)", R"("seq": 42,)"),                    // inner whitespace
      replace(kSampleEntry, R"("seq":42,)", R"("seq":42.0,)"),                   // a float for an integer
      replace(kSampleEntry, R"("seq":42,)", R"("seq":4.2e1,)"),
      replace(kSampleEntry, R"("seq":42,)", R"("seq":042,)"),                    // not JSON at all
      replace(kSampleEntry, R"("tag":"v1")", R"("tag":"\u00761")"),              // escaped letter
      replace(kSampleEntry, R"("repository":"org/app")", R"("repository":"org\/app")"),  // escaped slash
      replace(kSampleEntry, R"({"action":"manifest.push",)", R"({"actor":{"auth":"password","name":"alice"},"action":"manifest.push",)") ,
      replace(kSampleEntry, R"("actor":{"auth":"password","name":"alice"},)", R"("actor":{"name":"alice","auth":"password"},)"),
      replace(kSampleEntry, R"("detail":{"media_type")", R"("detail":{"size":1234,"media_type")"),
      replace(kSampleEntry, R"("tag":"v1",)", ""),                               // missing key
      replace(kSampleEntry, R"("tag":"v1",)", R"("tag":"v1","tag":"v2",)"),       // duplicate key
      replace(kSampleEntry, R"("tag":"v1",)", R"("tag":"v1","extra":"x",)"),      // unknown key
      replace(kSampleEntry, R"("tag":"v1",)", R"("tag":null,)"),                  // null for ""
      replace(kSampleEntry, R"(.215Z)", R"(.215+00:00)"),                        // other time spellings
      replace(kSampleEntry, R"(20:00:50.215Z)", R"(20:00:50Z)"),
      replace(kSampleEntry, R"(2026-12-03T)", R"(2026-12-03t)"),
      replace(kSampleEntry, R"(2026-12-03T)", R"(2026-11-33T)"),                  // normalises to Dec 3
      replace(kSampleEntry, R"("detail":{"media_type":"application/vnd.oci.image.manifest.v1+json","size":1234})",
              R"("detail":[])"),
  };
  for (const auto& v : variants) {
    auto r = decode_event(v);
    EXPECT_FALSE(r) << v;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

TEST(EventDecoding, GarbageIsRefusedWithoutThrowing) {
  for (const std::string& s : std::vector<std::string>{"", "null", "[]", "42", "\"str\"", "{", "{}", "{\"v\":1}", std::string("\xff\xfe", 2),
                        std::string("{\"v\":1,\0}", 9)}) {
    EXPECT_FALSE(decode_event(s)) << s;
  }
  // Wrong types in every field are refused, not thrown.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"("seq":42)", R"("seq":"42")"},
           {R"("time":"2026-12-03T20:00:50.215Z")", R"("time":1796328050215)"},
           {R"("actor":{"auth":"password","name":"alice"})", R"("actor":"alice")"},
           {R"("actor":{"auth":"password","name":"alice"})", R"("actor":{"auth":"password","name":7})"},
           {R"("source":"127.0.0.1:51234")", R"("source":["127.0.0.1"])"},
           {R"("digest":"sha256:)", R"("digest":{"d":"sha256:)"}}) {
    std::string v = replace(kSampleEntry, from, to);
    if (to.find("{\"d\"") != std::string::npos) v = replace(v, R"(aaaa",)", R"(aaaa"},)");
    EXPECT_FALSE(decode_event(v)) << v;
  }
}

TEST(EventDecoding, TheVersionFieldIsRequiredAndChecked) {
  auto r = decode_event(replace(kSampleEntry, R"(,"v":1})", R"(,"v":2})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown schema version"), std::string::npos) << r.error().message;
  for (const char* v : {R"(,"v":0})", R"(,"v":"1"})", R"(,"v":1.0})", R"(,"v":null})", R"(,"v":true})",
                        R"(,"v":[1]})", R"(,"v":-1})", R"(,"v":18446744073709551617})", "}"}) {
    auto bad = decode_event(replace(kSampleEntry, R"(,"v":1})", v));
    EXPECT_FALSE(bad) << v;
  }
  // The encoder always writes the current version.
  EXPECT_NE(encode_event(sample())->find(R"("v":)" + std::to_string(kEventSchemaVersion) + "}"), std::string::npos);
  EXPECT_EQ(kEventSchemaVersion, 1);
}

}  // namespace
}  // namespace custody::audit
