#include "audit/log_service.h"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "audit/encoding.h"

#include "common/file.h"
#include "common/time.h"

namespace custody::audit {
namespace {

// Runs fn in a read transaction, carrying out its result.
template <typename T>
Result<T> read_in(meta::MetaStore& meta, const std::function<Result<T>(meta::Txn&)>& fn) {
  std::optional<Result<T>> out;
  auto s = meta.read([&](meta::Txn& t) -> Status {
    out = fn(t);
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return std::move(*out);
}

Result<MerkleTree> open_tree(meta::Txn& t) {
  auto size = t.log_size();
  if (!size) return std::unexpected(size.error());
  return MerkleTree::open(t.log_nodes(), static_cast<uint64_t>(*size));
}

}  // namespace

Result<NoteSigner> load_log_key(const std::filesystem::path& path) {
  auto text = read_small_file(path, 4096);
  if (!text) return std::unexpected(text.error());
  std::string_view key = *text;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.remove_suffix(1);
  auto signer = NoteSigner::parse(key);
  if (!signer) return fail(ErrorCode::kDataLoss, fmt::format("{}: {}", path.string(), signer.error().message));
  return signer;
}

Result<NoteSigner> load_or_create_log_key(const std::filesystem::path& path, std::string_view origin) {
  auto signer = load_log_key(path);
  if (signer) {
    if (signer->verifier().name() != origin)
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("{} is the key of log '{}', but log.origin is '{}'", path.string(),
                              signer->verifier().name(), origin));
    return signer;
  }
  if (signer.error().code != ErrorCode::kNotFound) return std::unexpected(signer.error());
  signer = NoteSigner::generate(origin);
  if (!signer) return std::unexpected(signer.error());
  auto fd = open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd) return std::unexpected(fd.error());
  if (auto s = write_all(fd->get(), signer->to_string() + "\n"); !s) return std::unexpected(s.error());
  if (auto s = fsync_fd(fd->get(), path.string()); !s) return std::unexpected(s.error());
  return signer;
}

CustodyLog::CustodyLog(meta::MetaStore& meta, NoteSigner key, WitnessPolicy witnesses)
    : meta_(meta), key_(std::move(key)), witnesses_(std::move(witnesses)) {}

Result<std::optional<int64_t>> CustodyLog::checkpoint_now() {
  std::optional<int64_t> made;
  auto s = meta_.transact([&](meta::Txn& t) -> Status {
    auto tree = open_tree(t);
    if (!tree) return std::unexpected(tree.error());
    auto latest = t.latest_checkpoint();
    if (!latest) return std::unexpected(latest.error());
    int64_t size = static_cast<int64_t>(tree->size());
    if (*latest && (*latest)->size >= size) return {};
    auto cp = Checkpoint::create(origin(), tree->size(), tree->root());
    if (!cp) return std::unexpected(cp.error());
    auto note = sign_checkpoint(*cp, key_);
    if (!note) return std::unexpected(note.error());
    if (auto p = t.put_checkpoint({size, now_unix_ms(), *note}); !p) return p;
    made = size;
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return made;
}

size_t CustodyLog::cosignature_count(std::string_view note) const {
  auto opened = open_checkpoint(note, origin(), key_.verifier(), witnesses_.witnesses);
  return opened ? opened->cosignatures.size() : 0;
}

Result<meta::StoredCheckpoint> CustodyLog::published_checkpoint() {
  return read_in<meta::StoredCheckpoint>(meta_, [&](meta::Txn& t) -> Result<meta::StoredCheckpoint> {
    auto recent = t.recent_checkpoints(256);
    if (!recent) return std::unexpected(recent.error());
    for (auto& c : *recent)
      if (cosignature_count(c.note) >= witnesses_.quorum) return std::move(c);
    return fail(ErrorCode::kNotFound, witnesses_.quorum ? "no checkpoint has its witness quorum yet"
                                                        : "no checkpoint yet");
  });
}

Result<meta::StoredCheckpoint> CustodyLog::latest_checkpoint() {
  return read_in<meta::StoredCheckpoint>(meta_, [&](meta::Txn& t) -> Result<meta::StoredCheckpoint> {
    auto recent = t.recent_checkpoints(1);
    if (!recent) return std::unexpected(recent.error());
    if (recent->empty()) return fail(ErrorCode::kNotFound, "no checkpoint yet");
    return std::move(recent->front());
  });
}

Status CustodyLog::add_cosignature(std::string_view note, std::string_view source) {
  auto opened = open_checkpoint(note, origin(), key_.verifier(), witnesses_.witnesses);
  if (!opened) return std::unexpected(opened.error());
  if (opened->cosignatures.empty())
    return fail(ErrorCode::kFailedPrecondition, "the note carries no cosignature from a configured witness");
  auto incoming = Note::parse(note);
  if (!incoming) return std::unexpected(incoming.error());
  return meta_.transact([&](meta::Txn& t) -> Status {
    auto stored = t.checkpoint_at(static_cast<int64_t>(opened->checkpoint.size()));
    if (!stored) return std::unexpected(stored.error());
    auto mine = *stored ? Note::parse((*stored)->note) : Result<Note>(fail(ErrorCode::kNotFound, ""));
    if (!mine || mine->text != incoming->text)
      return fail(ErrorCode::kFailedPrecondition, "this log never published that checkpoint");
    std::vector<const VerifiedSignature*> accepted;
    for (const auto& sig : incoming->signatures) {
      const VerifiedSignature* witness = nullptr;
      for (const auto& w : opened->cosignatures)
        if (w.name == sig.name && w.key_id == sig.key_id) witness = &w;
      if (!witness) continue;
      auto same = [&](const NoteSignature& s) { return s.name == sig.name && s.key_id == sig.key_id; };
      auto old = std::find_if(mine->signatures.begin(), mine->signatures.end(), same);
      if (old != mine->signatures.end() && old->signature == sig.signature) continue;  // already held
      std::erase_if(mine->signatures, same);
      mine->signatures.push_back(sig);
      accepted.push_back(witness);
    }
    if (accepted.empty()) return {};  // a repeat: nothing changes, nothing to record
    auto merged = mine->format();
    if (!merged) return std::unexpected(merged.error());
    if (auto p = t.put_checkpoint({(*stored)->size, (*stored)->time_ms, *merged}); !p) return p;
    // Every accepted cosignature is a state change, so it is an event,
    // committed with the checkpoint it was merged into.
    for (const VerifiedSignature* w : accepted) {
      Event e;
      e.actor = w->name;
      e.auth = fmt::format("cosignature:{:08x}", w->key_id);
      e.source = std::string(source);
      e.action = "checkpoint.cosign";
      e.detail_json = nlohmann::json{{"size", (*stored)->size},
                                     {"root", base64_encode(opened->checkpoint.root().bytes())},
                                     {"timestamp", w->timestamp}}
                          .dump();
      if (auto r = t.append_event(e); !r) return std::unexpected(r.error());
    }
    return {};
  });
}

Result<std::string> CustodyLog::tile(const TilePath& path) {
  return read_in<std::string>(meta_, [&](meta::Txn& t) -> Result<std::string> {
    auto tree = open_tree(t);
    if (!tree) return std::unexpected(tree.error());
    auto available = tile_at(path.tile.level, path.tile.index, tree->size());
    if (!available || available->width < path.tile.width) return fail(ErrorCode::kNotFound, "no such tile yet");
    if (path.entries) {
      if (path.tile.level != 0) return fail(ErrorCode::kNotFound, "entry bundles exist only at level 0");
      auto entries = t.log_entries(static_cast<int64_t>(path.tile.index) * kTileWidth, path.tile.width);
      if (!entries) return std::unexpected(entries.error());
      return encode_entry_bundle(*entries);
    }
    auto hashes = read_tile(*tree, path.tile);
    if (!hashes) return std::unexpected(hashes.error());
    return encode_tile(*hashes);
  });
}

Result<std::vector<Hash>> CustodyLog::inclusion_proof(int64_t seq, int64_t size) {
  if (seq < 1 || size < seq) return fail(ErrorCode::kOutOfRange, "need 1 <= seq <= size");
  return read_in<std::vector<Hash>>(meta_, [&](meta::Txn& t) -> Result<std::vector<Hash>> {
    auto tree = open_tree(t);
    if (!tree) return std::unexpected(tree.error());
    return tree->inclusion_proof(static_cast<uint64_t>(seq - 1), static_cast<uint64_t>(size));
  });
}

Result<std::vector<Hash>> CustodyLog::consistency_proof(int64_t old_size, int64_t new_size) {
  if (old_size < 0 || new_size < old_size) return fail(ErrorCode::kOutOfRange, "need 0 <= old <= new");
  return read_in<std::vector<Hash>>(meta_, [&](meta::Txn& t) -> Result<std::vector<Hash>> {
    auto tree = open_tree(t);
    if (!tree) return std::unexpected(tree.error());
    return tree->consistency_proof(static_cast<uint64_t>(old_size), static_cast<uint64_t>(new_size));
  });
}

Result<std::vector<TracedEvent>> CustodyLog::trace(const std::string& digest, int64_t size) {
  return read_in<std::vector<TracedEvent>>(meta_, [&](meta::Txn& t) -> Result<std::vector<TracedEvent>> {
    auto tree = open_tree(t);
    if (!tree) return std::unexpected(tree.error());
    if (size < 0 || static_cast<uint64_t>(size) > tree->size()) return fail(ErrorCode::kOutOfRange, "size beyond the log");
    auto events = t.events_about(digest);
    if (!events) return std::unexpected(events.error());
    std::vector<TracedEvent> out;
    for (const auto& e : *events) {
      if (e.seq > size) break;
      auto entry = t.log_entries(e.seq - 1, 1);
      if (!entry) return std::unexpected(entry.error());
      // What is shown is decoded from the hashed bytes, not the index columns.
      auto decoded = decode_event(entry->front());
      if (!decoded) return std::unexpected(decoded.error());
      auto proof = tree->inclusion_proof(static_cast<uint64_t>(e.seq - 1), static_cast<uint64_t>(size));
      if (!proof) return std::unexpected(proof.error());
      out.push_back({std::move(*decoded), std::move(entry->front()), std::move(*proof)});
    }
    return out;
  });
}

}  // namespace custody::audit
