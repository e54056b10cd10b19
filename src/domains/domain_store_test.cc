#include "domains/domain_store.h"

#include "domains/sender_policy.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace rebound::domains {
namespace {

class DomainStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rebound-domains-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(DomainStore::Open(dir_, &store_).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  std::unique_ptr<DomainStore> store_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// The PEM loads as the key type its algorithm names.
int KeyTypeOf(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!k) return -1;
  int id = EVP_PKEY_get_base_id(k);
  EVP_PKEY_free(k);
  return id;
}

TEST_F(DomainStoreTest, AddMakesTwoActiveKeysInPrivateFiles) {
  SendingDomain d;
  ASSERT_TRUE(store_->Add("Example.COM.", "alice", "", &d).ok());
  EXPECT_EQ(d.name, "example.com");
  EXPECT_EQ(d.account, "alice");
  EXPECT_EQ(d.return_path_domain, "bounce.example.com");
  EXPECT_EQ(d.ownership_token.size(), 32u);
  EXPECT_FALSE(d.verified);
  ASSERT_EQ(d.keys.size(), 2u);
  for (const auto& k : d.keys) {
    EXPECT_EQ(k.state, KeyState::kActive);
    EXPECT_EQ(ModeOf(k.key_path), 0600u) << k.key_path;
    EXPECT_NE(k.key_path.find(dir_ + "/dkim/example.com/" + k.selector), std::string::npos);
    EXPECT_EQ(k.RecordName(), k.selector + "._domainkey.example.com");
  }
  EXPECT_EQ(ModeOf(dir_ + "/dkim"), 0700u);
  EXPECT_EQ(ModeOf(dir_ + "/dkim/example.com"), 0700u);
  EXPECT_EQ(d.keys[0].algorithm, "rsa-sha256");
  EXPECT_EQ(d.keys[1].algorithm, "ed25519-sha256");
  EXPECT_EQ(d.keys[1].RecordValue().rfind("v=DKIM1; k=ed25519; p=", 0), 0u);
  EXPECT_EQ(d.keys[1].public_key_b64.size(), 44u);  // 32 bytes
  EXPECT_GT(d.keys[0].public_key_b64.size(), 350u);  // SPKI of RSA-2048

  std::vector<SigningKey> keys;
  ASSERT_TRUE(store_->SigningKeysFor("example.com", &keys).ok());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(KeyTypeOf(keys[0].private_key_pem), EVP_PKEY_RSA);
  EXPECT_EQ(KeyTypeOf(keys[1].private_key_pem), EVP_PKEY_ED25519);
  EXPECT_NE(keys[0].private_key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);  // PKCS#8

  // A subdomain signs with its registered parent's keys; unrelated domains get none.
  ASSERT_TRUE(store_->SigningKeysFor("news.example.com", &keys).ok());
  EXPECT_EQ(keys[0].domain, "example.com");
  EXPECT_EQ(store_->SigningKeysFor("example.net", &keys).code(), Status::Code::kNotFound);
}

TEST_F(DomainStoreTest, RejectsBadNamesDuplicatesAndForeignReturnPaths) {
  SendingDomain d;
  EXPECT_EQ(store_->Add("localhost", "a", "", &d).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->Add("bad_name.com", "a", "", &d).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->Add("example.com", "", "", &d).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->Add("example.com", "a", "bounce.other.net", &d).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(store_->Add("example.com", "a", "rp.example.com", &d).ok());
  EXPECT_EQ(d.return_path_domain, "rp.example.com");
  EXPECT_EQ(store_->Add("example.com", "b", "", &d).code(), Status::Code::kInvalidArgument);
}

TEST_F(DomainStoreTest, VerifiedOnlyForItsAccountAndOnlyOnceVerified) {
  SendingDomain d;
  ASSERT_TRUE(store_->Add("example.com", "alice", "", &d).ok());
  EXPECT_EQ(store_->VerifiedDomainFor("alice", "example.com", &d).code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->SetVerified("example.com", 1000).ok());
  ASSERT_TRUE(store_->SetVerified("example.com", 2000).ok());  // the first time stays
  ASSERT_TRUE(store_->VerifiedDomainFor("alice", "mail.example.com", &d).ok());
  EXPECT_EQ(d.verified_at, 1000);
  EXPECT_EQ(store_->VerifiedDomainFor("bob", "example.com", &d).code(), Status::Code::kNotFound);
  int64_t n = 0;
  ASSERT_TRUE(store_->CountForAccount("alice", &n).ok());
  EXPECT_EQ(n, 1);
  ASSERT_TRUE(store_->CountForAccount("bob", &n).ok());
  EXPECT_EQ(n, 0);
}

TEST_F(DomainStoreTest, RotationLifecycle) {
  SendingDomain d;
  ASSERT_TRUE(store_->Add("example.com", "alice", "", &d).ok());
  const std::string first = d.keys[0].generation;
  std::string gen;
  ASSERT_TRUE(store_->Rotate("example.com", &gen).ok());
  EXPECT_NE(gen, first);
  EXPECT_FALSE(store_->Rotate("example.com", &gen).ok());  // one pending at a time

  // Pending keys do not sign yet.
  std::vector<SigningKey> keys;
  ASSERT_TRUE(store_->SigningKeysFor("example.com", &keys).ok());
  for (const auto& k : keys) EXPECT_EQ(k.selector.rfind(first, 0), 0u);

  ASSERT_TRUE(store_->ActivateGeneration("example.com", gen, 5000, 600).ok());
  ASSERT_TRUE(store_->SigningKeysFor("example.com", &keys).ok());
  ASSERT_EQ(keys.size(), 2u);
  for (const auto& k : keys) EXPECT_EQ(k.selector.rfind(gen, 0), 0u) << k.selector;
  ASSERT_TRUE(store_->Get("example.com", &d).ok());
  ASSERT_EQ(d.keys.size(), 4u);
  for (const auto& k : d.keys) {
    if (k.generation == first) {
      EXPECT_EQ(k.state, KeyState::kRetiring);
      EXPECT_EQ(k.retire_after, 5600);
    } else {
      EXPECT_EQ(k.state, KeyState::kActive);
      EXPECT_EQ(k.published, 5000);
    }
  }
  ASSERT_TRUE(store_->RetireExpired(5599).ok());
  ASSERT_TRUE(store_->Get("example.com", &d).ok());
  EXPECT_EQ(d.keys[0].state, KeyState::kRetiring);
  ASSERT_TRUE(store_->RetireExpired(5600).ok());
  ASSERT_TRUE(store_->Get("example.com", &d).ok());
  for (const auto& k : d.keys) EXPECT_EQ(k.state, k.generation == first ? KeyState::kRetired : KeyState::kActive);
}

TEST_F(DomainStoreTest, RemoveDeletesRowsAndKeyFiles) {
  SendingDomain d;
  ASSERT_TRUE(store_->Add("example.com", "alice", "", &d).ok());
  ASSERT_TRUE(store_->Remove("example.com").ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/dkim/example.com"));
  EXPECT_EQ(store_->Get("example.com", &d).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->Remove("example.com").code(), Status::Code::kNotFound);
}

TEST_F(DomainStoreTest, RecordResultReportsABreakOnlyAfterAPass) {
  SendingDomain d;
  ASSERT_TRUE(store_->Add("example.com", "alice", "", &d).ok());
  bool broke = true;
  ASSERT_TRUE(store_->RecordResult("example.com", "spf", false, "missing", 1, &broke).ok());
  EXPECT_FALSE(broke);  // never passed: nothing broke
  ASSERT_TRUE(store_->RecordResult("example.com", "spf", true, "", 2, &broke).ok());
  EXPECT_FALSE(broke);
  ASSERT_TRUE(store_->RecordResult("example.com", "spf", false, "gone", 3, &broke).ok());
  EXPECT_TRUE(broke);
  ASSERT_TRUE(store_->AddEvent("example.com", "record_broken", "spf", "gone", 3).ok());
  std::vector<DomainStore::Event> events;
  ASSERT_TRUE(store_->ListEvents("example.com", &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].record, "spf");
}

TEST_F(DomainStoreTest, SenderPolicyEnforcesOnlyWhereItCannotBreakAnExistingSetup) {
  SendingDomain d;
  ASSERT_TRUE(store_->Add("example.com", "alice", "", &d).ok());
  std::unique_ptr<DomainStore> a, b;
  ASSERT_TRUE(DomainStore::Open(dir_, &a).ok());
  ASSERT_TRUE(DomainStore::Open(dir_, &b).ok());
  VerifiedDomainPolicy lenient(std::move(a), false, std::chrono::seconds(0));
  VerifiedDomainPolicy strict(std::move(b), true, std::chrono::seconds(0));
  bool ok = true;
  ASSERT_TRUE(lenient.Allows("bob", "legacy.example", &ok).ok());
  EXPECT_TRUE(ok);  // bob registered nothing
  ASSERT_TRUE(strict.Allows("bob", "legacy.example", &ok).ok());
  EXPECT_FALSE(ok);
  ASSERT_TRUE(lenient.Allows("alice", "example.com", &ok).ok());
  EXPECT_FALSE(ok);  // registered, not verified
  ASSERT_TRUE(store_->SetVerified("example.com", 10).ok());
  ASSERT_TRUE(lenient.Allows("alice", "news.example.com", &ok).ok());
  EXPECT_TRUE(ok);
  ASSERT_TRUE(lenient.Allows("alice", "example.net", &ok).ok());
  EXPECT_FALSE(ok);
  ASSERT_TRUE(strict.Allows("bob", "example.com", &ok).ok());
  EXPECT_FALSE(ok);  // alice's domain, not bob's
}

TEST_F(DomainStoreTest, SenderPolicyCachesForItsTtl) {
  SendingDomain d;
  ASSERT_TRUE(store_->Add("example.com", "alice", "", &d).ok());
  std::unique_ptr<DomainStore> a;
  ASSERT_TRUE(DomainStore::Open(dir_, &a).ok());
  VerifiedDomainPolicy policy(std::move(a), false, std::chrono::seconds(3600));
  bool ok = true;
  ASSERT_TRUE(policy.Allows("alice", "example.com", &ok).ok());
  EXPECT_FALSE(ok);
  ASSERT_TRUE(store_->SetVerified("example.com", 10).ok());
  ASSERT_TRUE(policy.Allows("alice", "example.com", &ok).ok());
  EXPECT_FALSE(ok);  // the cached answer
}

TEST(OrganizationalDomainTest, UsesThePublicSuffixList) {
  EXPECT_EQ(OrganizationalDomain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(OrganizationalDomain("mail.example.com"), "example.com");
  EXPECT_EQ(OrganizationalDomain("example.com"), "example.com");
}

}  // namespace
}  // namespace rebound::domains
