// Routing through the real c-ares resolver code against a dnsmasq the test
// starts on loopback with its own zone (MX, null MX, NXDOMAIN, no data,
// SERVFAIL, timeouts), plus static routes.
#include "delivery/dns.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace rebound::delivery {
namespace {

using testing::FreePort;
using testing::Subprocess;

class DnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::HaveProgram("/usr/sbin/dnsmasq")) StartDnsmasq();
  }
  // dnsmasq also binds TCP on its port, which a test running in parallel may
  // hold: then it exits at once, and SetUp starts it again on another port.
  static void StartDnsmasq() {
    delete dnsmasq_;
    port_ = FreePort(SOCK_DGRAM);
    do dead_port_ = FreePort(SOCK_DGRAM);
    while (dead_port_ == port_);
    dnsmasq_ = new Subprocess({"/usr/sbin/dnsmasq", "--no-daemon", "--port=" + std::to_string(port_),
                               "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                               "--pid-file=", "--user=root",
                               // two MX hosts, preference 10 then 20
                               "--mx-host=mx.test,mx1.mx.test,10", "--mx-host=mx.test,mx2.mx.test,20",
                               "--host-record=mx1.mx.test,127.0.0.1", "--host-record=mx2.mx.test,127.0.0.2",
                               // the first MX does not resolve: fall back to the next
                               "--mx-host=partial.test,gone.nx.test,5", "--mx-host=partial.test,mx2.mx.test,10",
                               // no MX, an A record: implicit MX
                               "--host-record=implicit.loc.test,127.0.0.3", "--local=/loc.test/",
                               // RFC 7505 null MX: preference 0, exchange "."
                               "--dns-rr=nullmx.test,15,000000",
                               // exists, but only TXT
                               "--txt-record=nodata.loc.test,hello",
                               "--local=/nx.test/",
                               // forwarded to a port where nobody listens: SERVFAIL/REFUSED
                               "--server=/servfail.test/127.0.0.1#" + std::to_string(dead_port_)},
                              "/tmp/rebound-dns-test-dnsmasq.log");
  }
  static void TearDownTestSuite() {
    delete dnsmasq_;
    dnsmasq_ = nullptr;
  }
  void SetUp() override {
    if (!dnsmasq_) GTEST_SKIP() << "dnsmasq not installed (scripts/install-deps.sh --with-tests)";
    // Wait until dnsmasq answers (it may be slow to start on a loaded machine).
    for (int i = 0; i < 300; ++i) {
      if (!dnsmasq_->Running()) StartDnsmasq();
      if (!resolver_ || resolver_port_ != port_) {
        ASSERT_NO_FATAL_FAILURE(MakeResolver());
      }
      if (resolver_->Resolve("mx.test").status == RouteStatus::kOk) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "dnsmasq did not come up on port " << port_ << " (see /tmp/rebound-dns-test-dnsmasq.log)";
  }
  void MakeResolver() {
    ResolverOptions o;
    o.servers = "127.0.0.1:" + std::to_string(port_);
    o.timeout_ms = 500;
    o.tries = 2;
    o.smtp_port = 2525;
    o.cache_seconds = 0;
    ASSERT_TRUE(Resolver::Create(o, &resolver_).ok());
    resolver_port_ = port_;
  }

  static inline Subprocess* dnsmasq_ = nullptr;
  static inline int port_ = 0, dead_port_ = 0;
  std::unique_ptr<Resolver> resolver_;
  int resolver_port_ = 0;
};

TEST_F(DnsTest, MxInPreferenceOrder) {
  Route r = resolver_->Resolve("MX.test.");
  ASSERT_EQ(r.status, RouteStatus::kOk) << r.detail;
  ASSERT_EQ(r.hosts.size(), 2u);
  EXPECT_EQ(r.hosts[0].name, "mx1.mx.test");
  EXPECT_EQ(r.hosts[0].preference, 10);
  EXPECT_EQ(r.hosts[0].port, 2525);
  ASSERT_EQ(r.hosts[0].addresses.size(), 1u);
  EXPECT_EQ(r.hosts[0].addresses[0], "127.0.0.1");
  EXPECT_EQ(r.hosts[1].name, "mx2.mx.test");
  EXPECT_EQ(r.hosts[1].addresses.at(0), "127.0.0.2");
  EXPECT_FALSE(r.static_route);
}

TEST_F(DnsTest, UnresolvableMxFallsBackToTheNext) {
  Route r = resolver_->Resolve("partial.test");
  ASSERT_EQ(r.status, RouteStatus::kOk) << r.detail;
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0].name, "mx2.mx.test");
}

