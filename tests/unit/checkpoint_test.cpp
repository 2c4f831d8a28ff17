// C2SP tlog-checkpoint bodies, signed checkpoints and tlog-cosignature v1
// witness cosignatures: the spec examples, real sum.golang.org checkpoints
// under the Go checksum database's published key, strict rejection of
// malformed bodies, and the end-to-end story of detecting a forked log.
#include "audit/checkpoint.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "audit/encoding.h"
#include "audit/merkle.h"

namespace custody::audit {
namespace {

const std::string kSpecBody =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const std::string kSpecLogSig =
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
const std::string kSpecWitnessSig =
    "— witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

// sum.golang.org's published key and two of its signed tree heads.
const std::string kSumdbVkey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const std::vector<std::string> kSumdbCheckpoints = {
    "go.sum database tree\n31700353\nqINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n\n"
    "— sum.golang.org Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/C3YI8oW9/C8DJ87F61QqspBYwM=\n",
    "go.sum database tree\n65209736\n5+uGFjx6xBZG8ip1+wi77v+grwbhhukIrxEUS8PXvRo=\n\n"
    "— sum.golang.org Az3grnbssgK7ubgFX36gVETtNv0U23qxyAhAMai2QUfeGa3nB/akvkMdlUErfcZz7l/R3cVtYspg3dxXABkGZZKdsQ8=\n",
};

const std::string kRoot64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

TEST(CheckpointEncodingTest, Base64MatchesRfc4648AndIsCanonical) {
  // RFC 4648 §10 test vectors.
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(bytes_of(plain)), encoded);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
  for (const char* bad : {"Zg", "Zg=", "Zh==", "Zm9=", "Zg=a", "====", "Z===", "Zm9v\n", " Zm9v", "Zm-v", "Zm_v",
                          "Zg==Zg==", "=Zm9"})
    EXPECT_FALSE(base64_decode(bad)) << bad;
  EXPECT_EQ(hex_encode(*hex_decode("00FFa5")), "00ffa5");
  EXPECT_FALSE(hex_decode("0"));
  EXPECT_FALSE(hex_decode("0g"));
}

TEST(CheckpointTest, ParsesTheSpecExample) {
  auto c = Checkpoint::parse(kSpecBody);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->origin(), "example.com/behind-the-sofa");
  EXPECT_EQ(c->size(), 20852163u);
  EXPECT_EQ(base64_encode(c->root().bytes()), kRoot64);
  EXPECT_TRUE(c->extensions().empty());
  EXPECT_EQ(c->text(), kSpecBody);
  // The signed form parses as a note; its key is not published.
  auto note = Note::parse(kSpecBody + "\n" + kSpecLogSig + kSpecWitnessSig);
  ASSERT_TRUE(note);
  EXPECT_EQ(note->text, kSpecBody);
  EXPECT_EQ(note->signatures.size(), 2u);
}

TEST(CheckpointTest, SpecCosignatureCarriesItsTimestamp) {
  // tlog-cosignature's example signs "time 1679315147": the line holds the
  // key ID, then that timestamp as a big-endian uint64, then 64 bytes.
  auto note = Note::parse(kSpecBody + "\n" + kSpecLogSig + kSpecWitnessSig);
  ASSERT_TRUE(note);
  const NoteSignature& w = note->signatures[1];
  EXPECT_EQ(w.name, "witness.example.com/w1");
  EXPECT_EQ(w.key_id, 0x8d66cf3fu);
  ASSERT_EQ(w.signature.size(), 8u + 64u);
  uint64_t timestamp = 0;
  for (int i = 0; i < 8; ++i) timestamp = timestamp << 8 | w.signature[i];
  EXPECT_EQ(timestamp, 1679315147u);
}

TEST(CheckpointTest, VerifiesRealSumGolangOrgCheckpoints) {
  auto key = NoteVerifier::parse(kSumdbVkey);
  ASSERT_TRUE(key);
  for (const std::string& note : kSumdbCheckpoints) {
    auto c = open_checkpoint(note, "go.sum database tree", *key);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_GT(c->checkpoint.size(), 31000000u);
    EXPECT_TRUE(c->cosignatures.empty());
    std::string tampered = note;
    tampered[23] = tampered[23] == '1' ? '2' : '1';  // a digit of the tree size
    EXPECT_EQ(open_checkpoint(tampered, "go.sum database tree", *key).error().code, ErrorCode::kDataLoss);
  }
}

TEST(CheckpointTest, CreateTextParseRoundTrip) {
  Hash root = leaf_hash("root");
  auto c = Checkpoint::create("custody.example/log", 0, empty_root());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->text(), "custody.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
  auto with_ext = Checkpoint::create("custody.example/log", UINT64_MAX, root, {"ext one", "— two"});
  ASSERT_TRUE(with_ext);
  auto parsed = Checkpoint::parse(with_ext->text());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, *with_ext);
  EXPECT_EQ(parsed->size(), UINT64_MAX);
  for (const char* bad_origin : {"", "a\nb", "tab\there"}) EXPECT_FALSE(Checkpoint::create(bad_origin, 1, root));
  EXPECT_FALSE(Checkpoint::create("o", 1, root, {""}));
  EXPECT_FALSE(Checkpoint::create("o", 1, root, {"a\nb"}));
}

