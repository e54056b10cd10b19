// The signer's own contract: which header fields go in h=, the field's shape,
// errors that name the selector and never the key. That the signatures verify
// is checked by two independent verifiers in verify_test.py.
#include "dkim/signer.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

namespace rebound::dkim {
namespace {

std::string MakeKeyPem(int type) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(type, nullptr);
  EXPECT_TRUE(ctx != nullptr);
  EXPECT_EQ(EVP_PKEY_keygen_init(ctx), 1);
  if (type == EVP_PKEY_RSA) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
  }
  EXPECT_EQ(EVP_PKEY_keygen(ctx, &key), 1);
  EVP_PKEY_CTX_free(ctx);
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

class SignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_pem_ = new std::string(MakeKeyPem(EVP_PKEY_RSA));
    ed_pem_ = new std::string(MakeKeyPem(EVP_PKEY_ED25519));
  }
  static void TearDownTestSuite() {
    delete rsa_pem_;
    delete ed_pem_;
  }
  void SetUp() override { ASSERT_TRUE(Signer::Create(&signer_).ok()); }

  std::vector<SigningKey> Keys() const {
    return {{"example.test", "rb1-rsa", "rsa-sha256", *rsa_pem_},
            {"example.test", "rb1-ed25519", "ed25519-sha256", *ed_pem_}};
  }
  // The value of tag `tag` in the first DKIM-Signature of `fields`, unfolded.
  static std::string Tag(const std::string& fields, const std::string& tag, size_t which = 0) {
    size_t start = 0;
    for (size_t i = 0; i < which; ++i) start = fields.find("DKIM-Signature:", start) + 1;
    start = fields.find("DKIM-Signature:", start);
    size_t end = fields.find("\r\nDKIM-Signature:", start + 1);
    std::string f = fields.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string flat;
    for (char c : f)
      if (c != '\r' && c != '\n' && c != '\t' && c != ' ') flat.push_back(c);
    size_t t = flat.find(";" + tag + "=");
    if (t == std::string::npos) t = flat.find(":" + tag + "=");
    if (t == std::string::npos) return "<absent>";
    t += tag.size() + 2;
    return flat.substr(t, flat.find(';', t) - t);
  }

  static std::string* rsa_pem_;
  static std::string* ed_pem_;
  std::unique_ptr<Signer> signer_;
};
std::string* SignerTest::rsa_pem_ = nullptr;
std::string* SignerTest::ed_pem_ = nullptr;

const char kMessage[] =
    "Received: from client (127.0.0.1) by relay\r\n"
    "From: Alice <alice@example.test>\r\n"
    "To: bob@example.net\r\n"
    "Subject: a folded\r\n"
    "  subject\r\n"
    "Date: Sun, 06 Dec 2026 22:00:00 +0000\r\n"
    "Message-ID: <1@example.test>\r\n"
    "X-Mailer: test\r\n"
    "\r\n"
    "Hello.\r\n";

TEST_F(SignerTest, SignsPresentHeadersAndOnlyThemWithFromOnceMore) {
  std::string fields;
  ASSERT_TRUE(signer_->Sign(kMessage, Keys(), &fields).ok());
  // One field per key, in key order, each a CRLF-terminated header field.
  EXPECT_EQ(fields.rfind("DKIM-Signature: ", 0), 0u);
  EXPECT_NE(fields.find("\r\nDKIM-Signature: "), std::string::npos);
  EXPECT_EQ(fields.substr(fields.size() - 2), "\r\n");
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i] == '\n') {
      ASSERT_EQ(fields[i - 1], '\r') << "bare LF at " << i;
    }
  for (int which = 0; which < 2; ++which) {
    EXPECT_EQ(Tag(fields, "c", which), "relaxed/relaxed");
    EXPECT_EQ(Tag(fields, "d", which), "example.test");
    // Received and X-Mailer are not signed; From is listed once more than present.
    EXPECT_EQ(Tag(fields, "h", which), "From:To:Subject:Date:Message-ID:From") << fields;
  }
  EXPECT_EQ(Tag(fields, "a", 0), "rsa-sha256");
  EXPECT_EQ(Tag(fields, "s", 0), "rb1-rsa");
  EXPECT_EQ(Tag(fields, "a", 1), "ed25519-sha256");
  EXPECT_EQ(Tag(fields, "s", 1), "rb1-ed25519");
  // Body hash of "Hello.\r\n" (relaxed) is the same for both.
  EXPECT_EQ(Tag(fields, "bh", 0), Tag(fields, "bh", 1));
}

