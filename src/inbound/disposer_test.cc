// What a message on the return path does to the queue, on a real SQLite
// store: a failed DSN bounces a delivered recipient and suppresses a hard
// bounce; a delay and an auto-reply are events only; an ARF report is a
// complaint suppression; junk is kept on disk and changes nothing.
#include "inbound/disposer.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rebound::inbound {
namespace {

using relay::RecipientState;

std::string Dsn(const std::string& rcpt, const std::string& action, const std::string& status, const std::string& diag) {
  return "From: MAILER-DAEMON@mx.example.net\r\nTo: someone@bounce.example.com\r\n"
         "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
         "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
         "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
         "Final-Recipient: rfc822; " + rcpt + "\r\nAction: " + action + "\r\nStatus: " + status +
         "\r\nRemote-MTA: dns; mx.example.net\r\nDiagnostic-Code: smtp; " + diag + "\r\n"
         "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: me@example.com\r\nTo: " + rcpt +
         "\r\nSubject: hello\r\n--B--\r\n";
}

std::string Arf(const std::string& rcpt) {
  return "From: fbl@isp.example\r\nTo: someone@bounce.example.com\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/report; report-type=feedback-report; boundary=\"x\"\r\n\r\n"
         "--x\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n"
         "--x\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: X/1\r\nVersion: 1\r\n"
         "Original-Rcpt-To: " + rcpt + "\r\n"
         "--x\r\nContent-Type: message/rfc822\r\n\r\nFrom: me@example.com\r\nTo: " + rcpt +
         "\r\nSubject: buy\r\n\r\nx\r\n--x--\r\n";
}

class DisposerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::unique_ptr<const Classifier> c;
    ASSERT_TRUE(BuildClassifier({}, &c).ok());
    classifier_ = std::move(c);
  }
  void SetUp() override {
    char tmpl[] = "/tmp/rebound-disp-XXXXXX";
    dir_ = mkdtemp(tmpl);
    relay::StoreOptions o;
    o.synchronous_full = false;
    o.clock = [] { return int64_t{1700000000}; };
    ASSERT_TRUE(relay::OpenSqliteStore(dir_ + "/queue.db", o, &store_).ok());
    relay::NewMessage m;
    m.account = "alice";
    m.mail_from = "me@example.com";
    m.recipients = {"bob@example.net", "carol@example.net"};
    m.body = "Subject: hello\r\n\r\nhi\r\n";
    ASSERT_TRUE(store_->Enqueue(m, &message_id_).ok());
    relay::MessageInfo info;
    ASSERT_TRUE(store_->GetMessageInfo(message_id_, &info).ok());
    for (const auto& r : info.recipients) {
      relay::AttemptRecord a;
      a.recipient_id = r.id;
      a.new_state = RecipientState::kDelivered;
      a.reply = "250 2.0.0 ok";
      a.decision = "delivered";
      ASSERT_TRUE(store_->RecordAttempt(a).ok());
      ids_.push_back(r.id);
    }
    DisposerOptions d;
    d.data_dir = dir_;
    d.clock = [] { return int64_t{1700000100}; };
    disposer_ = std::make_unique<BounceDisposer>(store_.get(), classifier_, d);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  InboundMail Mail(std::string body, size_t recipient = 0) {
    InboundMail m;
    m.body = std::move(body);
    m.client_ip = "192.0.2.7";
    m.helo = "mx.example.net";
    m.targets.push_back({message_id_, ids_[recipient], "bounce.example.com"});
    return m;
  }
  RecipientState State(size_t recipient) {
    relay::MessageInfo info;
    EXPECT_TRUE(store_->GetMessageInfo(message_id_, &info).ok());
    for (const auto& r : info.recipients)
      if (r.id == ids_[recipient]) return r.state;
    return RecipientState::kQueued;
  }
  std::vector<relay::Event> Events() {
    std::vector<relay::Event> e;
    relay::EventFilter f;
    f.message_id = message_id_;
    EXPECT_TRUE(store_->ListEvents(f, &e).ok());
    return e;
  }
  bool Suppressed(const std::string& address, relay::Suppression* found) {
    bool s = false;
    EXPECT_TRUE(store_->IsSuppressed("alice", address, &s, found).ok());
    return s;
  }

  static inline std::shared_ptr<const Classifier> classifier_;
  std::string dir_;
  std::unique_ptr<relay::Store> store_;
  std::unique_ptr<BounceDisposer> disposer_;
  int64_t message_id_ = 0;
  std::vector<int64_t> ids_;
};

