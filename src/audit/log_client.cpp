#include "audit/log_client.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cctype>

#include <nlohmann/json.hpp>

#include "audit/encoding.h"
#include "audit/tile.h"
#include "common/file.h"

namespace custody::audit {
namespace {

using json = nlohmann::json;

Status data_loss(std::string message) { return fail(ErrorCode::kDataLoss, std::move(message)); }

Result<std::vector<Hash>> decode_hashes(const json& list) {
  if (!list.is_array() || list.size() > 128) return fail(ErrorCode::kInvalidArgument, "proof is not a list of hashes");
  std::vector<Hash> out;
  for (const auto& item : list) {
    if (!item.is_string()) return fail(ErrorCode::kInvalidArgument, "proof hash is not a string");
    auto bytes = base64_decode(item.get<std::string>());
    if (!bytes) return std::unexpected(bytes.error());
    auto h = Hash::from_bytes(*bytes);
    if (!h) return std::unexpected(h.error());
    out.push_back(*h);
  }
  return out;
}

Result<json> parse_json(const std::string& body, std::string_view what) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kInvalidArgument, fmt::format("{}: not a JSON object", what));
  return j;
}

// RFC 6962 root of leaves folded left to right: the compact range keeps
// one hash per set bit of the count, so memory is O(log n).
class RootBuilder {
 public:
  void add(const Hash& leaf) {
    stack_.push_back({leaf, 1});
    while (stack_.size() > 1 && stack_[stack_.size() - 2].second == stack_.back().second) {
      auto right = stack_.back();
      stack_.pop_back();
      stack_.back() = {node_hash(stack_.back().first, right.first), right.second * 2};
    }
  }
  Hash root() const {
    if (stack_.empty()) return empty_root();
    Hash h = stack_.back().first;
    for (size_t i = stack_.size() - 1; i-- > 0;) h = node_hash(stack_[i].first, h);
    return h;
  }

 private:
  std::vector<std::pair<Hash, uint64_t>> stack_;
};

}  // namespace

