// Signing against the Standard Webhooks example, the secret format, and the
// outbox trigger on a real queue.db (the Store's schema, the Store's writes).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "rebound/classifier.h"
#include "store/store.h"
#include "webhooks/dispatcher.h"
#include "webhooks/payload.h"
#include "webhooks/signing.h"
#include "webhooks/webhook_store.h"

namespace rebound::webhooks {
namespace {

TEST(WebhookSigning, MatchesTheSpecificationsExample) {
  // The example of the Standard Webhooks specification (spec/standard-webhooks.md).
  std::string key;
  ASSERT_TRUE(SecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key).ok());
  EXPECT_EQ(Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSigning, NewSecretsDecodeToThirtyTwoBytes) {
  std::string a, b, key;
  ASSERT_TRUE(NewSecret(&a).ok());
  ASSERT_TRUE(NewSecret(&b).ok());
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("whsec_"));
  ASSERT_TRUE(SecretKey(a, &key).ok());
  EXPECT_EQ(key.size(), 32u);
  EXPECT_FALSE(SecretKey("whsec_short", &key).ok());
  EXPECT_FALSE(SecretKey("whsec_!!!!", &key).ok());
}

TEST(WebhookSigning, RotationSignsWithBoth) {
  std::string header = SignatureHeader({std::string(32, 'a'), std::string(32, 'b')}, "msg_1", 5, "{}");
  EXPECT_EQ(header, Sign(std::string(32, 'a'), "msg_1", 5, "{}") + " " + Sign(std::string(32, 'b'), "msg_1", 5, "{}"));
}

TEST(WebhookPayload, TheStoredHardBounceDecidesTheAction) {
  // A "user unknown" reading that was not a hard bounce was told to count
  // the failure when classified; its webhook must not say "suppress".
  std::unique_ptr<const Classifier> classifier;
  ASSERT_TRUE(BuildClassifier({}, &classifier).ok());
  const CategoryInfo& info = classifier->category_info(Category::recipient_not_found);
  PayloadBuilder payload(classifier.get());
  OutboxItem item;
  item.type = "message.bounced";
  item.decision = "bounced";
  item.category = "recipient_not_found";
  item.permanent = true;
  std::string unconfirmed, confirmed;
  payload.Append(item, &unconfirmed);
  item.hard_bounce = true;
  payload.Append(item, &confirmed);
  EXPECT_NE(unconfirmed.find(info.action_unconfirmed), std::string::npos) << unconfirmed;
  EXPECT_EQ(unconfirmed.find("\"suppress the address\""), std::string::npos) << unconfirmed;
  EXPECT_NE(confirmed.find("\"suppress the address\""), std::string::npos) << confirmed;
}

TEST(WebhookUrl, AcceptsHttpAndHttpsOnly) {
  EXPECT_TRUE(IsWebhookUrl("http://127.0.0.1:8080/hook"));
  EXPECT_TRUE(IsWebhookUrl("https://app.example.com"));
  EXPECT_TRUE(IsWebhookUrl("http://[::1]:9/x"));
  EXPECT_FALSE(IsWebhookUrl("ftp://example.com/"));
  EXPECT_FALSE(IsWebhookUrl("http://"));
  EXPECT_FALSE(IsWebhookUrl("http://user@host/"));
}

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rebound-webhooks-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "queue.db").string();
    ASSERT_TRUE(relay::OpenSqliteStore(path_, relay::StoreOptions{}, &store_).ok());
    ASSERT_TRUE(WebhookStore::Open(path_, &hooks_).ok());
  }
  void TearDown() override {
    hooks_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  int64_t Enqueue(const std::string& account, const std::string& rcpt) {
    relay::NewMessage m;
    m.account = account;
    m.mail_from = "s@example.org";
    m.recipients = {rcpt};
    m.body = "Subject: x\r\n\r\nx\r\n";
    int64_t id = 0;
    EXPECT_TRUE(store_->Enqueue(m, &id).ok());
    return id;
  }
  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<relay::Store> store_;
  std::unique_ptr<WebhookStore> hooks_;
};