TEST_F(DnsTest, ImplicitMx) {
  Route r = resolver_->Resolve("implicit.loc.test");
  ASSERT_EQ(r.status, RouteStatus::kOk) << r.detail;
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0].name, "implicit.loc.test");
  EXPECT_EQ(r.hosts[0].addresses.at(0), "127.0.0.3");
}

TEST_F(DnsTest, NullMxIsPermanent) {
  Route r = resolver_->Resolve("nullmx.test");
  EXPECT_EQ(r.status, RouteStatus::kNullMx) << r.detail;
  EXPECT_EQ(r.failure(), RelayFailure::kNullMx);
}

TEST_F(DnsTest, NxDomain) {
  Route r = resolver_->Resolve("nobody.nx.test");
  EXPECT_EQ(r.status, RouteStatus::kNotFound) << r.detail;
  EXPECT_EQ(RelayFailureReply(r.failure()), "524 Host not found by dns resolve");
}

TEST_F(DnsTest, NoData) {
  Route r = resolver_->Resolve("nodata.loc.test");
  EXPECT_EQ(r.status, RouteStatus::kNoData) << r.detail;
  EXPECT_EQ(RelayFailureReply(r.failure()), "526 No data by dns resolve");
}

TEST_F(DnsTest, ServfailIsTemporary) {
  Route r = resolver_->Resolve("x.servfail.test");
  EXPECT_EQ(r.status, RouteStatus::kTemporary) << r.detail;
  EXPECT_EQ(RelayFailureReply(r.failure()), "423 Dns resolve error");
}

TEST_F(DnsTest, SilentServerTimesOutAsTemporary) {
  // A UDP socket that never answers.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ResolverOptions o;
  o.servers = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  o.timeout_ms = 200;
  o.tries = 1;
  std::unique_ptr<Resolver> r;
  ASSERT_TRUE(Resolver::Create(o, &r).ok());
  auto start = std::chrono::steady_clock::now();
  Route route = r->Resolve("mx.test");
  auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  EXPECT_EQ(route.status, RouteStatus::kTemporary);
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST_F(DnsTest, StaticRoutesWinOverDns) {
  ResolverOptions o;
  o.servers = "127.0.0.1:" + std::to_string(port_);
  o.routes = {{"Example.test", "127.0.0.1:2626"}, {"v6.test", "[::1]:2727"}, {"named.test", "mx2.mx.test:2828"}};
  std::unique_ptr<Resolver> r;
  ASSERT_TRUE(Resolver::Create(o, &r).ok());
  Route a = r->Resolve("example.TEST");
  ASSERT_EQ(a.status, RouteStatus::kOk);
  EXPECT_TRUE(a.static_route);
  EXPECT_EQ(a.hosts.at(0).port, 2626);
  EXPECT_EQ(a.hosts.at(0).addresses.at(0), "127.0.0.1");
  Route b = r->Resolve("v6.test");
  EXPECT_EQ(b.hosts.at(0).addresses.at(0), "::1");
  EXPECT_EQ(b.hosts.at(0).port, 2727);
  Route c = r->Resolve("named.test");
  ASSERT_EQ(c.status, RouteStatus::kOk) << c.detail;
  EXPECT_EQ(c.hosts.at(0).addresses.at(0), "127.0.0.2");
  // Not routed: DNS as usual.
  EXPECT_EQ(r->Resolve("mx.test").hosts.size(), 2u);

  // A smart host takes everything.
  o.routes = {{"*", "127.0.0.9:2525"}};
  ASSERT_TRUE(Resolver::Create(o, &r).ok());
  EXPECT_EQ(r->Resolve("anything.nx.test").hosts.at(0).addresses.at(0), "127.0.0.9");
}

TEST(DnsConfig, BadRouteIsAnError) {
  ResolverOptions o;
  o.routes = {{"example.test", "host:99999"}};
  std::unique_ptr<Resolver> r;
  Status s = Resolver::Create(o, &r);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("example.test"), std::string::npos);
  std::string host;
  uint16_t port;
  EXPECT_TRUE(ParseHostPort("mx.example:2525", 25, &host, &port));
  EXPECT_EQ(port, 2525);
  EXPECT_FALSE(ParseHostPort(":25", 25, &host, &port));
  EXPECT_FALSE(ParseHostPort("[::1", 25, &host, &port));
}

}  // namespace
}  // namespace rebound::delivery