TEST_F(SignerTest, SignsMimeAndUnsubscribeHeadersWhenPresent) {
  std::string message =
      "From: a@example.test\r\nTo: b@example.net\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
      "List-Unsubscribe: <https://example.test/u/1>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
      "Reply-To: c@example.test\r\n\r\n\xe4\xbd\xa0\xe5\xa5\xbd\r\n";
  std::string fields;
  ASSERT_TRUE(signer_->Sign(message, {Keys()[1]}, &fields).ok());
  EXPECT_EQ(Tag(fields, "h"),
            "From:To:MIME-Version:Content-Type:Content-Transfer-Encoding:List-Unsubscribe:List-Unsubscribe-Post:From");
}

TEST_F(SignerTest, SignInPlacePutsTheFieldsOnTop) {
  std::string message = kMessage;
  ASSERT_TRUE(signer_->SignInPlace(Keys(), &message).ok());
  EXPECT_EQ(message.rfind("DKIM-Signature: ", 0), 0u);
  EXPECT_NE(message.find("\r\nReceived: from client"), std::string::npos);
  EXPECT_EQ(message.substr(message.size() - std::string(kMessage).size()), kMessage);
}

TEST_F(SignerTest, BareLfMessagesSignLikeTheirCrlfForm) {
  std::string lf;
  for (char c : std::string(kMessage))
    if (c != '\r') lf.push_back(c);
  std::string a, b;
  ASSERT_TRUE(signer_->Sign(kMessage, {Keys()[1]}, &a).ok());
  ASSERT_TRUE(signer_->Sign(lf, {Keys()[1]}, &b).ok());
  EXPECT_EQ(Tag(a, "bh"), Tag(b, "bh"));
}

TEST_F(SignerTest, RefusesAMessageWithoutFrom) {
  std::string fields = "untouched";
  Status s = signer_->Sign("To: b@example.net\r\n\r\nbody\r\n", Keys(), &fields);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(fields, "untouched");
}

TEST_F(SignerTest, BadKeysFailNamingTheSelectorNotTheKey) {
  std::string fields;
  std::vector<SigningKey> keys = {{"example.test", "broken", "rsa-sha256",
                                   "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"}};
  Status s = signer_->Sign(kMessage, keys, &fields);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("selector broken"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("c2VjcmV0"), std::string::npos) << s.message();
  EXPECT_TRUE(fields.empty());

  keys = {{"example.test", "odd", "rsa-sha1", *rsa_pem_}};
  s = signer_->Sign(kMessage, keys, &fields);
  EXPECT_NE(s.message().find("unknown DKIM algorithm 'rsa-sha1'"), std::string::npos) << s.message();

  // An Ed25519 key offered as RSA does not sign either.
  keys = {{"example.test", "mixed", "rsa-sha256", *ed_pem_}};
  EXPECT_FALSE(signer_->Sign(kMessage, keys, &fields).ok());
  EXPECT_TRUE(fields.empty());
}

TEST(FromDomainTest, FindsTheAddressDomain) {
  EXPECT_EQ(FromDomain("From: Alice <alice@Example.TEST>\r\n\r\n"), "example.test");
  EXPECT_EQ(FromDomain("Subject: x\r\nfrom:   a@b.example.com (Alice)\r\n\r\n"), "b.example.com");
  EXPECT_EQ(FromDomain("From: \"a@evil.test\" <a@good.test>\r\n\r\n"), "good.test");
  EXPECT_EQ(FromDomain("From: Alice\r\n <alice@folded.test>\r\n\r\n"), "folded.test");
  EXPECT_EQ(FromDomain("From: undisclosed\r\n\r\n"), "");
  EXPECT_EQ(FromDomain("To: a@b.test\r\n\r\nFrom: a@body.test\r\n"), "");
  EXPECT_EQ(FromDomain("From-Address: a@x.test\r\n\r\n"), "");
}

}  // namespace
}  // namespace rebound::dkim
