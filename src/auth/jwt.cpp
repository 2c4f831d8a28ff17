#include "auth/jwt.h"

#include <algorithm>
#include <array>
#include <set>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"

namespace custody::auth {
namespace {

using json = nlohmann::json;

constexpr std::string_view kHeaderAlg = "ES256";
constexpr std::string_view kHeaderTyp = "JWT";
constexpr int kMaxJsonDepth = 8;  // a token's payload nests 3 deep
constexpr size_t kMaxAudiences = 16;

std::unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message));
}

// The three dot-separated parts of a compact JWS.
struct Parts {
  std::string_view header, payload, signature;
};

Result<Parts> split_token(std::string_view token) {
  if (token.empty()) return invalid("empty token");
  if (token.size() > kMaxTokenSize) return invalid("token is larger than 8 KiB");
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return invalid("token must have exactly three parts (header.payload.signature)");
  Parts p{token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
  if (p.header.empty() || p.payload.empty() || p.signature.empty()) return invalid("token has an empty part");
  return p;
}

// Parses `bytes` as one JSON object, refusing what a lenient parser would
// let through: duplicate member names (which parsers resolve differently,
// so the verifier and a later reader could see different claims), deep
// nesting, and any other top-level value.
Result<json> parse_object(std::span<const uint8_t> bytes, std::string_view what) {
  bool duplicate = false, too_deep = false;
  std::vector<std::set<std::string>> open_objects;
  json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth)
      too_deep = true;
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty() && parsed.is_string() &&
        !open_objects.back().insert(parsed.get<std::string>()).second)
      duplicate = true;
    return true;
  };
  json doc = json::parse(bytes.begin(), bytes.end(), check, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return invalid(fmt::format("token {} is not valid JSON", what));
  if (duplicate) return invalid(fmt::format("token {} repeats a member name", what));
  if (too_deep) return invalid(fmt::format("token {} is nested too deeply", what));
  if (!doc.is_object()) return invalid(fmt::format("token {} is not a JSON object", what));
  return doc;
}

Result<json> decode_part(std::string_view part, std::string_view what) {
  auto bytes = base64url_decode(part);
  if (!bytes) return invalid(fmt::format("token {} is not canonical unpadded base64url", what));
  return parse_object(*bytes, what);
}

// The header, reduced to the kid of the key to verify with.
Result<std::string> check_header(const json& header) {
  for (const auto& [name, value] : header.items()) {
    if (name == "jwk" || name == "jku" || name == "x5u" || name == "x5c")
      return invalid(fmt::format("token header carries a key reference (\"{}\"); only pinned keys are trusted", name));
    if (name == "crit") return invalid("token header declares critical extensions, which are not supported");
    if (name != "alg" && name != "kid" && name != "typ") return invalid("token header has an unexpected member");
  }
  auto alg = header.find("alg");
  if (alg == header.end()) return invalid("token header has no alg");
  if (!alg->is_string()) return invalid("token header alg must be a string");
  const auto& alg_name = alg->get_ref<const std::string&>();
  if (alg_name == "none") return invalid("unsigned tokens (alg none) are refused");
  if (alg_name != kHeaderAlg) return invalid("token algorithm is not ES256, the only one accepted");
  auto typ = header.find("typ");
  if (typ != header.end() && (!typ->is_string() || typ->get_ref<const std::string&>() != kHeaderTyp))
    return invalid("token header typ must be \"JWT\"");
  auto kid = header.find("kid");
  if (kid == header.end()) return invalid("token header has no kid");
  if (!kid->is_string()) return invalid("token header kid must be a string");
  return kid->get<std::string>();
}

Result<std::string> string_claim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return invalid(fmt::format("token has no \"{}\" claim", name));
  if (!it->is_string()) return invalid(fmt::format("token claim \"{}\" must be a string", name));
  return it->get<std::string>();
}

Result<int64_t> time_claim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return invalid(fmt::format("token has no \"{}\" claim", name));
  if (!it->is_number_integer()) return invalid(fmt::format("token claim \"{}\" must be an integer", name));
  bool in_range = it->is_number_unsigned() ? it->get<uint64_t>() <= uint64_t{kMaxNumericDate}
                                           : it->get<int64_t>() >= 0 && it->get<int64_t>() <= kMaxNumericDate;
  if (!in_range) return invalid(fmt::format("token claim \"{}\" is out of range", name));
  return it->get<int64_t>();
}

Result<std::vector<std::string>> audience_claim(const json& payload) {
  auto it = payload.find("aud");
  if (it == payload.end()) return invalid("token has no \"aud\" claim");
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array() || it->empty() || it->size() > kMaxAudiences)
    return invalid("token claim \"aud\" must be a string or a non-empty array of strings");
  std::vector<std::string> out;
  for (const auto& a : *it) {
    if (!a.is_string()) return invalid("token claim \"aud\" must be a string or a non-empty array of strings");
    out.push_back(a.get<std::string>());
  }
  return out;
}

