// Fuzzes the custody log's parsers and verifiers of outside input: signed
// notes, checkpoints, verifier and signer keys, tile paths, entry bundles,
// and the Merkle proof verifiers on arbitrary sizes and hashes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/tile.h"

using namespace custody::audit;

namespace {

// The published golang.org/x/mod/sumdb/note test key, which signed the
// seed corpus, and a witness key generated for it.
constexpr std::string_view kLogKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kWitnessKey = "witness.example/fuzz+352cd41a+BHJLw2tNhZrUo04lodavIiVM3axcwo/xjOhTBmR2FU8r";

struct Keys {
  NoteVerifier log = *NoteVerifier::parse(kLogKey);
  std::vector<NoteVerifier> witnesses{*NoteVerifier::parse(kWitnessKey)};
};

void check_note(std::string_view in, const Keys& keys) {
  if (auto note = Note::parse(in)) {
    auto again = note->format();
    if (!again || *again != in) __builtin_trap();  // parsing never rewrites
  }
  std::vector<NoteVerifier> known{keys.log, keys.witnesses[0]};
  if (auto opened = open_note(in, known)) {
    if (opened->verified.empty() || !in.starts_with(opened->text)) __builtin_trap();
  }
  if (auto cp = open_checkpoint(in, "PeterNeumann", keys.log, keys.witnesses)) {
    if (cp->checkpoint.text() != cp->note.text) __builtin_trap();
    if (cp->cosignatures.size() > 1) __builtin_trap();
  }
  if (auto c = Checkpoint::parse(in)) {
    if (c->text() != in) __builtin_trap();
  }
}

void check_keys(std::string_view in) {
  if (auto v = NoteVerifier::parse(in)) {
    auto again = NoteVerifier::parse(v->to_string());
    if (!again || again->key_id() != v->key_id() || again->name() != v->name()) __builtin_trap();
  }
  if (auto s = NoteSigner::parse(in)) {
    if (s->to_string().size() != in.size()) __builtin_trap();
  }
}

void check_tiles(std::string_view in) {
  if (auto p = parse_tile_path(in)) {
    if ((p->entries ? p->tile.entries_path() : p->tile.path()) != in) __builtin_trap();
  }
  if (auto entries = decode_entry_bundle(in)) {
    auto again = encode_entry_bundle(*entries);
    if (!again || *again != in) __builtin_trap();
  }
}

// Reads the input as two sizes and a list of hashes, and runs both proof
// verifiers: they must never crash, and a root they compute must verify.
void check_proofs(const uint8_t* data, size_t size) {
  if (size < 16) return;
  uint64_t a = 0, b = 0;
  for (int i = 0; i < 8; ++i) a = a << 8 | data[i];
  for (int i = 8; i < 16; ++i) b = b << 8 | data[i];
  std::vector<Hash> hashes;
  for (size_t off = 16; off + Hash::kSize <= size && hashes.size() < 70; off += Hash::kSize)
    hashes.push_back(*Hash::from_bytes(std::span(data + off, Hash::kSize)));
  Hash leaf = leaf_hash(std::string_view(reinterpret_cast<const char*>(data), 16));
  if (auto root = root_from_inclusion_proof(leaf, a, b, hashes)) {
    if (!verify_inclusion(leaf, a, b, hashes, *root)) __builtin_trap();
    if (hashes.size() != inclusion_proof_size(a, b)) __builtin_trap();
  }
  Hash r1 = hashes.empty() ? empty_root() : hashes.front();
  Hash r2 = hashes.empty() ? empty_root() : hashes.back();
  (void)verify_consistency(a, b, hashes, r1, r2);
  (void)consistency_proof_size(a, b >= a ? b : a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Keys keys;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_note(in, keys);
  check_keys(in);
  check_tiles(in);
  check_proofs(data, size);
  return 0;
}
