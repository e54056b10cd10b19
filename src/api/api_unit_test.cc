// Unit tests of the API's parts that need no server: the send request's
// decoding and MIME, raw messages, the route table and the error shape,
// the key store on a real SQLite file, the rate limiter, HTTP parsing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/api_keys.h"
#include "api/endpoints.h"
#include "api/http_parse.h"
#include "api/message.h"
#include "api/router.h"
#include "relay/replies.h"

namespace rebound::api {
namespace {

TEST(Message, DecodesAndBuildsMultipartWithAttachment) {
  SendRequest r;
  std::string error;
  ASSERT_TRUE(DecodeSendRequest(
      R"({"from":"Zoë <z@example.com>","to":"a@example.net","bcc":["b@example.net"],"subject":"Hi",
          "text":"t","html":"<p>h</p>","attachments":[{"filename":"a.txt","content":"aGVsbG8="}],"tag":"news","bulk":true})",
      &r, &error))
      << error;
  EXPECT_EQ(EnvelopeRecipients(r), (std::vector<std::string>{"a@example.net", "b@example.net"}));
  const std::string m = BuildMessage(r, "id1@example.com", 1700000000);
  EXPECT_NE(m.find("From: =?UTF-8?B?"), std::string::npos);
  EXPECT_EQ(m.find("Bcc"), std::string::npos);
  EXPECT_NE(m.find("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), std::string::npos);
  EXPECT_NE(m.find("X-Rebound-Bulk: yes\r\nX-Rebound-Tag: news\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/mixed"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/alternative"), std::string::npos);
  EXPECT_NE(m.find("aGVsbG8=\r\n"), std::string::npos);
  EXPECT_NE(m.find("filename=\"a.txt\""), std::string::npos);
}

TEST(Message, RefusesInjectionAndOwnHeaders) {
  SendRequest r;
  std::string error;
  EXPECT_FALSE(DecodeSendRequest(R"({"from":"a@b.c","to":"x@y.z","text":"t","subject":"a\r\nBcc: v@w.x"})", &r, &error));
  EXPECT_FALSE(DecodeSendRequest(R"({"from":"a@b.c","to":"x@y.z","text":"t","headers":{"From":"e@vil"}})", &r, &error));
  EXPECT_FALSE(DecodeSendRequest(R"({"from":"a@b.c","to":"x@y.z","text":"t","headers":{"X-A":"1\nB: 2"}})", &r, &error));
  EXPECT_FALSE(DecodeSendRequest(R"({"from":"a@b.c","to":"x@y.z","text":"t","headers":{"Bad Name":"1"}})", &r, &error));
  EXPECT_FALSE(DecodeSendRequest(R"({"from":"a@b.c","to":"x@y.z"})", &r, &error));  // no content
  EXPECT_FALSE(DecodeSendRequest(R"({"from":"a@b.c","text":"t"})", &r, &error));   // no recipient
  EXPECT_FALSE(DecodeSendRequest("[1]", &r, &error));
  EXPECT_FALSE(DecodeSendRequest("{", &r, &error));
  nlohmann::json many = {{"from", "a@b.c"}, {"text", "t"}, {"to", nlohmann::json::array()}};
  for (int i = 0; i < 101; ++i) many["to"].push_back("r" + std::to_string(i) + "@x.y");
  EXPECT_FALSE(DecodeSendRequest(many.dump(), &r, &error));
  EXPECT_NE(error.find("100"), std::string::npos);
}

TEST(Message, QuotedPrintableKeepsLinesShortAndEncodesWhatItMust) {
  const std::string long_line(200, 'a');
  const std::string qp = EncodeQuotedPrintable(long_line + " \n=x\n.\n");
  size_t start = 0;
  while (start < qp.size()) {
    size_t end = qp.find("\r\n", start);
    if (end == std::string::npos) end = qp.size();
    EXPECT_LE(end - start, 76u);
    start = end + 2;
  }
  EXPECT_NE(qp.find("=20\r\n=3Dx\r\n=2E\r\n"), std::string::npos);
}

TEST(Message, RawMessageLosesBccAndGivesTheEnvelope) {
  RawMessage raw;
  std::string error;
  ASSERT_TRUE(ReadRawMessage("From: A <a@x.org>\nTo: b@y.org, \"C, D\" <c@y.org>\nBcc: e@z.org,\n folded@z.org\nSubject: s\n\nbody\n",
                             &raw, &error))
      << error;
  EXPECT_EQ(raw.from, "a@x.org");
  EXPECT_EQ(raw.recipients, (std::vector<std::string>{"b@y.org", "c@y.org", "e@z.org", "folded@z.org"}));
  EXPECT_EQ(raw.body, "From: A <a@x.org>\r\nTo: b@y.org, \"C, D\" <c@y.org>\r\nSubject: s\r\n\r\nbody\r\n");
  EXPECT_FALSE(ReadRawMessage("no header", &raw, &error));
  EXPECT_FALSE(ReadRawMessage("To: a@b.c\n\nx\n", &raw, &error));
}

TEST(Router, LiteralSegmentsWinAndMethodsAreTold) {
  AddRoute({"GET", "/t/{id}", "", [](const Request&, Response* r) { r->body = "param"; }, "test"});
  AddRoute({"GET", "/t/batch", "", [](const Request&, Response* r) { r->body = "literal"; }, "test"});
  Route route;
  std::map<std::string, std::string> params;
  bool exists = false;
  ASSERT_TRUE(FindRoute("GET", "/t/batch", &route, &params, &exists));
  Response res;
  route.handler(Request(), &res);
  EXPECT_EQ(res.body, "literal");
  ASSERT_TRUE(FindRoute("GET", "/t/7", &route, &params, &exists));
  EXPECT_EQ(params.at("id"), "7");
  EXPECT_FALSE(FindRoute("POST", "/t/7", &route, &params, &exists));
  EXPECT_TRUE(exists);
  EXPECT_FALSE(FindRoute("GET", "/nope", &route, &params, &exists));
  EXPECT_FALSE(exists);
  RemoveRoutes("test");
  EXPECT_FALSE(FindRoute("GET", "/t/7", &route, &params, &exists));
}

TEST(Router, ErrorsCarryTheSmtpReply) {
  Response r;
  SetError(&r, 422, relay::kReplySuppressed, "\"recipient\":\"a@b.c\"");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "550");
  EXPECT_EQ(j["error"]["enhanced"], "5.1.1");
  EXPECT_EQ(j["error"]["message"], "Recipient address is on the suppression list of this account");
  EXPECT_EQ(j["error"]["recipient"], "a@b.c");
  SetError(&r, 429, relay::kReplyDailyQuota);
  j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "552");
  EXPECT_EQ(j["error"]["enhanced"], "");
  EXPECT_EQ(j["error"]["message"], "Daily sending quota exceeded");
}

TEST(Endpoints, RefusalsMapToHttpStatuses) {
  int retry = 0;
  const int64_t now = 1700000000;  // 22:13:20 UTC
  EXPECT_EQ(HttpStatusForReply(relay::kReplyDailyQuota, now, &retry), 429);
  EXPECT_EQ(retry, 86400 - (22 * 3600 + 13 * 60 + 20));
  EXPECT_EQ(HttpStatusForReply(relay::kReplyTooLarge, now, &retry), 413);
  EXPECT_EQ(HttpStatusForReply(relay::kReplyInvalidRcpt, now, &retry), 422);
  EXPECT_EQ(HttpStatusForReply(relay::kReplySuppressed, now, &retry), 422);
  EXPECT_EQ(HttpStatusForReply(relay::kReplyAccountUnavailable, now, &retry), 403);
  EXPECT_EQ(HttpStatusForReply(relay::kReplyTempQueueFailure, now, &retry), 503);
  EXPECT_GT(retry, 0);
}

TEST(ApiKeys, CreateVerifyRevokeOnARealFile) {
  const std::string dir = std::filesystem::temp_directory_path() / ("rebound-apikeys-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::unique_ptr<ApiKeys> keys;
  ASSERT_TRUE(ApiKeys::Open(dir + "/queue.db", &keys).ok());
  std::string key, scopes;
  ASSERT_TRUE(NormalizeScopes(" read, send ,read", &scopes).ok());
  EXPECT_EQ(scopes, "read,send");
  EXPECT_FALSE(NormalizeScopes("root", &scopes).ok());
  ApiKey info, found;
  ASSERT_TRUE(keys->Create("alice", "read,send", &key, &info).ok());
  EXPECT_EQ(key.size(), 85u);
  ASSERT_TRUE(keys->Verify(key, &found).ok());
  EXPECT_EQ(found.account, "alice");
  EXPECT_TRUE(HasScope(found.scopes, "send"));
  EXPECT_FALSE(HasScope(found.scopes, "admin"));
  std::string wrong = key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(keys->Verify(wrong, &found).code(), Status::Code::kNotFound);
  EXPECT_EQ(keys->Verify("", &found).code(), Status::Code::kNotFound);
  EXPECT_EQ(keys->Verify("rbk_x", &found).code(), Status::Code::kNotFound);
  ASSERT_TRUE(keys->Revoke(info.id).ok());
  EXPECT_EQ(keys->Verify(key, &found).code(), Status::Code::kNotFound);
  EXPECT_EQ(keys->Revoke(info.id).code(), Status::Code::kNotFound);
  keys.reset();
  std::filesystem::remove_all(dir);
}

TEST(RateLimiter, BurstThenRefusesWithRetryAfter) {
  RateLimiter limiter(1, 3);
  int retry = 0;
  EXPECT_TRUE(limiter.Allow("k", &retry));
  EXPECT_TRUE(limiter.Allow("k", &retry));
  EXPECT_TRUE(limiter.Allow("k", &retry));
  EXPECT_FALSE(limiter.Allow("k", &retry));
  EXPECT_GE(retry, 1);
  EXPECT_TRUE(limiter.Allow("other", &retry));
}

TEST(HttpParse, RequestsAndLimits) {
  Request r;
  ParseLimits limits;
  limits.max_header = 200;
  limits.max_body = 10;
  ASSERT_EQ(ParseRequest("GET /v1/events?after=5&type=a%2Cb HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n", limits, &r), 0);
  EXPECT_EQ(r.path, "/v1/events");
  EXPECT_EQ(r.Query("after"), "5");
  EXPECT_EQ(r.Query("type"), "a,b");
  EXPECT_EQ(r.Header("x-a"), "1, 2");
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nxxxxxxxxxxx", limits, &r), 413);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nX: " + std::string(300, 'y') + "\r\n\r\n", limits, &r), 431);
  EXPECT_EQ(ParseRequest("\x01garbage\r\n\r\n", limits, &r), 400);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost: x\r\n", limits, &r), -1);
}

}  // namespace
}  // namespace rebound::api
