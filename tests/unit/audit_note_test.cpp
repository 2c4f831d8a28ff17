// C2SP signed notes against the published vectors of the reference
// implementation (golang.org/x/mod/sumdb/note note_test.go: the
// PeterNeumann and EnochRoot keys and signatures), real sum.golang.org
// checkpoints under its published key, and forgeries.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "audit/encoding.h"
#include "audit/note.h"

namespace custody::audit {
namespace {

const std::string kPeterVkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const std::string kPeterSkey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const std::string kEnochVkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const std::string kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
const std::string kPeterSig =
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const std::string kEnochSig =
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

NoteVerifier verifier(const std::string& vkey) { return *NoteVerifier::parse(vkey); }

TEST(CheckpointKeyTest, ParsesReferenceVerifierKey) {
  auto v = NoteVerifier::parse(kPeterVkey);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->name(), "PeterNeumann");
  EXPECT_EQ(v->key_id(), 0xc74f20a3u);
  EXPECT_EQ(v->type(), SignatureType::kEd25519);
  EXPECT_EQ(v->to_string(), kPeterVkey);
  EXPECT_EQ(compute_key_id("PeterNeumann", SignatureType::kEd25519, v->public_key()), 0xc74f20a3u);
  // Key material may itself contain '+': only the first two split.
  auto sumdb = NoteVerifier::parse("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8");
  ASSERT_TRUE(sumdb);
  EXPECT_EQ(sumdb->key_id(), 0x033de0aeu);
}

TEST(CheckpointKeyTest, ParsesReferenceSignerKey) {
  auto s = NoteSigner::parse(kPeterSkey);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->verifier().to_string(), kPeterVkey);
  EXPECT_EQ(s->to_string(), kPeterSkey);
}

TEST(CheckpointKeyTest, RejectsEveryMangledVerifierKey) {
  // As note_test.go's TestNewVerifier: every proper substring and every
  // single-byte change must fail.
  std::string b = kPeterVkey;
  for (size_t i = 0; i <= b.size(); ++i)
    for (size_t j = i + 1; j <= b.size(); ++j)
      if (i != 0 || j != b.size()) {
        EXPECT_FALSE(NoteVerifier::parse(b.substr(i, j - i))) << b.substr(i, j - i);
      }
  for (size_t i = 0; i < b.size(); ++i) {
    ++b[i];
    EXPECT_FALSE(NoteVerifier::parse(b)) << b;
    --b[i];
  }
  // Wrong key length and unknown algorithm, each with a matching key ID.
  EXPECT_FALSE(NoteVerifier::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="));
  auto unknown = NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnimplemented);
}

TEST(CheckpointKeyTest, RejectsEveryMangledSignerKey) {
  std::string b = kPeterSkey;
  for (size_t i = 0; i <= b.size(); ++i)
    for (size_t j = i + 1; j <= b.size(); ++j)
      if (i != 0 || j != b.size()) {
        EXPECT_FALSE(NoteSigner::parse(b.substr(i, j - i))) << b.substr(i, j - i);
      }
  for (size_t i = 0; i < b.size(); ++i) {
    ++b[i];
    EXPECT_FALSE(NoteSigner::parse(b)) << b;
    --b[i];
  }
}

TEST(CheckpointKeyTest, KeyNamesFollowTheSpec) {
  EXPECT_TRUE(is_valid_key_name("example.com/log42"));
  EXPECT_TRUE(is_valid_key_name("räksmörgås.example"));
  for (std::string_view bad : {"", "a+b", "a b", "a\tb", "a\xC2\xA0" "b", "a\xE2\x80\x83" "b", "a\xE3\x80\x80" "b",
                               "\xFF", "\xC0\x80", "\xED\xA0\x80"})
    EXPECT_FALSE(is_valid_key_name(bad)) << bad;
}

TEST(CheckpointKeyTest, GeneratedKeysRoundTrip) {
  for (SignatureType type : {SignatureType::kEd25519, SignatureType::kCosignatureV1}) {
    auto s = NoteSigner::generate("custody.example/log", type);
    ASSERT_TRUE(s);
    auto again = NoteSigner::parse(s->to_string());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->verifier().to_string(), s->verifier().to_string());
    auto v = NoteVerifier::parse(s->verifier().to_string());
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type(), type);
  }
  EXPECT_FALSE(NoteSigner::generate("bad name"));
  EXPECT_NE(NoteSigner::generate("a")->to_string(), NoteSigner::generate("a")->to_string());
}

TEST(CheckpointNoteTest, SignsExactlyLikeTheReference) {
  auto signer = NoteSigner::parse(kPeterSkey);
  ASSERT_TRUE(signer);
  auto note = sign_note(kText, *signer);
  ASSERT_TRUE(note);
  EXPECT_EQ(*note, kText + "\n" + kPeterSig);
  EXPECT_FALSE(sign_note("abc", *signer));  // no final newline
  EXPECT_FALSE(sign_note("", *signer));
  EXPECT_FALSE(sign_note("a\x01" "b\n", *signer));
}

