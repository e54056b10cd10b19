// The SMTP client against real receiving servers on loopback: the aiosmtpd
// script (tests/delivery/smtp_server.py) that answers chosen recipients with
// chosen codes, and Postfix's smtp-sink (PIPELINING, HELO-only).
#include "delivery/smtp_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "test_util.h"

namespace rebound::delivery {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using testing::FreePort;
using testing::HaveAiosmtpd;
using testing::Received;
using testing::Subprocess;
using Ms = std::chrono::milliseconds;

const char* kPython = "/usr/bin/python3";

std::string ScriptPath() { return std::string(REBOUND_SOURCE_DIR) + "/tests/delivery/smtp_server.py"; }

template <typename T>
T RunCo(asio::io_context& io, asio::awaitable<T> aw) {
  std::optional<T> result;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { result = co_await std::move(aw); }, asio::detached);
  io.restart();
  io.run();
  return *result;
}

void RunVoid(asio::io_context& io, asio::awaitable<void> aw) {
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { co_await std::move(aw); }, asio::detached);
  io.restart();
  io.run();
}

Route RouteTo(std::vector<int> ports, std::string address = "127.0.0.1") {
  Route r;
  int pref = 10;
  for (int p : ports) r.hosts.push_back(MxHost{"mx" + std::to_string(pref) + ".test", pref, static_cast<uint16_t>(p), {address}}), pref += 10;
  return r;
}

class SmtpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveAiosmtpd()) GTEST_SKIP() << "python3-aiosmtpd not installed (scripts/install-deps.sh --with-tests)";
    dir_ = fs::temp_directory_path() / ("rebound-smtp-client-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls_->set_verify_mode(asio::ssl::verify_none);
  }
  void TearDown() override {
    server_.Stop();
    sink_.Stop();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  int StartServer(std::vector<std::string> extra = {}) {
    int port = testing::StartOnFreePort(
        &server_,
        [&](int p) {
          std::vector<std::string> argv = {kPython, ScriptPath(), "--port", std::to_string(p), "--outdir", Outdir()};
          argv.insert(argv.end(), extra.begin(), extra.end());
          return argv;
        },
        (dir_ / "server.log").string());
    EXPECT_NE(port, 0) << "aiosmtpd did not start";
    return port;
  }
  int StartSink(std::vector<std::string> flags) {
    int port = testing::StartOnFreePort(
        &sink_,
        [&](int p) {
          std::vector<std::string> argv = {"/usr/sbin/smtp-sink"};
          if (geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
          argv.insert(argv.end(), flags.begin(), flags.end());
          argv.push_back("127.0.0.1:" + std::to_string(p));
          argv.push_back("50");
          return argv;
        },
        (dir_ / "sink.log").string());
    EXPECT_NE(port, 0) << "smtp-sink did not start";
    return port;
  }
  std::string Outdir() const { return (dir_ / "out").string(); }
  SmtpClientOptions Options() {
    SmtpClientOptions o;
    o.helo_name = "client.rebound.test";
    o.greeting_timeout = o.command_timeout = o.data_init_timeout = o.data_block_timeout = o.data_end_timeout = Ms(5000);
    return o;
  }

  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> tls_;
  Subprocess server_, sink_;
  fs::path dir_;
};

TEST_F(SmtpClientTest, PerRecipientRepliesAndOneDelivery) {
  int port = StartServer();
  SmtpSession s(io_.get_executor(), *tls_, Options());
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({port}), &failure))) << failure.reply;
  EXPECT_EQ(s.ip(), "127.0.0.1");
  EXPECT_EQ(s.mx(), "mx10.test");

  std::string body = "Subject: hello\r\n\r\nline one\r\n.starts with a dot\r\n..two dots\r\n";
  OutgoingMessage m{"sender@example.org", {"ok@rcpt.test", "unknown@rcpt.test", "full@rcpt.test", "grey@rcpt.test", "rate@rcpt.test"}, &body};
  auto out = RunCo(io_, s.Send(m));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].reply.substr(0, 3), "250");
  EXPECT_EQ(out[0].command, SmtpCommand::kDataEnd);
  EXPECT_TRUE(out[0].accepted());
  EXPECT_EQ(out[1].reply.substr(0, 9), "550 5.1.1");
  EXPECT_EQ(out[1].command, SmtpCommand::kRcpt);
  EXPECT_EQ(out[1].scope, ReplyScope::kRecipient);
  EXPECT_EQ(out[2].reply.substr(0, 9), "452 4.2.2");
  EXPECT_EQ(out[3].reply.substr(0, 9), "450 4.2.0");
  EXPECT_EQ(out[4].reply.substr(0, 9), "421 4.7.0");
  EXPECT_EQ(out[4].scope, ReplyScope::kRecipient);
  EXPECT_TRUE(s.usable());
  RunVoid(io_, s.Quit());

  auto got = Received(Outdir());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["mail_from"], "sender@example.org");
  EXPECT_EQ(got[0]["rcpt_tos"], nlohmann::json::array({"ok@rcpt.test"}));
  // Dot-stuffing on the wire, removed by the server: the body arrives intact.
  std::string data = got[0]["data"];
  EXPECT_NE(data.find("\n.starts with a dot"), std::string::npos) << data;
  EXPECT_NE(data.find("\n..two dots"), std::string::npos) << data;
}