TEST_F(DisposerTest, FailedDsnBouncesDeliveredRecipientAndSuppresses) {
  std::vector<Disposal> out;
  ASSERT_TRUE(disposer_->Dispose(Mail(Dsn("bob@example.net", "failed", "5.1.1",
                                          "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown")),
                                 &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].decision, "bounced");
  EXPECT_EQ(out[0].recipient, "bob@example.net");
  EXPECT_EQ(out[0].message_id, message_id_);
  EXPECT_EQ(out[0].suppression, "bounce");
  EXPECT_EQ(State(0), RecipientState::kBounced);
  EXPECT_EQ(State(1), RecipientState::kDelivered);
  relay::Suppression s;
  ASSERT_TRUE(Suppressed("bob@example.net", &s));
  EXPECT_EQ(s.source, "bounce");
  EXPECT_NE(s.reply.find("User unknown"), std::string::npos);
  const auto events = Events();
  ASSERT_FALSE(events.empty());
  const relay::Event& e = events.back();
  EXPECT_EQ(e.decision, "bounced");
  EXPECT_EQ(e.recipient, "bob@example.net");
  EXPECT_EQ(e.state, "bounced");
  EXPECT_EQ(e.category, "recipient_not_found");
  EXPECT_EQ(e.ip, "192.0.2.7");
  EXPECT_EQ(e.mx, "mx.example.net");
  EXPECT_TRUE(e.hard_bounce);

  // The same bounce again (a replay, a second report): noted, state kept.
  ASSERT_TRUE(disposer_->Dispose(Mail(Dsn("bob@example.net", "failed", "5.1.1", "550 5.1.1 User unknown")), &out).ok());
  EXPECT_EQ(out[0].decision, "bounce_noted");
  EXPECT_EQ(State(0), RecipientState::kBounced);
}

TEST_F(DisposerTest, PolicyBounceIsNotSuppressed) {
  std::vector<Disposal> out;
  ASSERT_TRUE(disposer_->Dispose(Mail(Dsn("carol@example.net", "failed", "5.7.1",
                                          "550 5.7.1 Message rejected as spam by Content Filtering"), 1),
                                 &out).ok());
  EXPECT_EQ(out[0].decision, "bounced");
  EXPECT_EQ(out[0].suppression, "");
  EXPECT_EQ(State(1), RecipientState::kBounced);
  relay::Suppression s;
  EXPECT_FALSE(Suppressed("carol@example.net", &s));
}

TEST_F(DisposerTest, DelayIsAnEventOnly) {
  const size_t before = Events().size();
  std::vector<Disposal> out;
  ASSERT_TRUE(disposer_->Dispose(Mail(Dsn("bob@example.net", "delayed", "4.4.1",
                                          "451 4.4.1 Connection timed out, will keep trying")),
                                 &out).ok());
  EXPECT_EQ(out[0].decision, "delayed");
  EXPECT_EQ(State(0), RecipientState::kDelivered);
  relay::Suppression s;
  EXPECT_FALSE(Suppressed("bob@example.net", &s));
  const auto events = Events();
  ASSERT_EQ(events.size(), before + 1);
  EXPECT_EQ(events.back().decision, "delayed");
  EXPECT_EQ(events.back().state, "delivered");
}

TEST_F(DisposerTest, ArfIsAComplaintSuppression) {
  std::vector<Disposal> out;
  ASSERT_TRUE(disposer_->Dispose(Mail(Arf("carol@example.net"), 1), &out).ok());
  EXPECT_EQ(out[0].decision, "complaint");
  EXPECT_EQ(out[0].suppression, "complaint");
  EXPECT_EQ(State(1), RecipientState::kDelivered);
  relay::Suppression s;
  ASSERT_TRUE(Suppressed("carol@example.net", &s));
  EXPECT_EQ(s.source, "complaint");
  EXPECT_EQ(Events().back().category, "complaint");
}