TEST(CheckpointNoteTest, OpensReferenceNotes) {
  std::vector<NoteVerifier> peter{verifier(kPeterVkey)};
  auto n = open_note(kText + "\n" + kPeterSig + kEnochSig, peter);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->text, kText);
  ASSERT_EQ(n->verified.size(), 1u);
  EXPECT_EQ(n->verified[0].name, "PeterNeumann");
  EXPECT_EQ(n->verified[0].key_id, 0xc74f20a3u);
  ASSERT_EQ(n->unknown.size(), 1u);
  EXPECT_EQ(n->unknown[0].name, "EnochRoot");
  EXPECT_EQ(n->unknown[0].key_id, 0xaf0cfe78u);

  std::vector<NoteVerifier> both{verifier(kPeterVkey), verifier(kEnochVkey)};
  n = open_note(kText + "\n" + kPeterSig + kEnochSig, both);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->verified.size(), 2u);
  EXPECT_TRUE(n->unknown.empty());

  // Repeated lines: verified once, unknown ones deduplicated.
  n = open_note(kText + "\n" + kPeterSig + kPeterSig + kEnochSig + kEnochSig, peter);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->verified.size(), 1u);
  EXPECT_EQ(n->unknown.size(), 1u);
}

TEST(CheckpointNoteTest, RejectsNotesWithoutKnownSignatures) {
  auto n = open_note(kText + "\n" + kPeterSig + kEnochSig, {});
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kFailedPrecondition);
  // A known name with an unknown key ID is just another unknown key.
  auto other = NoteSigner::generate("PeterNeumann");
  std::vector<NoteVerifier> impostor{other->verifier()};
  EXPECT_EQ(open_note(kText + "\n" + kPeterSig, impostor).error().code, ErrorCode::kFailedPrecondition);
}

TEST(CheckpointNoteTest, RejectsBadSignatureFromKnownKey) {
  std::vector<NoteVerifier> peter{verifier(kPeterVkey)};
  // note_test.go: "ABCD" spliced into the signature.
  auto n = open_note(kText + "\n" + kPeterSig.substr(0, 60) + "ABCD" + kPeterSig.substr(60), peter);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(n.error().message.find("PeterNeumann+c74f20a3"), std::string::npos);
  // Edited text.
  std::string edited = kText;
  edited[3] = 'Y';
  EXPECT_EQ(open_note(edited + "\n" + kPeterSig, peter).error().code, ErrorCode::kDataLoss);
  // A good signature does not excuse a bad one from the same key.
  std::string forged = kPeterSig;
  forged[forged.size() - 6] ^= 1;
  EXPECT_EQ(open_note(kText + "\n" + kPeterSig + forged, peter).error().code, ErrorCode::kDataLoss);
}

TEST(CheckpointNoteTest, ForgedSignatureUnderAnotherKeysNameFails) {
  // Mallory signs with her key but labels the line with the log's name
  // and key ID.
  auto log = NoteSigner::generate("custody.example/log");
  auto mallory = NoteSigner::generate("custody.example/log");
  auto sig = mallory->sign(kText);
  ASSERT_TRUE(sig);
  sig->key_id = log->verifier().key_id();
  std::vector<NoteVerifier> known{log->verifier()};
  auto n = open_note(kText + "\n" + sig->line(), known);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kDataLoss);
  // Unlabelled, her signature is simply unknown.
  EXPECT_EQ(open_note(*sign_note(kText, *mallory), known).error().code, ErrorCode::kFailedPrecondition);
}

TEST(CheckpointNoteTest, RejectsMalformedNotes) {
  std::vector<NoteVerifier> peter{verifier(kPeterVkey)};
  // note_test.go's malformed messages, then more.
  for (const std::string& bad : {
           kText,
           kText + "\n",
           kText + "\n" + kPeterSig.substr(0, kPeterSig.size() - 1),
           "\x01" + kText + "\n" + kPeterSig,
           "\xff" + kText + "\n" + kPeterSig,
           kText + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
           kText + "\n" + kPeterSig + "Unexpected line.\n",
           kText + "\n" + "-- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
           kText + "\n" + "— PeterNeumann\n",
           kText + "\n" + "— PeterNeumann \n",
           kText + "\n" + "— PeterNeumann AAAAAA==\n",  // shorter than a key ID and one byte
           kText + "\n" + "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
           kText + "\n" + "— PeterNeumann  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
           "If you think\r\n\n" + kPeterSig,
       }) {
    auto n = open_note(bad, peter);
    ASSERT_FALSE(n) << bad;
    EXPECT_EQ(n.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  std::string many = kText + "\n";
  for (int i = 0; i < 101; ++i) many += kPeterSig;
  EXPECT_EQ(open_note(many, peter).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(open_note(many, {}).error().code, ErrorCode::kInvalidArgument);
}

TEST(CheckpointNoteTest, TextMayContainBlankLines) {
  auto signer = NoteSigner::parse(kPeterSkey);
  std::string text = "first\n\nthird\n";
  auto note = sign_note(text, *signer);
  ASSERT_TRUE(note);
  std::vector<NoteVerifier> peter{signer->verifier()};
  auto n = open_note(*note, peter);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->text, text);
}

TEST(CheckpointNoteTest, AmbiguousKnownKeysAreAnError) {
  std::vector<NoteVerifier> twice{verifier(kEnochVkey), verifier(kPeterVkey), verifier(kEnochVkey)};
  auto n = open_note(kText + "\n" + kPeterSig, twice);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(n.error().message.find("ambiguous key EnochRoot+af0cfe78"), std::string::npos);
}

TEST(CheckpointNoteTest, ParseAndFormatRoundTrip) {
  std::string msg = kText + "\n" + kPeterSig + kEnochSig;
  auto note = Note::parse(msg);
  ASSERT_TRUE(note);
  EXPECT_EQ(note->signatures.size(), 2u);
  EXPECT_EQ(note->signatures[1].line(), kEnochSig);
  EXPECT_EQ(*note->format(), msg);
  note->signatures.clear();
  EXPECT_FALSE(note->format());
}

}  // namespace
}  // namespace custody::audit
