#include "audit/event.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/time.h"

namespace custody::audit {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxEntryBytes = 65535;

bool has_float(const json& j) {
  if (j.is_number_float()) return true;
  if (j.is_structured())
    for (const auto& v : j)
      if (has_float(v)) return true;
  return false;
}

// "2026-12-03T20:00:50.215Z" -> Unix ms; nullopt unless exactly that form.
std::optional<int64_t> parse_rfc3339_ms(std::string_view s) {
  if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s[19] != '.' || s[23] != 'Z')
    return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  int ms = num(20, 3);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0 ||
      ms < 0)
    return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

}  // namespace

Result<std::string> encode_event(const Event& e) {
  json detail = json::parse(e.detail_json, nullptr, false);
  if (detail.is_discarded() || !detail.is_object())
    return fail(ErrorCode::kInvalidArgument, "event detail must be a JSON object");
  if (has_float(detail)) return fail(ErrorCode::kInvalidArgument, "event detail must not hold floating-point numbers");
  json j = {{"v", kEventSchemaVersion},
            {"seq", e.seq},
            {"time", format_rfc3339(e.time_ms)},
            {"actor", {{"name", e.actor}, {"auth", e.auth}}},
            {"source", e.source},
            {"action", e.action},
            {"repository", e.repository},
            {"digest", e.digest},
            {"tag", e.tag},
            {"detail", std::move(detail)}};
  // nlohmann's object keys are ordered, so dump() is canonical.
  std::string out = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (out.size() > kMaxEntryBytes)
    return fail(ErrorCode::kInvalidArgument, fmt::format("event entry is {} bytes, over {}", out.size(), kMaxEntryBytes));
  return out;
}

Result<Event> decode_event(std::string_view entry) {
  json j = json::parse(entry, nullptr, false);
  auto bad = [](std::string_view why) { return fail(ErrorCode::kInvalidArgument, fmt::format("event entry: {}", why)); };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  try {
    // A hostile entry may spell the version as anything ("1", 1.0, null);
    // only the integer 1 is schema version 1.
    const auto v = j.find("v");
    if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != kEventSchemaVersion)
      return bad("unknown schema version");
    Event e;
    e.seq = j.at("seq").get<int64_t>();
    auto t = parse_rfc3339_ms(j.at("time").get<std::string>());
    if (!t) return bad("bad time");
    e.time_ms = *t;
    e.actor = j.at("actor").at("name").get<std::string>();
    e.auth = j.at("actor").at("auth").get<std::string>();
    e.source = j.at("source").get<std::string>();
    e.action = j.at("action").get<std::string>();
    e.repository = j.at("repository").get<std::string>();
    e.digest = j.at("digest").get<std::string>();
    e.tag = j.at("tag").get<std::string>();
    e.detail_json = j.at("detail").dump();
    auto again = encode_event(e);
    if (!again || *again != entry) return bad("not in canonical form");
    return e;
  } catch (const json::exception& ex) {
    return bad(ex.what());
  }
}

}  // namespace custody::audit