TEST_F(DisposerTest, AutoReplyIsAnEventOnly) {
  std::vector<Disposal> out;
  ASSERT_TRUE(disposer_->Dispose(Mail("From: Bob <bob@example.net>\r\nTo: x@bounce.example.com\r\n"
                                      "Subject: Out of Office\r\nAuto-Submitted: auto-replied\r\n\r\n"
                                      "I am away until Monday.\r\n"),
                                 &out).ok());
  EXPECT_EQ(out[0].decision, "auto_reply");
  EXPECT_EQ(State(0), RecipientState::kDelivered);
  relay::Suppression s;
  EXPECT_FALSE(Suppressed("bob@example.net", &s));
  EXPECT_EQ(Events().back().decision, "auto_reply");
}

TEST_F(DisposerTest, JunkIsKeptAndChangesNothing) {
  const size_t before = Events().size();
  std::vector<Disposal> out;
  ASSERT_TRUE(disposer_->Dispose(Mail("From: friend@example.net\r\nSubject: lunch?\r\n\r\nSee you at noon.\r\n"), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].decision, "unreadable");
  std::ifstream kept(out[0].reply);
  ASSERT_TRUE(kept.good()) << out[0].reply;
  std::stringstream text;
  text << kept.rdbuf();
  EXPECT_NE(text.str().find("See you at noon."), std::string::npos);
  EXPECT_NE(text.str().find("X-Rebound-Inbound-For: message " + std::to_string(message_id_)), std::string::npos);
  EXPECT_EQ(Events().size(), before);
  EXPECT_EQ(State(0), RecipientState::kDelivered);
  // Not an email at all.
  ASSERT_TRUE(disposer_->Dispose(Mail(std::string("\x01\x02\x03\x00\xff", 5)), &out).ok());
  EXPECT_EQ(out[0].decision, "unreadable");
  EXPECT_EQ(Events().size(), before);
}

TEST_F(DisposerTest, BounceFasterThanTheDeliveryRecordWaits) {
  relay::NewMessage m;
  m.account = "alice";
  m.mail_from = "me@example.com";
  m.recipients = {"fast@example.net"};
  m.body = "Subject: x\r\n\r\nx\r\n";
  int64_t id = 0;
  ASSERT_TRUE(store_->Enqueue(m, &id).ok());
  std::vector<relay::RecipientRow> leased;
  ASSERT_TRUE(store_->ClaimDue(1700000000, 10, 900, &leased).ok());
  ASSERT_EQ(leased.size(), 1u);
  InboundMail mail = Mail(Dsn("fast@example.net", "failed", "5.1.1", "550 5.1.1 User unknown"));
  mail.targets[0] = {id, leased[0].id, "bounce.example.com"};
  std::vector<Disposal> out;
  Status s = disposer_->Dispose(mail, &out);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.message();
  relay::Suppression found;
  EXPECT_FALSE(Suppressed("fast@example.net", &found));
  // Once delivery has recorded its 250 the same bounce is taken.
  relay::AttemptRecord a;
  a.recipient_id = leased[0].id;
  a.new_state = RecipientState::kDelivered;
  a.decision = "delivered";
  ASSERT_TRUE(store_->RecordAttempt(a).ok());
  ASSERT_TRUE(disposer_->Dispose(mail, &out).ok());
  EXPECT_EQ(out[0].decision, "bounced");
}

TEST_F(DisposerTest, UnknownRecipientIsAnErrorNotAGuess) {
  InboundMail m = Mail(Dsn("bob@example.net", "failed", "5.1.1", "550 5.1.1 User unknown"));
  m.targets[0].recipient_id = 999999;
  std::vector<Disposal> out;
  EXPECT_FALSE(disposer_->Dispose(m, &out).ok());
  EXPECT_EQ(State(0), RecipientState::kDelivered);
}

}  // namespace
}  // namespace rebound::inbound
