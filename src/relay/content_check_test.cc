// The content check's pure parts: the [content_check] keys and rspamd's HTTP
// reply. The whole path with a real rspamd is tests/relay/content_check_test.py.
#include "relay/content_check.h"

#include <gtest/gtest.h>

namespace rebound::relay {
namespace {

TEST(ContentCheckSettings, OffByDefault) {
  ContentCheckSettings s;
  ASSERT_TRUE(ParseContentCheckSettings(Config(), &s).ok());
  EXPECT_FALSE(s.enabled);
  EXPECT_FALSE(s.tempfail_on_error);
}

TEST(ContentCheckSettings, ReadsTheUrl) {
  Config c;
  ASSERT_TRUE(c.Set("content_check.rspamd_url", "http://127.0.0.1:11334/").ok());
  ASSERT_TRUE(c.Set("content_check.on_error", "tempfail").ok());
  ContentCheckSettings s;
  ASSERT_TRUE(ParseContentCheckSettings(c, &s).ok());
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, "11334");
  EXPECT_EQ(s.path, "/checkv2");
  EXPECT_TRUE(s.tempfail_on_error);

  ASSERT_TRUE(c.Set("content_check.rspamd_url", "http://[::1]/rspamd").ok());
  ASSERT_TRUE(ParseContentCheckSettings(c, &s).ok());
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.port, "11333");
  EXPECT_EQ(s.path, "/rspamd/checkv2");
}

TEST(ContentCheckSettings, RejectsBadValues) {
  ContentCheckSettings s;
  for (const char* url : {"https://127.0.0.1", "127.0.0.1:11333", "http://:11333", "http://h:0", "http://h:x"}) {
    Config c;
    ASSERT_TRUE(c.Set("content_check.rspamd_url", url).ok());
    EXPECT_FALSE(ParseContentCheckSettings(c, &s).ok()) << url;
  }
  Config c;
  ASSERT_TRUE(c.Set("content_check.on_error", "maybe").ok());
  EXPECT_FALSE(ParseContentCheckSettings(c, &s).ok());
}

TEST(ContentCheckReply, Actions) {
  EXPECT_EQ(ContentDecisionForAction("reject"), ContentDecision::Kind::kReject);
  EXPECT_EQ(ContentDecisionForAction("soft reject"), ContentDecision::Kind::kTempfail);
  EXPECT_EQ(ContentDecisionForAction("greylist"), ContentDecision::Kind::kTempfail);
  EXPECT_EQ(ContentDecisionForAction("add header"), ContentDecision::Kind::kAccept);
  EXPECT_EQ(ContentDecisionForAction("no action"), ContentDecision::Kind::kAccept);
}

TEST(ContentCheckReply, ParsesContentLengthAndChunked) {
  const std::string json = R"({"is_skipped":false,"score":16.5,"required_score":15.0,"action":"reject"})";
  ContentDecision d;
  ParseRspamdResponse("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json, &d);
  EXPECT_EQ(d.kind, ContentDecision::Kind::kReject) << d.error;
  EXPECT_EQ(d.action, "reject");
  EXPECT_DOUBLE_EQ(d.score, 16.5);
  EXPECT_DOUBLE_EQ(d.required_score, 15.0);

  const std::string body = R"({"score":1,"action":"no action"})";
  char size_hex[16];
  snprintf(size_hex, sizeof size_hex, "%zx", body.size());
  ParseRspamdResponse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + std::string(size_hex) + "\r\n" + body +
                          "\r\n0\r\n\r\n",
                      &d);
  EXPECT_EQ(d.kind, ContentDecision::Kind::kAccept) << d.error;
  EXPECT_EQ(d.action, "no action");
}

TEST(ContentCheckReply, ErrorsAreErrors) {
  ContentDecision d;
  ParseRspamdResponse("", &d);
  EXPECT_EQ(d.kind, ContentDecision::Kind::kError);
  ParseRspamdResponse("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops", &d);
  EXPECT_EQ(d.kind, ContentDecision::Kind::kError);
  EXPECT_NE(d.error.find("500"), std::string::npos);
  ParseRspamdResponse("HTTP/1.1 200 OK\r\n\r\nnot json", &d);
  EXPECT_EQ(d.kind, ContentDecision::Kind::kError);
  ParseRspamdResponse("HTTP/1.1 200 OK\r\n\r\n{\"score\":3}", &d);
  EXPECT_EQ(d.kind, ContentDecision::Kind::kError);
  ParseRspamdResponse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", &d);
  EXPECT_EQ(d.kind, ContentDecision::Kind::kError);
}

}  // namespace
}  // namespace rebound::relay
