// Disposition and throttle, driven by verdicts from the real classifier and
// the shipped rule base (no hand-made verdicts where a reply can say it).
#include "delivery/disposition.h"

#include <gtest/gtest.h>

#include "delivery/relay_codes.h"
#include "delivery/throttle.h"
#include "rebound/classifier.h"

namespace rebound::delivery {
namespace {

class DispositionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Status s = BuildClassifier({}, &classifier_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  Verdict V(std::string_view reply) {
    if (!scratch_) scratch_ = classifier_->NewScratch();
    return classifier_->Classify(reply, scratch_.get());
  }
  DispositionInput In(std::string_view reply, int failures = 0) {
    DispositionInput in;
    in.verdict = V(reply);
    in.now = t0_ + std::chrono::hours(1);
    in.history.first_queued = t0_;
    in.history.failures = failures;
    return in;
  }
  static inline std::unique_ptr<const Classifier> classifier_;
  Classifier::ScratchPtr scratch_;
  TimePoint t0_ = TimePoint(Seconds(1'800'000'000));
  RetryPolicy policy_;
};

TEST_F(DispositionTest, DeliveredRecordsSuccess) {
  Disposition d = Decide(In("250 2.0.0 Ok: queued as 1234"), policy_);
  EXPECT_EQ(d.decision, Decision::kDelivered);
  EXPECT_FALSE(d.counts_as_failure);
  EXPECT_EQ(d.why, "accepted by the receiver");
  EXPECT_FALSE(d.suppress);
  EXPECT_EQ(d.destination, DestinationAction::kRecordSuccess);
  EXPECT_EQ(DecisionName(d.decision), "delivered");
}

TEST_F(DispositionTest, HardBounceIsBouncedAndSuppressed) {
  Disposition d = Decide(In("550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown"), policy_);
  EXPECT_EQ(d.decision, Decision::kBounced);
  EXPECT_TRUE(d.suppress);
  EXPECT_TRUE(d.send_dsn);
  EXPECT_EQ(d.destination, DestinationAction::kNone);
}

TEST_F(DispositionTest, HardBounceSuppressionCanBeTurnedOff) {
  RetryPolicy p = policy_;
  p.suppress_hard_bounces = false;
  Disposition d = Decide(In("550 5.1.1 unknown user"), p);
  EXPECT_EQ(d.decision, Decision::kBounced);
  EXPECT_FALSE(d.suppress);
}

TEST_F(DispositionTest, SenderSideCategoriesNeverSuppress) {
  for (const char* reply : {"554 5.7.1 Message rejected as spam", "535 Authentication failure",
                            "550 5.7.26 Unauthenticated email is not accepted due to DMARC policy",
                            "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                            "550 5.7.1 Relaying denied", "552 Daily sending quota exceeded"}) {
    DispositionInput in = In(reply);
    ASSERT_TRUE(in.verdict.permanent) << reply;
    Disposition d = Decide(in, policy_);
    EXPECT_EQ(d.decision, Decision::kBounced) << reply;
    EXPECT_FALSE(d.suppress) << reply << " category " << CategoryName(in.verdict.category);
  }
  // Even a verdict that claims a hard bounce in a sender-side category.
  DispositionInput in = In("550 5.7.1 spam");
  in.verdict.hard_bounce = true;
  in.verdict.category = Category::ip_rate_limited;
  EXPECT_FALSE(Decide(in, policy_).suppress);
  // Or one whose facts give no evidence (RFC 5321's bare "mailbox unavailable").
  DispositionInput bare = In("550 Requested action not taken: mailbox unavailable");
  bare.verdict.hard_bounce = true;
  EXPECT_FALSE(Decide(bare, policy_).suppress);
}

TEST_F(DispositionTest, TemporaryFailureBacksOffExponentiallyToTheCap) {
  EXPECT_EQ(BackoffDelay(1, policy_), Seconds(300));
  EXPECT_EQ(BackoffDelay(2, policy_), Seconds(600));
  EXPECT_EQ(BackoffDelay(3, policy_), Seconds(1200));
  EXPECT_EQ(BackoffDelay(4, policy_), Seconds(2400));
  EXPECT_EQ(BackoffDelay(5, policy_), Seconds(3600));
  EXPECT_EQ(BackoffDelay(50, policy_), Seconds(3600));

  // "451 4.3.0" carries the generic temporary hint (300 s): the backoff rules.
  for (int failures : {0, 1, 2, 3, 6}) {
    DispositionInput in = In("451 4.3.0 Temporary local problem, please try later", failures);
    Disposition d = Decide(in, policy_);
    ASSERT_EQ(d.decision, Decision::kDeferred);
    EXPECT_TRUE(d.counts_as_failure);
    Seconds expect = std::max(BackoffDelay(failures + 1, policy_), Seconds(in.verdict.retry_after));
    EXPECT_EQ(d.next_attempt - in.now, expect) << failures;  // draw 0.5: no jitter
  }
}

TEST_F(DispositionTest, JitterStaysWithinBounds) {
  DispositionInput in = In("451 4.3.0 Temporary local problem", 2);  // 1200 s
  in.jitter_draw = 0.0;
  Seconds lo = std::chrono::duration_cast<Seconds>(Decide(in, policy_).next_attempt - in.now);
  in.jitter_draw = 0.999;
  Seconds hi = std::chrono::duration_cast<Seconds>(Decide(in, policy_).next_attempt - in.now);
  EXPECT_EQ(lo, Seconds(1080));  // 1200 * (1 - 0.1)
  EXPECT_NEAR(static_cast<double>(hi.count()), 1320.0, 1.0);
}

TEST_F(DispositionTest, StatedDelayIsHonoured) {
  DispositionInput in = In("451 4.7.1 Please try again in 40 minutes", 0);
  ASSERT_EQ(in.verdict.retry_after, 2400);
  Disposition d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kDeferred);
  EXPECT_EQ(d.next_attempt - in.now, Seconds(2400));
}

TEST_F(DispositionTest, GreylistingDoesNotCountAsFailure) {
  DispositionInput in = In("450 4.2.0 <a@example.test>: Recipient address rejected: Greylisted, try again in 3 minutes", 4);
  ASSERT_EQ(in.verdict.category, Category::greylisted);
  Disposition d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kDeferred);
  EXPECT_FALSE(d.counts_as_failure);
  EXPECT_EQ(d.next_attempt - in.now, Seconds(180));  // the stated delay, not 4 doublings
}

TEST_F(DispositionTest, ExpiresAfterQueueLifetimeWithDsn) {
  DispositionInput in = In("451 4.3.0 Temporary local problem", 30);
  in.now = t0_ + policy_.max_queue_age;
  Disposition d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kExpired);
  EXPECT_TRUE(d.send_dsn);
  EXPECT_FALSE(d.suppress);
  // Just before: deferred, but never past the deadline.
  in.now = t0_ + policy_.max_queue_age - Seconds(60);
  d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kDeferred);
  EXPECT_LE(d.next_attempt, t0_ + policy_.max_queue_age);
}

TEST_F(DispositionTest, MailboxFullSuppressesOnlyAfterRepeatsOverDays) {
  DispositionInput in = In("452 4.2.2 Mailbox full");
  ASSERT_EQ(in.verdict.category, Category::mailbox_full);
  Disposition d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kDeferred);
  EXPECT_FALSE(d.suppress);
  // Many failures, but within one day: still deferred.
  in.history.mailbox_full_failures = 10;
  in.history.first_mailbox_full = in.now - std::chrono::hours(20);
  EXPECT_EQ(Decide(in, policy_).decision, Decision::kDeferred);
  // Over more than three days: bounced and suppressed.
  in.history.first_mailbox_full = in.now - std::chrono::hours(80);
  d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kBounced);
  EXPECT_TRUE(d.suppress);
  // Few failures over a long span: still deferred.
  in.history.mailbox_full_failures = 2;
  EXPECT_EQ(Decide(in, policy_).decision, Decision::kDeferred);
}