TEST_F(SmtpClientTest, SeveralMessagesPerConnectionWithRsetAfterFailure) {
  int port = StartServer();
  SmtpSession s(io_.get_executor(), *tls_, Options());
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({port}), &failure))) << failure.reply;
  std::string body = "Subject: x\r\n\r\nbody\r\n";
  for (int i = 0; i < 3; ++i) {
    OutgoingMessage bad{"s@example.org", {"unknown@rcpt.test"}, &body};
    auto out = RunCo(io_, s.Send(bad));
    EXPECT_EQ(out[0].reply.substr(0, 3), "550");
    OutgoingMessage good{"s@example.org", {"a" + std::to_string(i) + "@rcpt.test"}, &body};
    out = RunCo(io_, s.Send(good));
    EXPECT_TRUE(out[0].accepted()) << out[0].reply;
  }
  EXPECT_EQ(s.messages_sent(), 3);
  RunVoid(io_, s.Quit());
  EXPECT_EQ(Received(Outdir()).size(), 3u);
}

TEST_F(SmtpClientTest, SpamRejectedAtEndOfData) {
  int port = StartServer();
  SmtpSession s(io_.get_executor(), *tls_, Options());
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({port}), &failure)));
  std::string body = "Subject: buy now\r\n\r\n!!!\r\n";
  OutgoingMessage m{"s@example.org", {"spam@rcpt.test", "other@rcpt.test"}, &body};
  auto out = RunCo(io_, s.Send(m));
  for (const auto& o : out) {
    EXPECT_EQ(o.reply.substr(0, 9), "554 5.7.1");
    EXPECT_EQ(o.command, SmtpCommand::kDataEnd);
    EXPECT_EQ(o.scope, ReplyScope::kRecipient);
  }
  EXPECT_TRUE(Received(Outdir()).empty());
}

TEST_F(SmtpClientTest, DropMidDataIsASessionFailure) {
  int port = StartServer();
  SmtpSession s(io_.get_executor(), *tls_, Options());
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({port}), &failure)));
  std::string body = "Subject: x\r\n\r\nbody\r\n";
  OutgoingMessage m{"s@example.org", {"drop@rcpt.test", "b@rcpt.test"}, &body};
  auto out = RunCo(io_, s.Send(m));
  for (const auto& o : out) {
    EXPECT_EQ(o.reply.substr(0, 9), "421 4.4.2") << o.reply;
    EXPECT_EQ(o.scope, ReplyScope::kSession);
    EXPECT_EQ(o.command, SmtpCommand::kDataEnd);
  }
  EXPECT_FALSE(s.usable());
}

TEST_F(SmtpClientTest, RefusedConnectionFallsBackToTheNextMx) {
  int live = StartServer();
  int dead = FreePort();
  SmtpSession s(io_.get_executor(), *tls_, Options());
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({dead, live}), &failure))) << failure.reply;
  EXPECT_EQ(s.mx(), "mx20.test");

  SmtpSession t(io_.get_executor(), *tls_, Options());
  EXPECT_FALSE(RunCo(io_, t.Open(RouteTo({dead}), &failure)));
  EXPECT_EQ(failure.reply.rfind("427 Socks Connect to UNREACHABLE host", 0), 0u) << failure.reply;
  EXPECT_EQ(failure.scope, ReplyScope::kSession);
  EXPECT_EQ(failure.command, SmtpCommand::kConnect);
}

TEST_F(SmtpClientTest, SilentServerTimesOutInGreeting) {
  // Accepts connections (the kernel does) but never greets.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  SmtpClientOptions o = Options();
  o.greeting_timeout = Ms(300);
  SmtpSession s(io_.get_executor(), *tls_, o);
  RecipientOutcome failure;
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(RunCo(io_, s.Open(RouteTo({ntohs(a.sin_port)}), &failure)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  close(fd);
  EXPECT_EQ(failure.reply.rfind("421 4.4.2", 0), 0u) << failure.reply;
  EXPECT_NE(failure.reply.find("timed out"), std::string::npos) << failure.reply;
}

TEST_F(SmtpClientTest, SizeLimitIsCheckedBeforeSending) {
  int port = StartServer({"--size", "1000"});
  SmtpSession s(io_.get_executor(), *tls_, Options());
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({port}), &failure)));
  std::string big = "Subject: big\r\n\r\n" + std::string(2000, 'x') + "\r\n";
  OutgoingMessage m{"s@example.org", {"a@rcpt.test"}, &big};
  auto out = RunCo(io_, s.Send(m));
  EXPECT_EQ(out[0].reply.substr(0, 9), "552 5.3.4") << out[0].reply;
  std::string small = "Subject: small\r\n\r\nok\r\n";
  OutgoingMessage m2{"s@example.org", {"a@rcpt.test"}, &small};
  out = RunCo(io_, s.Send(m2));
  EXPECT_TRUE(out[0].accepted()) << out[0].reply;
}

