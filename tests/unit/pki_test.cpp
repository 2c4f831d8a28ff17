// The built-in CA end to end: the certificates it issues verify with
// OpenSSL's own chain verifier for the right purpose only, carry the names
// asked for, map back to the identity they were issued for, and end up in
// a CRL that OpenSSL honours; plus the peer-certificate parser's refusals
// and the client bundle on disk.
#include "pki/ca.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ids.h"
#include "common/time.h"
#include "pki/bundle.h"
#include "pki/ossl.h"
#include "pki/subject.h"

namespace custody::pki {
namespace {

namespace fs = std::filesystem;

ossl::X509Ptr parse_pem(const std::string& pem) {
  auto cert = ossl::parse_certificate_pem(pem);
  EXPECT_TRUE(cert) << cert.error().message;
  return cert ? std::move(*cert) : nullptr;
}

std::string to_der(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// X509_verify_cert against `ca` alone, for `purpose`, optionally with a CRL.
int verify(X509* ca, X509* leaf, int purpose, X509_CRL* crl = nullptr) {
  ossl::StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca);
  if (crl) {
    X509_STORE_add_crl(store.get(), crl);
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  ossl::StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

int64_t not_after(X509* cert) { return *ossl::time_to_unix(X509_get0_notAfter(cert)); }

bool has_extension(X509* cert, int nid, bool critical) {
  int idx = X509_get_ext_by_NID(cert, nid, -1);
  return idx >= 0 && (X509_EXTENSION_get_critical(X509_get_ext(cert, idx)) != 0) == critical;
}

class PkiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CertificateAuthority::create({.common_name = "Test Root", .organization = "Custody tests"});
    ASSERT_TRUE(ca) << ca.error().message;
    ca_ = new CertificateAuthority(std::move(*ca));
  }
  static void TearDownTestSuite() {
    delete ca_;
    ca_ = nullptr;
  }
  static const CertificateAuthority& ca() { return *ca_; }
  static ossl::X509Ptr ca_cert() { return parse_pem(ca_->certificate_pem()); }

  IssuedCertificate client(const std::string& identity, const std::string& email = "") {
    auto issued = ca().issue_client({.identity = identity, .email = email});
    EXPECT_TRUE(issued) << issued.error().message;
    return issued ? *issued : IssuedCertificate{};
  }

  static CertificateAuthority* ca_;
};
CertificateAuthority* PkiTest::ca_ = nullptr;

TEST_F(PkiTest, RootIsASelfSignedTenYearCa) {
  auto cert = ca_cert();
  ASSERT_TRUE(cert);
  EXPECT_TRUE(has_extension(cert.get(), NID_basic_constraints, true));
  EXPECT_TRUE(has_extension(cert.get(), NID_key_usage, true));
  EXPECT_TRUE(has_extension(cert.get(), NID_subject_key_identifier, false));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_check_issued(cert.get(), cert.get()), X509_V_OK);
  EXPECT_EQ(verify(cert.get(), cert.get(), X509_PURPOSE_ANY), X509_V_OK);
  EXPECT_TRUE(EVP_PKEY_is_a(X509_get0_pubkey(cert.get()), "EC"));
  EXPECT_NEAR(static_cast<double>(ca().not_after_s() - now_unix_ms() / 1000), 3650.0 * 86400, 600);
  EXPECT_EQ(ca().serial_hex().size(), 32u);
  EXPECT_EQ(ca().serial_hex(), ossl::serial_to_hex(X509_get0_serialNumber(cert.get())));
  EXPECT_EQ(to_der(cert.get()), ca().certificate_der());
}

TEST_F(PkiTest, ServerCertificateVerifiesForServersWithItsNames) {
  auto issued = ca().issue_server({.hosts = {"registry.example", "localhost", "*.apps.example", "127.0.0.1", "::1"}});
  ASSERT_TRUE(issued) << issued.error().message;
  auto ca_x = ca_cert();
  auto cert = parse_pem(issued->cert_pem);
  EXPECT_EQ(verify(ca_x.get(), cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_NE(verify(ca_x.get(), cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);  // EKU serverAuth only
  EXPECT_EQ(X509_check_host(cert.get(), "registry.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "web.apps.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "other.example", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 0);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(issued->not_after_s, not_after(cert.get()));
  EXPECT_NEAR(static_cast<double>(issued->not_after_s - now_unix_ms() / 1000), 365.0 * 86400, 600);
  EXPECT_EQ(issued->serial_hex, ossl::serial_to_hex(X509_get0_serialNumber(cert.get())));

  auto key = ossl::parse_private_key_pem(issued->key_pem);
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key->get()), 1);
  auto peer = parse_peer_certificate(to_der(cert.get()));
  ASSERT_TRUE(peer) << peer.error().message;
  EXPECT_EQ(peer->common_name, "registry.example");
  EXPECT_EQ(peer->san_dns, (std::vector<std::string>{"registry.example", "localhost", "*.apps.example"}));
}

TEST_F(PkiTest, ServerHostsAreChecked) {
  for (std::vector<std::string> hosts : std::vector<std::vector<std::string>>{
           {}, {"bad host"}, {"a.example,DNS:evil.example"}, {"-a.example"}, {"a..example"}, {""}, {"x/y"}}) {
    auto issued = ca().issue_server({.hosts = hosts});
    EXPECT_FALSE(issued) << (hosts.empty() ? "(none)" : hosts[0]);
  }
  EXPECT_FALSE(ca().issue_server({.hosts = {"ok.example"}, .validity_days = 0}));
}

TEST_F(PkiTest, ClientCertificateVerifiesAndMapsUnderEveryMapping) {
  IssuedCertificate issued = client("alice", "Alice@Corp.example");
  auto ca_x = ca_cert();
  auto cert = parse_pem(issued.cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(verify(ca_x.get(), cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_NE(verify(ca_x.get(), cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);  // EKU clientAuth only
  EXPECT_NEAR(static_cast<double>(issued.not_after_s - now_unix_ms() / 1000), 90.0 * 86400, 600);

  auto peer = parse_peer_certificate(to_der(cert.get()));
  ASSERT_TRUE(peer) << peer.error().message;
  EXPECT_EQ(peer->serial_hex, issued.serial_hex);
  EXPECT_EQ(peer->serial_hex.size(), 32u);
  EXPECT_EQ(peer->common_name, "alice");
  EXPECT_EQ(peer->san_uris, std::vector<std::string>{"custody://principal/alice"});
  EXPECT_EQ(peer->san_emails, std::vector<std::string>{"Alice@Corp.example"});
  EXPECT_TRUE(peer->san_dns.empty());
  EXPECT_EQ(peer->not_after_s, issued.not_after_s);
  unsigned char md[32];
  unsigned int len = 0;
  X509_digest(cert.get(), EVP_sha256(), md, &len);
  std::ostringstream hex;
  for (unsigned char b : md) hex << std::hex << (b >> 4) << (b & 0xf);
  EXPECT_EQ(peer->sha256_fingerprint, hex.str());

  for (auto m : {SubjectMapping::kCommonName, SubjectMapping::kSanEmail, SubjectMapping::kSanUri}) {
    auto id = map_subject_to_identity(*peer, m);
    ASSERT_TRUE(id) << subject_mapping_name(m) << ": " << id.error().message;
    EXPECT_EQ(*id, "alice") << subject_mapping_name(m);
  }
  EXPECT_EQ(map_subject_to_identity(*peer, SubjectMapping::kSanEmail, "corp.EXAMPLE").value_or(""), "alice");
  auto other_domain = map_subject_to_identity(*peer, SubjectMapping::kSanEmail, "evil.example");
  ASSERT_FALSE(other_domain);
  EXPECT_EQ(other_domain.error().code, ErrorCode::kNotFound);
}

TEST_F(PkiTest, RobotCertificatesMapToTheRobot) {
  for (std::string robot : {"robot$ci", "robot$acme+deployer"}) {
    IssuedCertificate issued = client(robot);
    auto peer = parse_peer_certificate(to_der(parse_pem(issued.cert_pem).get()));
    ASSERT_TRUE(peer) << peer.error().message;
    EXPECT_EQ(map_subject_to_identity(*peer, SubjectMapping::kSanUri).value_or(""), robot);
    EXPECT_EQ(map_subject_to_identity(*peer, SubjectMapping::kCommonName).value_or(""), robot);
    EXPECT_EQ(map_subject_to_identity(*peer, SubjectMapping::kSanEmail).error().code, ErrorCode::kNotFound);
  }
}

TEST_F(PkiTest, ClientRequestsAreChecked) {
  for (std::string bad : std::vector<std::string>{"", "Alice", "al ice", "robot$", "robot$a+", "robot$a+b+c", "-x", std::string(65, 'a')})
    EXPECT_FALSE(ca().issue_client({.identity = bad})) << bad;
  EXPECT_FALSE(ca().issue_client({.identity = "alice", .email = "not-an-email"}));
  EXPECT_FALSE(ca().issue_client({.identity = "alice", .email = "a@b\nc"}));
  EXPECT_FALSE(ca().issue_client({.identity = "alice", .validity_days = 0}));
  auto week = ca().issue_client({.identity = "alice", .validity_days = 7, .now_s = 2'000'000'000});
  ASSERT_TRUE(week);
  EXPECT_EQ(week->not_after_s, 2'000'000'000 + 7 * 86400);
}

TEST(PkiCa, LeavesNeverOutliveTheCa) {
  auto ca = CertificateAuthority::create({.validity_days = 1, .now_s = 1'800'000'000});
  ASSERT_TRUE(ca);
  auto issued = ca->issue_client({.identity = "bob", .now_s = 1'800'000'100});
  ASSERT_TRUE(issued);
  EXPECT_EQ(issued->not_after_s, ca->not_after_s());
  auto late = ca->issue_client({.identity = "bob", .now_s = 1'800'000'000 + 2 * 86400});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(PkiTest, CrlListsTheRevokedSerialsAndVerifies) {
  IssuedCertificate revoked = client("mallory");
  IssuedCertificate also_revoked = client("robot$old");
  IssuedCertificate fine = client("alice");
  auto crl_out = ca().make_crl({.revoked = {{revoked.serial_hex, 1'700'000'000},
                                            {also_revoked.serial_hex, 1'700'000'500},
                                            {revoked.serial_hex, 1'700'000'900}},
                                .number = 42});
  ASSERT_TRUE(crl_out) << crl_out.error().message;
  const auto* p = reinterpret_cast<const unsigned char*>(crl_out->der.data());
  ossl::CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_out->der.size())));
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
  auto ca_x = ca_cert();
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_x.get())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca_x.get())), 0);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 2);  // duplicates collapse
  auto listed = [&](const std::string& serial_hex) {
    auto serial = ossl::serial_from_hex(serial_hex);
    X509_REVOKED* entry = nullptr;
    return X509_CRL_get0_by_serial(crl.get(), &entry, serial->get()) == 1;
  };
  EXPECT_TRUE(listed(revoked.serial_hex));
  EXPECT_TRUE(listed(also_revoked.serial_hex));
  EXPECT_FALSE(listed(fine.serial_hex));
  int64_t this_update = *ossl::time_to_unix(X509_CRL_get0_lastUpdate(crl.get()));
  EXPECT_EQ(*ossl::time_to_unix(X509_CRL_get0_nextUpdate(crl.get())), this_update + 24 * 3600);
  ossl::IntegerPtr number(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
  ASSERT_TRUE(number);
  EXPECT_EQ(ASN1_INTEGER_get(number.get()), 42);
  EXPECT_GE(X509_CRL_get_ext_by_NID(crl.get(), NID_authority_key_identifier, -1), 0);

  // OpenSSL's verifier honours it: the revoked certificate fails, the other passes.
  EXPECT_EQ(verify(ca_x.get(), parse_pem(revoked.cert_pem).get(), X509_PURPOSE_SSL_CLIENT, crl.get()),
            X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(ca_x.get(), parse_pem(fine.cert_pem).get(), X509_PURPOSE_SSL_CLIENT, crl.get()), X509_V_OK);

  ossl::BioPtr bio(BIO_new_mem_buf(crl_out->pem.data(), static_cast<int>(crl_out->pem.size())));
  ossl::CrlPtr from_pem(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(from_pem);
  EXPECT_EQ(X509_CRL_cmp(from_pem.get(), crl.get()), 0);
}

TEST_F(PkiTest, CrlRefusesBadSerials) {
  for (std::string bad : std::vector<std::string>{"", "xyz", "-01", std::string(41, 'a'), "12 34"})
    EXPECT_FALSE(ca().make_crl({.revoked = {{bad, 0}}})) << bad;
  auto empty = ca().make_crl({});
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->der.empty());
}

TEST_F(PkiTest, GarbageIsNotACertificate) {
  std::string der = to_der(parse_pem(client("alice").cert_pem).get());
  ASSERT_TRUE(parse_peer_certificate(der));
  std::vector<std::string> garbage = {
      "",
      "hello",
      std::string(1000, '\0'),
      ca().certificate_pem(),            // PEM is not DER
      der.substr(0, der.size() - 1),     // truncated
      der + '\0',                        // trailing byte
      std::string(70 * 1024, '\x30'),   // oversized
  };
  std::string flipped = der;
  flipped[1] ^= 0x7f;  // a broken outer length
  garbage.push_back(flipped);
  for (const std::string& g : garbage) {
    auto peer = parse_peer_certificate(g);
    ASSERT_FALSE(peer) << g.size();
    EXPECT_EQ(peer.error().code, ErrorCode::kInvalidArgument);
    EXPECT_FALSE(peer.error().message.empty());
  }
}

TEST(PkiSubject, MappingRefusesMissingAmbiguousAndImplausibleNames) {
  PeerCertificate cert;
  EXPECT_EQ(map_subject_to_identity(cert, SubjectMapping::kCommonName).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(map_subject_to_identity(cert, SubjectMapping::kSanUri).error().code, ErrorCode::kNotFound);
  cert.san_uris = {"spiffe://corp/ns/x", "custody://principal/alice", "custody://principal/alice"};
  EXPECT_EQ(map_subject_to_identity(cert, SubjectMapping::kSanUri).value_or(""), "alice");
  cert.san_uris.push_back("custody://principal/bob");
  EXPECT_EQ(map_subject_to_identity(cert, SubjectMapping::kSanUri).error().code, ErrorCode::kInvalidArgument);
  cert.san_uris = {"custody://principal/robot%24ci"};
  EXPECT_FALSE(map_subject_to_identity(cert, SubjectMapping::kSanUri));
  cert.san_emails = {"alice@a.example", "alice@b.example"};
  EXPECT_EQ(map_subject_to_identity(cert, SubjectMapping::kSanEmail).value_or(""), "alice");
  cert.san_emails = {"alice@a.example", "bob@b.example"};
  EXPECT_FALSE(map_subject_to_identity(cert, SubjectMapping::kSanEmail));
  EXPECT_EQ(map_subject_to_identity(cert, SubjectMapping::kSanEmail, "b.example").value_or(""), "bob");
  cert.san_emails = {"@a.example", "no-at-sign"};
  EXPECT_EQ(map_subject_to_identity(cert, SubjectMapping::kSanEmail).error().code, ErrorCode::kNotFound);
  for (std::string cn : {"Alice Smith", "../etc", "robot$a+b+c", "a@b"}) {
    cert.common_name = cn;
    EXPECT_EQ(map_subject_to_identity(cert, SubjectMapping::kCommonName).error().code, ErrorCode::kInvalidArgument)
        << cn;
  }
  EXPECT_TRUE(is_plausible_identity_name("robot$acme+ci"));
  EXPECT_FALSE(is_plausible_identity_name("robot$+ci"));
  EXPECT_EQ(parse_subject_mapping("email"), SubjectMapping::kSanEmail);
  EXPECT_FALSE(parse_subject_mapping("CN"));
}

class PkiFilesTest : public PkiTest {
 protected:
  void SetUp() override { dir_ = fs::temp_directory_path() / ("custody-pki-" + random_uuid()); }
  void TearDown() override { fs::remove_all(dir_); }
  static unsigned mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path dir_;
};

TEST_F(PkiFilesTest, CaSavesAndLoadsWithAPrivateKeyFile) {
  fs::create_directories(dir_);
  fs::path key = dir_ / "ca.key", cert = dir_ / "ca.crt";
  ASSERT_TRUE(ca().save(key, cert));
  EXPECT_EQ(mode(key), 0600u);
  EXPECT_EQ(mode(cert), 0644u);
  auto loaded = CertificateAuthority::load(key, cert);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->certificate_pem(), ca().certificate_pem());
  auto issued = loaded->issue_client({.identity = "carol"});
  ASSERT_TRUE(issued);
  EXPECT_EQ(verify(ca_cert().get(), parse_pem(issued->cert_pem).get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);

  auto again = ca().save(key, cert);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(ca().save(key, cert, /*overwrite=*/true));
  EXPECT_EQ(mode(key), 0600u);

  fs::permissions(key, fs::perms(0644));
  auto exposed = CertificateAuthority::load(key, cert);
  ASSERT_FALSE(exposed);
  EXPECT_EQ(exposed.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(CertificateAuthority::load(dir_ / "missing.key", cert).error().code, ErrorCode::kNotFound);
}

TEST_F(PkiFilesTest, OnlyAMatchingCaKeyAndCertificateLoad) {
  IssuedCertificate leaf = client("alice");
  auto not_ca = CertificateAuthority::from_pem(leaf.key_pem, leaf.cert_pem);
  ASSERT_FALSE(not_ca);
  EXPECT_NE(not_ca.error().message.find("not a CA"), std::string::npos);
  auto other = CertificateAuthority::create({});
  ASSERT_TRUE(other);
  fs::create_directories(dir_);
  ASSERT_TRUE(other->save(dir_ / "k", dir_ / "c"));
  EXPECT_FALSE(CertificateAuthority::from_pem(slurp(dir_ / "k"), ca().certificate_pem()));
  EXPECT_FALSE(CertificateAuthority::from_pem("garbage", ca().certificate_pem()));
}

TEST_F(PkiFilesTest, ClientBundleHasTheDockerLayoutAndPrivateKeys) {
  IssuedCertificate issued = client("robot$acme+ci");
  ClientBundle bundle{"registry.example:5000", "robot$acme+ci", issued.key_pem, issued.cert_pem,
                      ca().certificate_pem()};
  auto files = write_client_bundle(dir_, bundle);
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_EQ(files->size(), 7u);
  fs::path certs_d = dir_ / "certs.d" / "registry.example:5000";
  for (const fs::path& d : {dir_, dir_ / "certs.d", certs_d}) EXPECT_EQ(mode(d), 0700u) << d;
  for (const fs::path& base : {dir_, certs_d}) {
    EXPECT_EQ(mode(base / "client.key"), 0600u);
    EXPECT_EQ(mode(base / "client.cert"), 0644u);
    EXPECT_EQ(slurp(base / "client.key"), issued.key_pem);
    EXPECT_EQ(slurp(base / "client.cert"), issued.cert_pem);
    EXPECT_EQ(slurp(base / "ca.crt"), ca().certificate_pem());
  }
  std::string env = slurp(dir_ / "env.sh");
  EXPECT_NE(env.find("export CUSTODY_REGISTRY='registry.example:5000'"), std::string::npos);
  EXPECT_NE(env.find("SSL_CERT_FILE"), std::string::npos);
  EXPECT_NE(env.find("skopeo inspect --cert-dir \"$CUSTODY_CERT_DIR\""), std::string::npos);
  EXPECT_NE(env.find(fs::absolute(dir_).string()), std::string::npos);

  // Nothing is overwritten, not even partly, unless asked.
  fs::remove(dir_ / "env.sh");
  auto again = write_client_bundle(dir_, bundle);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(fs::exists(dir_ / "env.sh"));
  IssuedCertificate renewed = client("robot$acme+ci");
  bundle.key_pem = renewed.key_pem;
  bundle.cert_pem = renewed.cert_pem;
  ASSERT_TRUE(write_client_bundle(dir_, bundle, /*overwrite=*/true));
  EXPECT_EQ(slurp(certs_d / "client.cert"), renewed.cert_pem);
  EXPECT_EQ(mode(certs_d / "client.key"), 0600u);
}

TEST_F(PkiFilesTest, ClientBundleRefusesBadInput) {
  IssuedCertificate issued = client("alice");
  IssuedCertificate other = client("bob");
  for (std::string registry : {"", "../etc", "host/evil", "a b:5000", "x'y", ".hidden"}) {
    EXPECT_FALSE(write_client_bundle(dir_, {registry, "alice", issued.key_pem, issued.cert_pem,
                                            ca().certificate_pem()}))
        << registry;
  }
  EXPECT_FALSE(write_client_bundle(dir_, {"r:1", "alice", other.key_pem, issued.cert_pem, ca().certificate_pem()}));
  EXPECT_FALSE(write_client_bundle(dir_, {"r:1", "alice", issued.key_pem, issued.cert_pem, "not a cert"}));
  EXPECT_FALSE(fs::exists(dir_));
}

TEST(PkiBundle, EnvScriptQuotesTheDirectoryAndNeutralisesNewlines) {
  std::string env = bundle_env_script("/tmp/it's here", {"[::1]:5000", "alice\nrm -rf /", "", "", ""});
  EXPECT_NE(env.find("CUSTODY_BUNDLE='/tmp/it'\\''s here'"), std::string::npos);
  EXPECT_EQ(env.find("\nrm -rf"), std::string::npos);
}

}  // namespace
}  // namespace custody::pki
