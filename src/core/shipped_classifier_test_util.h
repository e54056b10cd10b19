// The classifier the core tests check: the shipped rule base, optionally
// with a local rule file on top. Built once per test program for Shipped().
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string_view>

#include "rebound/classifier.h"

namespace rebound::testing {

inline std::unique_ptr<const Classifier> BuildShipped(std::string_view local_toml = {}) {
  ClassifierBuilder b;
  EXPECT_TRUE(b.AddDefaults().ok());
  if (!local_toml.empty()) {
    EXPECT_TRUE(b.AddText("local.toml", local_toml, /*local=*/true).ok());
  }
  std::unique_ptr<const Classifier> c;
  Status s = b.Build(&c);
  EXPECT_TRUE(s.ok()) << s.message();
  return c;
}

inline const Classifier& Shipped() {
  static std::unique_ptr<const Classifier> c = BuildShipped();
  return *c;
}

// A reply and the category the shipped rule base must give it.
struct ReplyCase {
  const char* reply;
  Category category;
};

inline void ExpectCategories(const ReplyCase* begin, const ReplyCase* end) {
  auto scratch = Shipped().NewScratch();
  for (const ReplyCase* c = begin; c != end; ++c) {
    Verdict v = Shipped().Classify(c->reply, scratch.get());
    EXPECT_EQ(v.category, c->category) << c->reply << " decided by " << v.rule;
  }
}

// Replies the shipped rule base must not report as hard bounces.
inline void ExpectNoHardBounce(const char* const* begin, const char* const* end) {
  auto scratch = Shipped().NewScratch();
  for (const char* const* reply = begin; reply != end; ++reply) {
    Verdict v = Shipped().Classify(*reply, scratch.get());
    EXPECT_FALSE(v.hard_bounce) << *reply << " decided by " << v.rule << " as " << CategoryName(v.category);
  }
}

// Replies the shipped rule base must report as hard bounces.
inline void ExpectHardBounce(const char* const* begin, const char* const* end) {
  auto scratch = Shipped().NewScratch();
  for (const char* const* reply = begin; reply != end; ++reply) {
    Verdict v = Shipped().Classify(*reply, scratch.get());
    EXPECT_TRUE(v.hard_bounce) << *reply << " decided by " << v.rule << " as " << CategoryName(v.category);
  }
}

}  // namespace rebound::testing