TEST_F(SmtpClientTest, StartTlsOpportunisticAndRequired) {
  std::string cert = (dir_ / "cert.pem").string(), key = (dir_ / "key.pem").string();
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 -keyout " + key + " -out " + cert +
                    " >/dev/null 2>&1";
  if (system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl CLI not available";
  int port = StartServer({"--tls-cert", cert, "--tls-key", key});
  SmtpClientOptions o = Options();
  o.tls = TlsMode::kRequire;
  SmtpSession s(io_.get_executor(), *tls_, o);
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({port}), &failure))) << failure.reply;
  EXPECT_TRUE(s.tls_active());
  std::string body = "Subject: tls\r\n\r\nsecret\r\n";
  OutgoingMessage m{"s@example.org", {"a@rcpt.test"}, &body};
  EXPECT_TRUE(RunCo(io_, s.Send(m))[0].accepted());
  RunVoid(io_, s.Quit());
  EXPECT_EQ(Received(Outdir()).size(), 1u);

  // TLS off: plain text even though offered.
  o.tls = TlsMode::kOff;
  SmtpSession plain(io_.get_executor(), *tls_, o);
  ASSERT_TRUE(RunCo(io_, plain.Open(RouteTo({port}), &failure)));
  EXPECT_FALSE(plain.tls_active());
}

TEST_F(SmtpClientTest, RequireTlsFailsWhereItIsNotOffered) {
  int port = StartServer();  // no certificate: no STARTTLS
  SmtpClientOptions o = Options();
  o.tls = TlsMode::kRequire;
  SmtpSession s(io_.get_executor(), *tls_, o);
  RecipientOutcome failure;
  EXPECT_FALSE(RunCo(io_, s.Open(RouteTo({port}), &failure)));
  EXPECT_EQ(failure.reply.rfind("451 4.7.5", 0), 0u) << failure.reply;
  // Opportunistic goes ahead in plain text.
  SmtpSession t(io_.get_executor(), *tls_, Options());
  EXPECT_TRUE(RunCo(io_, t.Open(RouteTo({port}), &failure)));
  EXPECT_FALSE(t.tls_active());
}

TEST_F(SmtpClientTest, PipeliningWithSmtpSink) {
  if (!testing::HaveProgram("/usr/sbin/smtp-sink")) GTEST_SKIP() << "smtp-sink (postfix) not installed";
  fs::create_directories(dir_ / "dump");
  fs::permissions(dir_ / "dump", fs::perms::all);  // smtp-sink writes as nobody
  int port = StartSink({"-d", (dir_ / "dump" / "%H%M%S-").string()});
  SmtpSession s(io_.get_executor(), *tls_, Options());
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({port}), &failure))) << failure.reply;
  EXPECT_TRUE(s.pipelining());
  std::string body = "Subject: p\r\n\r\npipelined\r\n";
  for (int i = 0; i < 5; ++i) {
    OutgoingMessage m{"s@example.org", {"a@rcpt.test", "b@rcpt.test"}, &body};
    auto out = RunCo(io_, s.Send(m));
    EXPECT_TRUE(out[0].accepted() && out[1].accepted()) << out[0].reply;
  }
  EXPECT_EQ(s.messages_sent(), 5);
  RunVoid(io_, s.Quit());
  int dumped = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "dump")) dumped += e.is_regular_file();
  EXPECT_EQ(dumped, 5);
}

TEST_F(SmtpClientTest, HeloFallbackWhenEhloIsRefused) {
  if (!testing::HaveProgram("/usr/sbin/smtp-sink")) GTEST_SKIP() << "smtp-sink (postfix) not installed";
  int port = StartSink({"-e"});  // no ESMTP: EHLO is refused
  SmtpSession s(io_.get_executor(), *tls_, Options());
  RecipientOutcome failure;
  ASSERT_TRUE(RunCo(io_, s.Open(RouteTo({port}), &failure))) << failure.reply;
  EXPECT_FALSE(s.pipelining());
  std::string body = "Subject: h\r\n\r\nhelo\r\n";
  OutgoingMessage m{"s@example.org", {"a@rcpt.test"}, &body};
  EXPECT_TRUE(RunCo(io_, s.Send(m))[0].accepted());
}

TEST(DotStuff, StuffsLeadingDotsAndTerminates) {
  EXPECT_EQ(DotStuff("a\r\n.b\r\n"), "a\r\n..b\r\n.\r\n");
  EXPECT_EQ(DotStuff("no final newline"), "no final newline\r\n.\r\n");
  EXPECT_EQ(DotStuff(".\nx\n"), "..\r\nx\r\n.\r\n");
  EXPECT_EQ(DotStuff(""), ".\r\n");
}

}  // namespace
}  // namespace rebound::delivery
