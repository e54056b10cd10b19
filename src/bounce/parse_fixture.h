// The fixture the bounce tests share: one default Classifier for the test
// suite, and Parse(), which reads one message and expects it to be readable.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string_view>

#include "rebound/bounce.h"
#include "rebound/classifier.h"

namespace rebound {

class BounceParseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(BuildClassifier({}, &classifier_).ok()); }
  static BounceResult Parse(std::string_view msg) {
    BounceParser p(classifier_.get());
    BounceResult r;
    Status st = p.Parse(msg, &r);
    EXPECT_TRUE(st.ok()) << st.message();
    return r;
  }
  static inline std::unique_ptr<const Classifier> classifier_;
};

}  // namespace rebound