LogClient::LogClient(http::HttpClient& http, std::string base_url, NoteVerifier log_key,
                     std::vector<NoteVerifier> witnesses)
    : http_(http), base_url_(std::move(base_url)), key_(std::move(log_key)), witnesses_(std::move(witnesses)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<std::string> LogClient::fetch(const std::string& path) {
  auto r = http_.get(base_url_ + path);
  if (!r) return std::unexpected(r.error());
  if (r->status == 200) return std::move(r->body);
  std::string detail = r->body.substr(0, 300);
  if (auto j = json::parse(r->body, nullptr, false); j.is_object() && j.contains("error") && j["error"].is_string())
    detail = j["error"].get<std::string>();
  auto code = r->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable;
  return fail(code, fmt::format("GET {}: HTTP {}: {}", path, r->status, detail));
}

Result<VerifiedCheckpoint> LogClient::checkpoint(bool latest) {
  auto note = fetch(latest ? "/log/v1/checkpoint/latest" : "/log/checkpoint");
  if (!note) return std::unexpected(note.error());
  auto opened = open_checkpoint(*note, key_.name(), key_, witnesses_);
  if (!opened) return fail(opened.error().code, "checkpoint refused: " + opened.error().message);
  return VerifiedCheckpoint{std::move(*note), opened->checkpoint, opened->cosignatures.size()};
}

Status LogClient::check_extends(const Checkpoint& last, const Checkpoint& now) {
  if (now.size() < last.size())
    return data_loss(fmt::format("the log shrank: its checkpoint has size {} but size {} was verified before "
                                 "(history truncated or rolled back)", now.size(), last.size()));
  if (now.size() == last.size()) {
    if (now.root() == last.root()) return {};
    return data_loss(fmt::format("fork: two checkpoints of size {} with different roots", now.size()));
  }
  if (last.size() == 0) return {};
  auto body = fetch(fmt::format("/log/v1/proof/consistency?old={}&new={}", last.size(), now.size()));
  if (!body) return std::unexpected(body.error());
  auto j = parse_json(*body, "consistency proof");
  if (!j) return std::unexpected(j.error());
  auto proof = decode_hashes((*j)["proof"]);
  if (!proof) return std::unexpected(proof.error());
  if (auto s = verify_consistency(last.size(), now.size(), *proof, last.root(), now.root()); !s)
    return data_loss(fmt::format("checkpoint of size {} is not consistent with the size {} verified before "
                                 "(history rewritten or forked): {}", now.size(), last.size(), s.error().message));
  return {};
}

Status LogClient::verify_bundle(uint64_t tile_index, const Checkpoint& cp, std::vector<Hash>& leaves) {
  auto tile = tile_at(0, tile_index, cp.size());
  if (!tile) return std::unexpected(tile.error());
  auto hashes_data = fetch("/log/" + tile->path());
  if (!hashes_data) return std::unexpected(hashes_data.error());
  auto hashes = decode_tile(*hashes_data, *tile);
  if (!hashes) return std::unexpected(hashes.error());
  auto bundle_data = fetch("/log/" + tile->entries_path());
  if (!bundle_data) return std::unexpected(bundle_data.error());
  auto entries = decode_entry_bundle(*bundle_data);
  if (!entries) return std::unexpected(entries.error());
  uint64_t first = tile_index * kTileWidth;
  for (size_t i = 0; i < tile->width; ++i) {
    uint64_t index = first + i;
    if (i >= entries->size())
      return data_loss(fmt::format("entry {} (event seq {}) is missing: the log serves {} of the {} entries of "
                                   "bundle {}", index, index + 1, entries->size(), tile->width, tile_index));
    Hash leaf = leaf_hash((*entries)[i]);
    if (leaf != (*hashes)[i])
      return data_loss(fmt::format("entry {} (event seq {}) does not match the log's tree: it was altered or "
                                   "removed after it was logged", index, index + 1));
    auto event = decode_event((*entries)[i]);
    if (!event || event->seq != static_cast<int64_t>(index + 1))
      return data_loss(fmt::format("entry {} is not the canonical event with seq {}", index, index + 1));
    leaves.push_back(leaf);
  }
  if (entries->size() > tile->width)
    return data_loss(fmt::format("bundle {} holds {} entries, more than the {} the checkpoint covers", tile_index,
                                 entries->size(), tile->width));
  return {};
}

Result<uint64_t> LogClient::verify_entries(const Checkpoint& cp) {
  RootBuilder root;
  uint64_t tiles = (cp.size() + kTileWidth - 1) / kTileWidth;
  for (uint64_t t = 0; t < tiles; ++t) {
    std::vector<Hash> leaves;
    if (auto s = verify_bundle(t, cp, leaves); !s) return std::unexpected(s.error());
    for (const auto& leaf : leaves) root.add(leaf);
  }
  if (root.root() != cp.root())
    return fail(ErrorCode::kDataLoss, fmt::format("the {} entries do not hash to the checkpoint's root: the "
                                                  "log's hash tiles disagree with its signed checkpoint", cp.size()));
  return cp.size();
}

Result<std::vector<ProvenEvent>> LogClient::trace(const std::string& digest, const Checkpoint& cp) {
  auto body = fetch(fmt::format("/log/v1/trace?digest={}&size={}", digest, cp.size()));
  if (!body) return std::unexpected(body.error());
  auto j = parse_json(*body, "trace");
  if (!j) return std::unexpected(j.error());
  if (!(*j)["events"].is_array()) return fail(ErrorCode::kInvalidArgument, "trace: no event list");
  std::vector<ProvenEvent> out;
  for (const auto& item : (*j)["events"]) {
    if (!item.is_object() || !item["entry"].is_string()) return fail(ErrorCode::kInvalidArgument, "trace: bad event");
    std::string entry = item["entry"].get<std::string>();
    auto event = decode_event(entry);
    if (!event) return fail(ErrorCode::kDataLoss, "trace: an entry is not a canonical event: " + event.error().message);
    if (event->seq < 1 || static_cast<uint64_t>(event->seq) > cp.size())
      return fail(ErrorCode::kDataLoss, fmt::format("trace: event seq {} is outside the checkpoint", event->seq));
    if (entry.find(digest) == std::string::npos)
      return fail(ErrorCode::kDataLoss, fmt::format("trace: event {} does not mention {}", event->seq, digest));
    auto proof = decode_hashes(item["proof"]);
    if (!proof) return std::unexpected(proof.error());
    uint64_t index = static_cast<uint64_t>(event->seq - 1);
    if (auto s = verify_inclusion(leaf_hash(entry), index, cp.size(), *proof, cp.root()); !s)
      return fail(ErrorCode::kDataLoss, fmt::format("event {} is not in the log: its inclusion proof fails ({})",
                                                    event->seq, s.error().message));
    out.push_back({std::move(*event), std::move(entry), index, proof->size()});
  }
  return out;
}

Status LogClient::post_cosignature(std::string_view note) {
  auto r = http_.post(base_url_ + "/log/v1/cosign", note, "text/plain; charset=utf-8");
  if (!r) return std::unexpected(r.error());
  if (r->status != 200)
    return fail(ErrorCode::kUnavailable, fmt::format("the log refused the cosignature: HTTP {}: {}", r->status,
                                                     r->body.substr(0, 300)));
  return {};
}

std::filesystem::path CheckpointMemory::default_dir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "custody/logs";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".config/custody/logs";
}

CheckpointMemory::CheckpointMemory(const std::filesystem::path& dir, std::string_view origin) {
  // The origin names the file; anything but a conservative set of bytes is
  // replaced so a hostile origin cannot escape the directory.
  std::string name;
  for (char c : origin) name += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  path_ = dir / (name + ".checkpoint");
}

Result<std::optional<Checkpoint>> CheckpointMemory::load(const NoteVerifier& key) const {
  if (!std::filesystem::exists(path_)) return std::optional<Checkpoint>();
  auto text = read_small_file(path_, kMaxNoteSize);
  if (!text) return std::unexpected(text.error());
  auto opened = open_checkpoint(*text, key.name(), key);
  if (!opened)
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("{}: the remembered checkpoint does not verify with this key: {}", path_.string(),
                            opened.error().message));
  return std::optional<Checkpoint>(opened->checkpoint);
}

Status CheckpointMemory::save(std::string_view note) const {
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  if (ec) return fail(ErrorCode::kUnavailable, path_.parent_path().string() + ": " + ec.message());
  return write_file_durably(path_, note);
}

}  // namespace custody::audit
