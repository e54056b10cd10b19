// Tokens, the headers on the way out, and GET/POST over a real SQLite store.
#include "unsubscribe/unsubscribe.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

namespace rebound::unsubscribe {
namespace {

const std::string kKey(32, 'k');

relay::MessageInfo OneRecipient(const std::string& to) {
  relay::MessageInfo info;
  info.id = 42;
  info.account = "alice";
  info.mail_from = "bounces@example.com";
  relay::RecipientRow r;
  r.address = to;
  info.recipients.push_back(r);
  return info;
}

TEST(Token, RoundTripsAndRefusesForgeries) {
  std::string token;
  ASSERT_TRUE(SignToken(kKey, {7, "alice", "Bob@Example.NET", "news"}, &token).ok());
  EXPECT_EQ(token.find_first_of("+/= "), std::string::npos) << token;
  Claim c;
  ASSERT_EQ(VerifyToken(kKey, token, &c), TokenCheck::kValid);
  EXPECT_EQ(c.message_id, 7);
  EXPECT_EQ(c.account, "alice");
  EXPECT_EQ(c.recipient, "bob@example.net");
  EXPECT_EQ(c.tag, "news");

  // Another key, a changed payload (another recipient, same MAC), garbage.
  EXPECT_EQ(VerifyToken(std::string(32, 'x'), token, &c), TokenCheck::kForged);
  std::string other;
  ASSERT_TRUE(SignToken(kKey, {7, "alice", "eve@example.net", "news"}, &other).ok());
  const std::string spliced = other.substr(0, other.find('.')) + token.substr(token.find('.'));
  EXPECT_EQ(VerifyToken(kKey, spliced, &c), TokenCheck::kForged);
  EXPECT_EQ(VerifyToken(kKey, "nodot", &c), TokenCheck::kMalformed);
  EXPECT_EQ(VerifyToken(kKey, "!!!.???", &c), TokenCheck::kMalformed);
  EXPECT_EQ(VerifyToken(kKey, "", &c), TokenCheck::kMalformed);
  EXPECT_FALSE(SignToken(kKey, {7, "alice", "a@b\r\nBcc: x@y", ""}, &other).ok());
  EXPECT_FALSE(SignToken(kKey, {7, "alice", std::string(400, 'a') + "@b", ""}, &other).ok());
}

TEST(Token, KeyIsMadeOnceWithMode0600) {
  char tmpl[] = "/tmp/rebound-unsub-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string k1, k2;
  ASSERT_TRUE(LoadOrCreateKey(dir + "/unsubscribe.key", &k1).ok());
  ASSERT_TRUE(LoadOrCreateKey(dir + "/unsubscribe.key", &k2).ok());
  EXPECT_EQ(k1.size(), 32u);
  EXPECT_EQ(k1, k2);
  struct stat st;
  ASSERT_EQ(stat((dir + "/unsubscribe.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

TEST(Headers, BulkGetsBothLinksAndLosesItsMarkers) {
  HeaderOptions o;
  o.base_url = "https://mail.example.com/";
  o.mailto = "unsubscribe@example.com";
  std::string body =
      "From: a@example.com\r\nX-Rebound-Bulk: yes\r\nX-Rebound-Tag: weekly\r\nSubject: hi\r\n\r\nX-Rebound-Bulk: "
      "in the body stays\r\n";
  ASSERT_TRUE(ApplyHeaders(o, kKey, OneRecipient("bob@example.net"), &body).ok());
  EXPECT_EQ(body.find("X-Rebound-Tag"), std::string::npos);
  EXPECT_EQ(body.find("X-Rebound-Bulk: yes"), std::string::npos);
  EXPECT_NE(body.find("\r\n\r\nX-Rebound-Bulk: in the body stays\r\n"), std::string::npos);
  const size_t https = body.find("List-Unsubscribe: <https://mail.example.com/u/");
  ASSERT_NE(https, std::string::npos) << body;
  EXPECT_NE(body.find(">,\r\n <mailto:unsubscribe@example.com?subject=unsubscribe%20"), std::string::npos);
  EXPECT_NE(body.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n"), std::string::npos);
  // The link's token names the recipient and the tag.
  const size_t start = https + std::string("List-Unsubscribe: <https://mail.example.com/u/").size();
  const std::string token = body.substr(start, body.find('>', start) - start);
  Claim c;
  ASSERT_EQ(VerifyToken(kKey, token, &c), TokenCheck::kValid);
  EXPECT_EQ(c.recipient, "bob@example.net");
  EXPECT_EQ(c.tag, "weekly");
  EXPECT_EQ(c.message_id, 42);
}

TEST(Headers, NotBulkOrManyRecipientsOrTheSendersOwnGetNone) {
  HeaderOptions o;
  o.base_url = "https://mail.example.com";
  const std::string plain = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
  std::string body = plain;
  ASSERT_TRUE(ApplyHeaders(o, kKey, OneRecipient("bob@example.net"), &body).ok());
  EXPECT_EQ(body, plain);  // untouched byte for byte

  body = "From: a@example.com\r\nX-Rebound-Bulk: no\r\n\r\nbody\r\n";
  ASSERT_TRUE(ApplyHeaders(o, kKey, OneRecipient("bob@example.net"), &body).ok());
  EXPECT_EQ(body, "From: a@example.com\r\n\r\nbody\r\n");

  relay::MessageInfo two = OneRecipient("bob@example.net");
  two.recipients.push_back(two.recipients[0]);
  two.recipients[1].address = "carol@example.net";
  body = "From: a@example.com\r\nX-Rebound-Bulk: yes\r\n\r\nbody\r\n";
  ASSERT_TRUE(ApplyHeaders(o, kKey, two, &body).ok());
  EXPECT_EQ(body, "From: a@example.com\r\n\r\nbody\r\n");

  body = "List-Unsubscribe: <https://list.example/x>\r\nX-Rebound-Bulk:\r\n yes\r\n\r\nbody\r\n";
  ASSERT_TRUE(ApplyHeaders(o, kKey, OneRecipient("bob@example.net"), &body).ok());
  EXPECT_EQ(body, "List-Unsubscribe: <https://list.example/x>\r\n\r\nbody\r\n");
}

TEST(Headers, WithoutABaseUrlOnlyTheMailtoAndNoOneClick) {
  HeaderOptions o;  // mailto falls back to the envelope sender
  std::string body = "Subject: hi\r\nX-Rebound-Bulk: yes\r\n\r\nbody\r\n";
  ASSERT_TRUE(ApplyHeaders(o, kKey, OneRecipient("bob@example.net"), &body).ok());
  EXPECT_NE(body.find("List-Unsubscribe: <mailto:bounces@example.com?subject=unsubscribe%20"), std::string::npos);
  EXPECT_EQ(body.find("List-Unsubscribe-Post"), std::string::npos);
}

class WebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rebound-unsub-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_TRUE(relay::OpenSqliteStore(dir_ + "/queue.db", {}, &store_).ok());
    relay::NewMessage m;
    m.account = "alice";
    m.mail_from = "news@example.com";
    m.recipients = {"Bob@example.net"};
    m.body = "Subject: x\r\n\r\nhi\r\n";
    ASSERT_TRUE(store_->Enqueue(m, &message_id_).ok());
    ASSERT_TRUE(Unsubscriber::Create(store_.get(), dir_ + "/queue.db", kKey, [] { return int64_t{1'800'000'000}; },
                                     &web_)
                    .ok());
    ASSERT_TRUE(SignToken(kKey, {message_id_, "alice", "bob@example.net", "weekly"}, &token_).ok());
  }
  void TearDown() override {
    web_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  bool Suppressed(const std::string& account, const std::string& address, relay::Suppression* found = nullptr) {
    bool s = false;
    EXPECT_TRUE(store_->IsSuppressed(account, address, &s, found).ok());
    return s;
  }
  std::vector<relay::Event> Unsubscribes() {
    std::vector<relay::Event> all, out;
    EXPECT_TRUE(store_->ListEvents({}, &all).ok());
    for (auto& e : all)
      if (e.decision == "unsubscribed") out.push_back(e);
    return out;
  }
  size_t EventCount() { return Unsubscribes().size(); }
  int64_t message_id_ = 0;
  std::string dir_, token_;
  std::unique_ptr<relay::Store> store_;
  std::unique_ptr<Unsubscriber> web_;
};

TEST_F(WebTest, GetShowsAFormAndChangesNothing) {
  Response r = web_->Get(token_);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<form method=\"post\">"), std::string::npos);
  EXPECT_NE(r.body.find("name=\"List-Unsubscribe\" value=\"One-Click\""), std::string::npos);
  EXPECT_NE(r.body.find("bob@example.net"), std::string::npos);
  EXPECT_FALSE(Suppressed("alice", "bob@example.net"));
  EXPECT_EQ(EventCount(), 0u);
}

TEST_F(WebTest, PostSuppressesOnceWithAnEvent) {
  Response r = web_->Post(token_, "List-Unsubscribe=One-Click", "192.0.2.7");
  EXPECT_EQ(r.status, 200);
  relay::Suppression found;
  ASSERT_TRUE(Suppressed("alice", "bob@example.net", &found));
  EXPECT_EQ(found.source, "unsubscribe");
  EXPECT_NE(found.reply.find("weekly"), std::string::npos);
  EXPECT_FALSE(Suppressed("other", "bob@example.net"));  // that account's list only
  std::vector<relay::Event> events = Unsubscribes();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message_id, message_id_);
  EXPECT_EQ(events[0].recipient, "bob@example.net");
  EXPECT_EQ(events[0].state, "queued");  // the recipient's own state is left alone
  EXPECT_NE(events[0].reply.find("weekly"), std::string::npos);
  EXPECT_EQ(events[0].ip, "192.0.2.7");
  EXPECT_EQ(events[0].time, 1'800'000'000);
  // A second click (or a mail client's retry) is fine and adds no event.
  EXPECT_EQ(web_->Post(token_, "List-Unsubscribe=One-Click", "192.0.2.7").status, 200);
  EXPECT_EQ(EventCount(), 1u);
}

TEST_F(WebTest, MultipartOneClickBodyIsAccepted) {
  const std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
  EXPECT_EQ(web_->Post(token_, body, "").status, 200);
  EXPECT_TRUE(Suppressed("alice", "bob@example.net"));
}

TEST_F(WebTest, ForgedOrMalformedTokensAndWrongBodiesChangeNothing) {
  std::string forged;
  ASSERT_TRUE(SignToken(std::string(32, 'z'), {message_id_, "alice", "bob@example.net", ""}, &forged).ok());
  EXPECT_EQ(web_->Post(forged, "List-Unsubscribe=One-Click", "").status, 404);
  EXPECT_EQ(web_->Get(forged).status, 404);
  EXPECT_EQ(web_->Post("garbage", "List-Unsubscribe=One-Click", "").status, 400);
  EXPECT_EQ(web_->Post(token_, "", "").status, 400);
  EXPECT_EQ(web_->Post(token_, "List-Unsubscribe=Yes", "").status, 400);
  EXPECT_FALSE(Suppressed("alice", "bob@example.net"));
  EXPECT_EQ(EventCount(), 0u);
}

TEST_F(WebTest, PageEscapesWhatTheTokenCarries) {
  std::string token;
  ASSERT_TRUE(SignToken(kKey, {1, "<script>", "a@b.test", "\"x\""}, &token).ok());
  Response r = web_->Get(token);
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
  EXPECT_NE(r.body.find("&lt;script&gt;"), std::string::npos);
}

}  // namespace
}  // namespace rebound::unsubscribe