TEST_F(DispositionTest, RateLimitThrottlesAndNeverSuppresses) {
  DispositionInput in = In("421 4.7.0 Too many messages, frequency limited, try again later");
  ASSERT_TRUE(IsRateLimitCategory(in.verdict.category)) << CategoryName(in.verdict.category);
  in.destination_ready_at = in.now + Seconds(7200);
  Disposition d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kDeferred);
  EXPECT_EQ(d.destination, DestinationAction::kThrottle);
  EXPECT_FALSE(d.suppress);
  // The deferred schedule moves with the throttle window.
  EXPECT_EQ(d.next_attempt, in.now + Seconds(7200));
}

TEST_F(DispositionTest, BlocklistPausesAndAlerts) {
  DispositionInput in = In("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org");
  ASSERT_EQ(in.verdict.category, Category::ip_blacklisted);
  Disposition d = Decide(in, policy_);
  EXPECT_EQ(d.destination, DestinationAction::kPause);
  EXPECT_TRUE(d.alert);
  EXPECT_FALSE(d.suppress);
  EXPECT_EQ(d.decision, Decision::kBounced);  // 5xx: this message does not go
  in = In("421 4.7.0 Your IP 192.0.2.1 is listed on a DNSBL, try later");
  if (in.verdict.category == Category::ip_blacklisted) {
    d = Decide(in, policy_);
    EXPECT_EQ(d.decision, Decision::kDeferred);
    EXPECT_TRUE(d.alert);
  }
}