TEST(CheckpointTest, RejectsMalformedBodies) {
  const std::string o = "example.com/log\n";
  const std::string r = kRoot64 + "\n";
  for (const std::string& bad : {
           std::string(),
           o + "1\n" + kRoot64,                                       // missing final newline
           o + "1\n",                                                 // no root
           o,                                                         // no size
           "\n1\n" + r,                                               // empty origin
           o + "12a\n" + r, o + "-1\n" + r, o + "+1\n" + r,           // non-decimal sizes
           o + " 1\n" + r, o + "1 \n" + r, o + "0x10\n" + r, o + "1e3\n" + r,
           o + "01\n" + r, o + "00\n" + r, o + "007\n" + r,           // leading zeros
           o + "18446744073709551616\n" + r,                          // 2^64
           o + "\n" + r,                                              // empty size
           o + "1\n" + kRoot64.substr(0, 43) + "\n",                  // missing padding
           o + "1\n" + kRoot64.substr(0, 42) + "J=\n",                // non-canonical trailing bits
           o + "1\n" + kRoot64.substr(0, 10) + "-" + kRoot64.substr(11) + "\n",  // URL-safe alphabet
           o + "1\n" + kRoot64.substr(0, 10) + " " + kRoot64.substr(11) + "\n",
           o + "1\n" + base64_encode(std::vector<uint8_t>(31, 7)) + "\n",  // wrong hash lengths
           o + "1\n" + base64_encode(std::vector<uint8_t>(33, 7)) + "\n",
           o + "1\n\n",                                               // empty root line
           o + "1\n" + r + "\n",                                      // empty extension line
           o + "1\n" + r + "\next\n",
           "example.com/log\r\n1\r\n" + kRoot64 + "\r\n",             // CRLF
           "exa\x01mple\n1\n" + r,                                    // control character
           "exa\xffmple\n1\n" + r,                                    // not UTF-8
       }) {
    auto c = Checkpoint::parse(bad);
    EXPECT_FALSE(c) << bad;
    if (!c) {
      EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_EQ(Checkpoint::parse(o + "18446744073709551615\n" + r)->size(), UINT64_MAX);
  EXPECT_EQ(Checkpoint::parse(o + "0\n" + r)->size(), 0u);
}

class CheckpointSignedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = *NoteSigner::generate(kOrigin);
    witness_a_ = *NoteSigner::generate("witness.example/a", SignatureType::kCosignatureV1);
    witness_b_ = *NoteSigner::generate("witness.example/b", SignatureType::kCosignatureV1);
    checkpoint_ = *Checkpoint::create(kOrigin, 42, leaf_hash("some root"));
    signed_ = *sign_checkpoint(*checkpoint_, *log_);
  }
  std::vector<NoteVerifier> witnesses() const { return {witness_a_->verifier(), witness_b_->verifier()}; }

  static constexpr const char* kOrigin = "custody.example/log";
  std::optional<NoteSigner> log_, witness_a_, witness_b_;
  std::optional<Checkpoint> checkpoint_;
  std::string signed_;
};

TEST_F(CheckpointSignedTest, OpensWithTheLogKey) {
  auto c = open_checkpoint(signed_, kOrigin, log_->verifier());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->checkpoint, *checkpoint_);
  EXPECT_EQ(c->note.verified.size(), 1u);
  EXPECT_EQ(signed_.substr(0, checkpoint_->text().size()), checkpoint_->text());
}

TEST_F(CheckpointSignedTest, RejectsWrongKeyWrongOriginAndTampering) {
  auto other = NoteSigner::generate(kOrigin);
  auto wrong_key = open_checkpoint(signed_, kOrigin, other->verifier());
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code, ErrorCode::kFailedPrecondition);
  auto wrong_origin = open_checkpoint(signed_, "custody.example/other", log_->verifier());
  ASSERT_FALSE(wrong_origin);
  EXPECT_EQ(wrong_origin.error().code, ErrorCode::kFailedPrecondition);
  std::string tampered = signed_;
  tampered.replace(tampered.find("\n42\n"), 4, "\n43\n");
  EXPECT_EQ(open_checkpoint(tampered, kOrigin, log_->verifier()).error().code, ErrorCode::kDataLoss);
  // A validly signed note whose body is not a checkpoint.
  auto not_a_checkpoint = sign_note("hello\n", *log_);
  EXPECT_EQ(open_checkpoint(*not_a_checkpoint, kOrigin, log_->verifier()).error().code,
            ErrorCode::kInvalidArgument);
  // Keys of the wrong kind.
  EXPECT_FALSE(sign_checkpoint(*checkpoint_, *witness_a_));
  EXPECT_FALSE(open_checkpoint(signed_, kOrigin, witness_a_->verifier()));
  std::vector<NoteVerifier> log_as_witness{log_->verifier()};
  EXPECT_FALSE(open_checkpoint(signed_, kOrigin, log_->verifier(), log_as_witness));
}