// Reads every claim with its type; semantic checks come afterwards.
Result<Claims> read_claims(const json& payload) {
  Claims c;
  for (auto [field, name] : {std::pair{&c.iss, "iss"}, std::pair{&c.sub, "sub"}, std::pair{&c.jti, "jti"}}) {
    auto v = string_claim(payload, name);
    if (!v) return std::unexpected(v.error());
    *field = std::move(*v);
  }
  for (auto [field, name] : {std::pair{&c.exp, "exp"}, std::pair{&c.nbf, "nbf"}, std::pair{&c.iat, "iat"}}) {
    auto v = time_claim(payload, name);
    if (!v) return std::unexpected(v.error());
    *field = *v;
  }
  auto aud = audience_claim(payload);
  if (!aud) return std::unexpected(aud.error());
  c.aud = std::move(*aud);
  if (auto access = payload.find("access"); access != payload.end()) {
    auto scopes = access_from_json(*access);
    if (!scopes) return invalid("token claim \"access\": " + scopes.error().message);
    c.access = std::move(*scopes);
  }
  if (auto amr = payload.find("amr"); amr != payload.end()) {
    if (!amr->is_array() || amr->size() != 1 || !(*amr)[0].is_string() || (*amr)[0].get<std::string>().empty() ||
        (*amr)[0].get<std::string>().size() > 64)
      return invalid("token claim \"amr\" must hold one method name");
    c.amr = (*amr)[0].get<std::string>();
  }
  return c;
}

Status check_signable(const Claims& c) {
  if (c.iss.empty()) return invalid("a token needs an issuer");
  if (c.jti.empty()) return invalid("a token needs an id (jti)");
  if (c.aud.empty() || c.aud.size() > kMaxAudiences ||
      std::any_of(c.aud.begin(), c.aud.end(), [](const std::string& a) { return a.empty(); }))
    return invalid("a token needs 1 to 16 non-empty audiences");
  for (int64_t t : {c.exp, c.nbf, c.iat})
    if (t < 0 || t > kMaxNumericDate) return invalid("token time out of range");
  if (c.exp <= c.nbf) return invalid("a token must expire after it becomes valid");
  if (c.access.size() > kMaxScopes) return invalid("too many entries in the access claim");
  if (c.amr.size() > 64) return invalid("token claim \"amr\" too long");
  for (const auto& s : c.access)
    if (auto ok = validate_scope(s, /*allow_no_actions=*/true); !ok) return ok;
  return {};
}

json payload_json(const Claims& c) {
  json aud = c.aud.size() == 1 ? json(c.aud.front()) : json(c.aud);
  json payload = {{"iss", c.iss}, {"sub", c.sub}, {"aud", std::move(aud)}, {"exp", c.exp}, {"nbf", c.nbf},
                  {"iat", c.iat}, {"jti", c.jti}, {"access", access_to_json(c.access)}};
  if (!c.amr.empty()) payload["amr"] = json::array({c.amr});
  return payload;
}

}  // namespace

Result<std::string> TokenSigner::sign(const Claims& claims) const {
  if (auto ok = check_signable(claims); !ok) return std::unexpected(ok.error());
  std::string payload;
  try {
    payload = payload_json(claims).dump();
  } catch (const json::type_error&) {  // the only thing dump() throws: invalid UTF-8
    return invalid("token claims must be UTF-8");
  }
  json header = {{"alg", std::string(kHeaderAlg)}, {"kid", kid()}, {"typ", std::string(kHeaderTyp)}};
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload);
  auto sig = key_.sign(input);
  if (!sig) return std::unexpected(sig.error());
  std::string token = input + "." + base64url_encode(*sig);
  if (token.size() > kMaxTokenSize) return fail(ErrorCode::kResourceExhausted, "token would be larger than 8 KiB");
  return token;
}

TokenVerifier::TokenVerifier(std::vector<TokenPublicKey> keys, std::string issuer, std::string audience,
                             int64_t leeway_s)
    : issuer_(std::move(issuer)),
      audience_(std::move(audience)),
      leeway_s_(std::clamp<int64_t>(leeway_s, 0, kMaxLeewaySeconds)) {
  // Equal kids mean equal keys (the kid is a hash of the key).
  for (auto& k : keys) keys_.emplace(k.kid(), std::move(k));
}

Result<Claims> TokenVerifier::verify(std::string_view token, int64_t now_s) const {
  auto parts = split_token(token);
  if (!parts) return std::unexpected(parts.error());
  auto header = decode_part(parts->header, "header");
  if (!header) return std::unexpected(header.error());
  auto kid = check_header(*header);
  if (!kid) return std::unexpected(kid.error());
  auto key = keys_.find(*kid);
  if (key == keys_.end()) return invalid("token is signed by an unknown key (kid)");
  auto signature = base64url_decode(parts->signature);
  if (!signature) return invalid("token signature is not canonical unpadded base64url");
  if (signature->size() != std::tuple_size_v<Es256Signature>)
    return invalid("token signature is not 64 bytes (ES256 r || s)");
  // The signature covers the parts exactly as sent, before any decoding.
  std::string_view signed_input = token.substr(0, parts->header.size() + 1 + parts->payload.size());
  if (!key->second.verify(signed_input, *signature)) return invalid("token signature is invalid");
  auto payload = decode_part(parts->payload, "payload");
  if (!payload) return std::unexpected(payload.error());
  auto claims = read_claims(*payload);
  if (!claims) return std::unexpected(claims.error());
  return check_claims(std::move(*claims), now_s);
}

Result<Claims> TokenVerifier::check_claims(Claims c, int64_t now_s) const {
  // What the signer would refuse to make is refused here too (empty jti or
  // audience, exp <= nbf), so every accepted token could have been issued.
  if (auto ok = check_signable(c); !ok) return invalid("token claims are invalid: " + ok.error().message);
  if (c.iss != issuer_) return invalid("token is from another issuer");
  if (std::find(c.aud.begin(), c.aud.end(), audience_) == c.aud.end())
    return invalid("token is meant for another audience");
  if (now_s >= c.exp + leeway_s_) return invalid("token has expired");
  if (now_s + leeway_s_ < c.nbf) return invalid("token is not valid yet (nbf)");
  if (now_s + leeway_s_ < c.iat) return invalid("token is issued in the future (iat)");
  return c;
}

}  // namespace custody::auth