TEST_F(DispositionTest, SuppressedAddressIsNotTried) {
  DispositionInput in = In("550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown", 2);
  in.address_suppressed = true;
  in.now = t0_ + policy_.max_queue_age + Seconds(10);  // even past the lifetime: suppressed, not expired
  Disposition d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kSuppressed);
  EXPECT_EQ(DecisionName(d.decision), "suppressed");
  EXPECT_FALSE(d.counts_as_failure);
  EXPECT_FALSE(d.suppress);  // it is on the list already
  EXPECT_FALSE(d.send_dsn);
  EXPECT_EQ(d.destination, DestinationAction::kNone);
}

// No connection was made because the destination is held by the throttle;
// the verdict is the one that throttled it.
TEST_F(DispositionTest, HeldByTheThrottleDefersToTheWindowWithoutAFailure) {
  DispositionInput in = In("421 4.7.0 Too many messages, frequency limited, try again later", 2);
  ASSERT_EQ(in.verdict.category, Category::ip_rate_limited);
  in.destination_held = true;
  in.destination_ready_at = in.now + Seconds(75);
  Disposition d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kDeferred);
  EXPECT_EQ(d.next_attempt, in.now + Seconds(75));  // the throttle's time, not the backoff
  EXPECT_FALSE(d.counts_as_failure);
  EXPECT_EQ(d.destination, DestinationAction::kNone);  // the reply that throttled it acted already
  EXPECT_FALSE(d.send_dsn);
  // A window that ends after the queue lifetime: the last try at the deadline.
  in.destination_ready_at = t0_ + policy_.max_queue_age + Seconds(600);
  d = Decide(in, policy_);
  EXPECT_EQ(d.decision, Decision::kDeferred);
  EXPECT_EQ(d.next_attempt, t0_ + policy_.max_queue_age);

  // A blocklist pause holds a destination whose reply was permanent: the
  // held recipient was not refused, it waits.
  DispositionInput paused = In("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org");
  ASSERT_EQ(paused.verdict.category, Category::ip_blacklisted);
  paused.destination_held = true;
  paused.destination_ready_at = paused.now + Seconds(3600);
  d = Decide(paused, policy_);
  EXPECT_EQ(d.decision, Decision::kDeferred);
  EXPECT_FALSE(d.alert);
  EXPECT_FALSE(d.suppress);
  EXPECT_EQ(d.destination, DestinationAction::kNone);
}

// The bug this replaced: at or past the deadline a held recipient was put
// back by one second on every pass until the throttle let go.
TEST_F(DispositionTest, HeldPastItsLifetimeExpires) {
  for (Seconds late : {Seconds(0), Seconds(1), Seconds(3600)}) {
    DispositionInput in = In("421 4.7.0 Too many messages, frequency limited, try again later", 3);
    in.destination_held = true;
    in.now = t0_ + policy_.max_queue_age + late;
    in.destination_ready_at = in.now + Seconds(60);
    Disposition d = Decide(in, policy_);
    EXPECT_EQ(d.decision, Decision::kExpired) << late.count();
    EXPECT_TRUE(d.send_dsn);
    EXPECT_FALSE(d.counts_as_failure);
    EXPECT_EQ(d.destination, DestinationAction::kNone);
  }
}