TEST_F(OutboxTest, TheStoresEventsFillTheOutboxOfMatchingEndpoints) {
  Endpoint alice, all, delivered_only;
  alice.url = all.url = delivered_only.url = "http://127.0.0.1:9/";
  alice.account = "alice";
  all.account = "*";
  delivered_only.account = "*";
  delivered_only.events = "delivered,bounced";
  ASSERT_TRUE(hooks_->AddEndpoint(&alice, 100).ok());
  ASSERT_TRUE(hooks_->AddEndpoint(&all, 100).ok());
  ASSERT_TRUE(hooks_->AddEndpoint(&delivered_only, 100).ok());
  Enqueue("alice", "a@example.net");
  Enqueue("bob", "b@example.net");

  std::vector<OutboxItem> items;
  ASSERT_TRUE(hooks_->Claim(time(nullptr) + 10, 60, 100, {}, &items).ok());
  // alice's accepted goes to alice's and the catch-all; bob's only to the catch-all.
  ASSERT_EQ(items.size(), 3u);
  for (const auto& it : items) {
    EXPECT_EQ(it.type, "accepted");
    EXPECT_NE(it.endpoint_id, delivered_only.id);
  }
  // Leased: a second claim gets nothing until the lease ends.
  std::vector<OutboxItem> again;
  ASSERT_TRUE(hooks_->Claim(time(nullptr) + 10, 60, 100, {}, &again).ok());
  EXPECT_TRUE(again.empty());
  ASSERT_TRUE(hooks_->Claim(time(nullptr) + 80, 60, 100, {}, &again).ok());
  EXPECT_EQ(again.size(), 3u);
}

TEST_F(OutboxTest, RecordMarksSentRetriesAndDisablesAFailingEndpoint) {
  Endpoint ep;
  ep.url = "http://127.0.0.1:9/";
  ep.account = "alice";
  ASSERT_TRUE(hooks_->AddEndpoint(&ep, 100).ok());
  Enqueue("alice", "a@example.net");
  Enqueue("alice", "b@example.net");
  const int64_t now = time(nullptr) + 1;
  std::vector<OutboxItem> items;
  ASSERT_TRUE(hooks_->Claim(now, 60, 100, {}, &items).ok());
  ASSERT_EQ(items.size(), 2u);
  std::vector<DeliveryResult> results(2);
  results[0] = {{items[0].id}, ep.id, true, "", 0, false};
  results[1] = {{items[1].id}, ep.id, false, "HTTP 500", now + 30, false};
  std::vector<int64_t> disabled;
  ASSERT_TRUE(hooks_->Record(results, now, 0, 2, &disabled).ok());
  EXPECT_TRUE(disabled.empty());  // one failure since the success
  int64_t pending = 0;
  ASSERT_TRUE(hooks_->Backlog(&pending).ok());
  EXPECT_EQ(pending, 1);
  ASSERT_TRUE(hooks_->Claim(now + 10, 60, 100, {}, &items).ok());
  EXPECT_TRUE(items.empty());  // not due before its retry time
  ASSERT_TRUE(hooks_->Claim(now + 30, 60, 100, {}, &items).ok());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].attempts, 1);
  results = {{{items[0].id}, ep.id, false, "HTTP 500", now + 90, false}};
  ASSERT_TRUE(hooks_->Record(results, now + 30, 0, 2, &disabled).ok());
  ASSERT_EQ(disabled.size(), 1u);
  Endpoint got;
  ASSERT_TRUE(hooks_->GetEndpoint(ep.id, &got).ok());
  EXPECT_FALSE(got.enabled);
  EXPECT_NE(got.disabled_reason.find("HTTP 500"), std::string::npos);
  // A disabled endpoint's rows wait; enabling it sends them again.
  ASSERT_TRUE(hooks_->Claim(now + 100, 60, 100, {}, &items).ok());
  EXPECT_TRUE(items.empty());
  ASSERT_TRUE(hooks_->SetEnabled(ep.id, true, "", now + 100).ok());
  ASSERT_TRUE(hooks_->Claim(now + 100, 60, 100, {}, &items).ok());
  EXPECT_EQ(items.size(), 1u);
}

TEST_F(OutboxTest, RotationKeepsTheOldSecretUntilItExpires) {
  Endpoint ep;
  ep.url = "http://127.0.0.1:9/";
  ASSERT_TRUE(hooks_->AddEndpoint(&ep, 100).ok());
  std::string fresh;
  ASSERT_TRUE(hooks_->RotateSecret(ep.id, 200, 3600, &fresh).ok());
  Endpoint got;
  ASSERT_TRUE(hooks_->GetEndpoint(ep.id, &got).ok());
  EXPECT_EQ(got.secret, fresh);
  EXPECT_EQ(got.old_secret, ep.secret);
  EXPECT_EQ(got.old_secret_expires_at, 3800);
  EXPECT_EQ(hooks_->RotateSecret(ep.id + 7, 200, 3600, &fresh).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace rebound::webhooks