TEST_F(CheckpointSignedTest, WitnessCosignaturesVerifyWithTheirTimestamps) {
  auto once = cosign_checkpoint(signed_, *witness_a_, 1679315147);
  ASSERT_TRUE(once) << once.error().message;
  auto twice = cosign_checkpoint(*once, *witness_b_, 1700000000);
  ASSERT_TRUE(twice);
  auto c = open_checkpoint(*twice, kOrigin, log_->verifier(), witnesses());
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->cosignatures.size(), 2u);
  EXPECT_EQ(c->cosignatures[0].name, "witness.example/a");
  EXPECT_EQ(c->cosignatures[0].timestamp, 1679315147u);
  EXPECT_EQ(c->cosignatures[1].timestamp, 1700000000u);
  // Without the witnesses' keys the cosignatures are ignored, not fatal.
  auto plain = open_checkpoint(*twice, kOrigin, log_->verifier());
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->cosignatures.empty());
  EXPECT_EQ(plain->note.unknown.size(), 2u);
  // Cosigning again replaces the witness's earlier line.
  auto again = cosign_checkpoint(*twice, *witness_a_, 1800000000);
  ASSERT_TRUE(again);
  EXPECT_EQ(Note::parse(*again)->signatures.size(), 3u);
  EXPECT_EQ(open_checkpoint(*again, kOrigin, log_->verifier(), witnesses())->cosignatures[1].timestamp,
            1800000000u);
}

TEST_F(CheckpointSignedTest, ForgedCosignaturesFail) {
  auto cosigned = *cosign_checkpoint(signed_, *witness_a_, 1679315147);
  auto note = *Note::parse(cosigned);
  // Change the timestamp the witness signed.
  note.signatures[1].signature[7] ^= 1;
  EXPECT_EQ(open_checkpoint(*note.format(), kOrigin, log_->verifier(), witnesses()).error().code,
            ErrorCode::kDataLoss);
  // A cosignature is not a log signature: the same key as type 0x01 has
  // another key ID, so the line stays unknown.
  auto as_plain = NoteVerifier::from_public_key("witness.example/a", witness_a_->verifier().public_key());
  EXPECT_NE(as_plain->key_id(), witness_a_->verifier().key_id());
  std::vector<NoteVerifier> known{log_->verifier(), *as_plain};
  auto opened = open_note(cosigned, known);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->unknown.size(), 1u);
  // A cosigner's timestamp must stay below 2^63.
  EXPECT_FALSE(witness_a_->sign(checkpoint_->text(), uint64_t{1} << 63));
  EXPECT_FALSE(cosign_checkpoint(signed_, *log_, 1));  // a log key cannot cosign
  EXPECT_FALSE(cosign_checkpoint(*sign_note("hello\n", *log_), *witness_a_, 1));
}

// The story the log exists for: a client keeps an old checkpoint and
// later checks that the new one extends it.
TEST(CheckpointStoryTest, DetectsARewrittenHistory) {
  auto log_key = NoteSigner::generate("custody.example/log");
  MemoryHashStore store;
  auto tree = MerkleTree::open(store, 0);
  std::vector<Hash> leaves;
  for (int i = 0; i < 250; ++i) leaves.push_back(leaf_hash("event " + std::to_string(i)));
  ASSERT_TRUE(tree->append_batch(std::span(leaves).first(100)));
  auto old_note = *sign_checkpoint(*Checkpoint::create("custody.example/log", 100, tree->root()), *log_key);
  ASSERT_TRUE(tree->append_batch(std::span(leaves).subspan(100)));
  auto new_note = *sign_checkpoint(*Checkpoint::create("custody.example/log", 250, tree->root()), *log_key);

  auto old_cp = open_checkpoint(old_note, "custody.example/log", log_key->verifier());
  auto new_cp = open_checkpoint(new_note, "custody.example/log", log_key->verifier());
  ASSERT_TRUE(old_cp && new_cp);
  auto proof = tree->consistency_proof(100, 250);
  EXPECT_TRUE(verify_consistency(100, 250, *proof, old_cp->checkpoint.root(), new_cp->checkpoint.root()));

  // The operator edits event 50 and re-signs: the fork cannot be proven
  // consistent with what the client already holds.
  leaves[50] = leaf_hash("event 50, edited");
  MemoryHashStore forked_store;
  auto forked = MerkleTree::open(forked_store, 0);
  ASSERT_TRUE(forked->append_batch(leaves));
  auto forked_note = *sign_checkpoint(*Checkpoint::create("custody.example/log", 250, forked->root()), *log_key);
  auto forked_cp = open_checkpoint(forked_note, "custody.example/log", log_key->verifier());
  ASSERT_TRUE(forked_cp);  // the signature is fine; the history is not
  auto s = verify_consistency(100, 250, *forked->consistency_proof(100, 250), old_cp->checkpoint.root(),
                              forked_cp->checkpoint.root());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace custody::audit