TEST_F(DispositionTest, RelayOwnCodesClassifyAndDecide) {
  struct Case { RelayFailure f; Category cat; Decision decision; bool suppress; };
  for (const Case& c : {Case{RelayFailure::kDnsTemporary, Category::dns_failure, Decision::kDeferred, false},
                        Case{RelayFailure::kDnsNotFound, Category::dns_failure, Decision::kBounced, true},
                        Case{RelayFailure::kDnsNoData, Category::dns_failure, Decision::kBounced, true},
                        Case{RelayFailure::kNullMx, Category::dns_failure, Decision::kBounced, true},
                        Case{RelayFailure::kUnreachable, Category::connection_failed, Decision::kDeferred, false}}) {
    DispositionInput in = In(RelayFailureReply(c.f));
    in.scope = ReplyScope::kSession;
    EXPECT_EQ(in.verdict.category, c.cat) << RelayFailureReply(c.f);
    Disposition d = Decide(in, policy_);
    EXPECT_EQ(d.decision, c.decision) << RelayFailureReply(c.f);
    EXPECT_EQ(d.suppress, c.suppress) << RelayFailureReply(c.f);
  }
  DispositionInput lost = In(RelayFailureReply(RelayFailure::kConnectionLost));
  EXPECT_FALSE(lost.verdict.permanent);
  EXPECT_EQ(Decide(lost, policy_).decision, Decision::kDeferred);
}

TEST(ThrottleTest, WindowGrowsOnRepeatsAndShrinksAfterSuccesses) {
  ThrottlePolicy p;
  DestinationThrottle t(p);
  TimePoint now(Seconds(1'000'000));
  const std::string dest = "mx.example.test";
  EXPECT_FALSE(t.Blocked(dest, now));
  EXPECT_EQ(t.AllowedConnections(dest), p.max_connections);

  t.OnRateLimited(dest, now);
  EXPECT_EQ(t.Window(dest), Seconds(60));
  EXPECT_TRUE(t.Blocked(dest, now + Seconds(59)));
  EXPECT_FALSE(t.Blocked(dest, now + Seconds(60)));
  EXPECT_LT(t.AllowedConnections(dest), p.max_connections);

  now += Seconds(61);  // limited again right after the window: doubles
  t.OnRateLimited(dest, now);
  EXPECT_EQ(t.Window(dest), Seconds(120));
  now += Seconds(121);
  t.OnRateLimited(dest, now);
  EXPECT_EQ(t.Window(dest), Seconds(240));
  EXPECT_EQ(t.AllowedConnections(dest), 1);

  // Successes after the window shrink it, down to nothing.
  now += Seconds(241);
  t.OnSuccess(dest, now);
  EXPECT_EQ(t.Window(dest), Seconds(120));
  t.OnSuccess(dest, now);
  t.OnSuccess(dest, now);
  EXPECT_EQ(t.Window(dest), Seconds(0));
  EXPECT_EQ(t.AllowedConnections(dest), p.max_connections);
}

TEST(ThrottleTest, ReadyAtSpreadsDeferredRecipientsAfterTheWindow) {
  DestinationThrottle t;
  TimePoint now(Seconds(1'000'000));
  t.OnRateLimited("d", now);
  TimePoint end = now + Seconds(60);
  EXPECT_EQ(t.ReadyAt("d", now, 0.0), end);
  EXPECT_EQ(t.ReadyAt("d", now, 0.999), end + Seconds(29));
  EXPECT_EQ(t.ReadyAt("other", now, 0.5), now);
  EXPECT_EQ(t.ReadyAt("d", end, 0.5), end);  // window over
}

TEST(ThrottleTest, BlocklistPause) {
  DestinationThrottle t;
  TimePoint now(Seconds(1'000'000));
  t.Apply(DestinationAction::kPause, "p", now);
  EXPECT_TRUE(t.Blocked("p", now + Seconds(3599)));
  EXPECT_FALSE(t.Blocked("p", now + Seconds(3600)));
}

}  // namespace
}  // namespace rebound::delivery
