// Each reply the submission server sends classifies back to its own category
// with the project's classifier (the embedded rule base).
#include "relay/replies.h"

#include <gtest/gtest.h>

#include "rebound/classifier.h"

namespace rebound::relay {
namespace {

TEST(Replies, ClassifyToTheirOwnCategory) {
  std::unique_ptr<const Classifier> classifier;
  ASSERT_TRUE(BuildClassifier({}, &classifier).ok());
  auto scratch = classifier->NewScratch();
  const struct {
    std::string_view reply;
    Category category;
    bool permanent;
  } cases[] = {
      {kReplyQueued, Category::delivered, false},
      {kReplyAuthFailure, Category::auth_failed, true},
      {kReplyTooManyRcpts, Category::too_many_recipients, true},
      {kReplyTooLarge, Category::message_too_large, true},
      {kReplyInvalidRcpt, Category::invalid_address, true},
      {kReplyDailyQuota, Category::sending_quota_exceeded, true},
      {kReplyMonthlyQuota, Category::sending_quota_exceeded, true},
      {kReplyNotEnoughQuota, Category::sending_quota_exceeded, true},
      {kReplyAccountUnavailable, Category::sender_account_unavailable, true},
      {kReplySuppressed, Category::recipient_not_found, true},
      {kReplyContentSpam, Category::spam, true},
      {kReplyContentDeferred, Category::greylisted, false},
      {kReplyContentCheckUnavailable, Category::recipient_unavailable, false},  // a temporary failure: retry
  };
  for (const auto& c : cases) {
    Verdict v = classifier->Classify(c.reply, scratch.get());
    EXPECT_EQ(CategoryName(v.category), CategoryName(c.category)) << c.reply;
    EXPECT_EQ(v.permanent, c.permanent) << c.reply;
  }
}

}  // namespace
}  // namespace rebound::relay
