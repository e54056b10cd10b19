#include <gtest/gtest.h>
#include <zlib.h>

#include <deque>
#include <map>
#include <random>

#include "logs/gzip.h"
#include "logs/internal.h"
#include "rebound/log.h"

namespace rebound {
namespace {

// An event that owns its text: a reader's views only live until its next
// line, and the tests look at events after reading them all.
struct OwnedEvent : DeliveryEvent {
  std::string text[8];
  explicit OwnedEvent(const DeliveryEvent& e) : DeliveryEvent(e) {
    std::string_view* views[8] = {&queue_id, &from, &recipient, &relay_host, &relay_ip, &dsn, &diagnostic, &message_id};
    for (int i = 0; i < 8; ++i) {
      text[i].assign(*views[i]);
      *views[i] = text[i];
    }
  }
  OwnedEvent(const OwnedEvent&) = delete;
};

std::deque<OwnedEvent> ReadAll(LogReader* r, const std::vector<std::string>& lines,
                               std::vector<std::string>* keep_diag = nullptr) {
  std::deque<OwnedEvent> all;  // a deque never moves its elements
  std::vector<DeliveryEvent> out;
  for (const auto& l : lines) {
    out.clear();
    r->ReadLine(l, &out);
    for (auto& e : out) {
      if (keep_diag) keep_diag->push_back(std::string(e.diagnostic) + "|" + std::string(e.from) + "|" + std::string(e.recipient));
      all.emplace_back(e);
    }
  }
  return all;
}

const int64_t kRef = CivilToEpoch(2026, 11, 28, 0, 0, 0);

TEST(Time, CivilAndSyslogYears) {
  EXPECT_EQ(CivilToEpoch(1970, 1, 1, 0, 0, 0), 0);
  EXPECT_EQ(CivilToEpoch(2000, 3, 1, 0, 0, 0), 951868800);
  logs::YearResolver years(kRef);
  int64_t t = 0;
  ASSERT_EQ(logs::ParseSyslogTime("Nov 27 22:45:35 host", years, &t), 15u);
  EXPECT_EQ(t, CivilToEpoch(2026, 11, 27, 22, 45, 35));
  // December seen from a reference in November: last year.
  ASSERT_GT(logs::ParseSyslogTime("Dec 31 23:59:59 host", years, &t), 0u);
  EXPECT_EQ(t, CivilToEpoch(2025, 12, 31, 23, 59, 59));
  ASSERT_GT(logs::ParseSyslogTime("Nov  7 01:02:03 host", years, &t), 0u);
  EXPECT_EQ(t, CivilToEpoch(2026, 11, 7, 1, 2, 3));
  ASSERT_GT(logs::ParseSyslogTime("2026-11-27T22:45:35.123456+01:00 host", years, &t), 0u);
  EXPECT_EQ(t, CivilToEpoch(2026, 11, 27, 21, 45, 35));
  EXPECT_EQ(logs::ParseSyslogTime("Foo 27 22:45:35 host", years, &t), 0u);
  EXPECT_EQ(logs::ParseSyslogTime("Nov 27 25:45:35 host", years, &t), 0u);
}

TEST(Postfix, JoinsSenderAndClassifiesStatuses) {
  auto r = NewLogReader(LogFormat::kPostfix, {kRef});
  std::vector<std::string> diag;
  auto ev = ReadAll(r.get(),
                    {
                        "Nov 27 10:00:00 mx postfix/smtpd[10]: 4ABCD12345: client=localhost[127.0.0.1]",
                        "Nov 27 10:00:00 mx postfix/cleanup[11]: 4ABCD12345: message-id=<m1@example.org>",
                        "Nov 27 10:00:00 mx postfix/qmgr[12]: 4ABCD12345: from=<news@example.org>, size=1234, nrcpt=3 (queue active)",
                        "Nov 27 10:00:01 mx postfix/smtp[13]: 4ABCD12345: to=<bob@qq.com>, relay=mx1.qq.com[192.0.2.5]:25, delay=1.2, "
                        "delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx1.qq.com[192.0.2.5] said: 550 5.1.1 <bob@qq.com>: "
                        "Recipient address rejected: User unknown (in reply to RCPT TO command))",
                        "Nov 27 10:00:01 mx postfix/smtp[13]: 4ABCD12345: to=<amy@example.net>, relay=mx.example.net[192.0.2.6]:25, "
                        "delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9XYZ)",
                        "Nov 27 10:00:02 mx postfix/smtp[13]: 4ABCD12345: to=<cy@example.com>, relay=mx.example.com[192.0.2.7]:25, "
                        "delay=2, delays=0.1/0/1/0.9, dsn=4.7.1, status=deferred (host mx.example.com[192.0.2.7] said: 450 4.7.1 "
                        "Greylisted, try again later (in reply to RCPT TO command))",
                        "Nov 27 10:00:03 mx postfix/local[14]: 5BCDE23456: to=<root@mx.local>, relay=local, delay=0.01, "
                        "delays=0/0/0/0, dsn=5.1.1, status=bounced (unknown user: \"root\")",
                        "this is not a syslog line",
                        "Nov 27 10:00:04 mx postfix/smtpd[10]: disconnect from localhost[127.0.0.1]",
                    },
                    &diag);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].status, DeliveryStatus::kBounced);
  EXPECT_EQ(ev[0].recipient, "bob@qq.com");
  EXPECT_EQ(ev[0].RecipientDomain(), "qq.com");
  EXPECT_EQ(ev[0].relay_host, "mx1.qq.com");
  EXPECT_EQ(ev[0].relay_ip, "192.0.2.5");
  EXPECT_EQ(ev[0].dsn, "5.1.1");
  EXPECT_DOUBLE_EQ(ev[0].delay, 1.2);
  EXPECT_EQ(ev[0].time, CivilToEpoch(2026, 11, 27, 10, 0, 1));
  EXPECT_EQ(diag[0], "host mx1.qq.com[192.0.2.5] said: 550 5.1.1 <bob@qq.com>: Recipient address rejected: User unknown "
                     "(in reply to RCPT TO command)|news@example.org|bob@qq.com");
  EXPECT_EQ(ev[1].status, DeliveryStatus::kSent);
  EXPECT_EQ(ev[2].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(ev[3].relay_host, "local");
  // A local delivery's diagnostic has no code: the classifier gets dsn= too.
  std::string buf;
  EXPECT_EQ(ClassifierInput(ev[3], &buf), "5.1.1 unknown user: \"root\"");
  EXPECT_EQ(r->stats().lines, 9u);
  EXPECT_EQ(r->stats().events, 4u);
  EXPECT_EQ(r->stats().garbled, 1u);
}

TEST(Postfix, ExpiredYieldsTheDeferredRecipients) {
  auto r = NewLogReader(LogFormat::kPostfix, {kRef});
  std::vector<std::string> diag;
  auto ev = ReadAll(r.get(),
                    {
                        "2026-11-27T10:00:00.000000+00:00 mx postfix/qmgr[1]: 7AAAA11111: from=<s@example.org>, size=10, nrcpt=2 (queue active)",
                        "2026-11-27T10:00:01.000000+00:00 mx postfix/smtp[2]: 7AAAA11111: to=<a@x.example>, relay=none, delay=1, "
                        "delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to x.example[192.0.2.9]:25: Connection refused)",
                        "2026-11-27T10:00:01.000000+00:00 mx postfix/smtp[2]: 7AAAA11111: to=<b@x.example>, relay=none, delay=1, "
                        "delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to x.example[192.0.2.9]:25: Connection refused)",
                        "2026-11-27T15:00:00.000000+00:00 mx postfix/qmgr[1]: 7AAAA11111: from=<s@example.org>, status=expired, returned to sender",
                        "2026-11-27T15:00:00.000000+00:00 mx postfix/qmgr[1]: 7AAAA11111: removed",
                    },
                    &diag);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[2].status, DeliveryStatus::kExpired);
  EXPECT_EQ(ev[3].status, DeliveryStatus::kExpired);
  EXPECT_EQ(diag[2], "connect to x.example[192.0.2.9]:25: Connection refused|s@example.org|a@x.example");
  EXPECT_EQ(diag[3], "connect to x.example[192.0.2.9]:25: Connection refused|s@example.org|b@x.example");
}

TEST(Postfix, BoundedQueueTable) {
  LogReaderOptions o;
  o.reference_time = kRef;
  o.max_open_queue_ids = 4;
  auto r = NewLogReader(LogFormat::kPostfix, o);
  std::vector<DeliveryEvent> out;
  for (int i = 0; i < 100; ++i) {
    std::string id = "ABCDE" + std::to_string(10000 + i);
    r->ReadLine("Nov 27 10:00:00 mx postfix/qmgr[1]: " + id + ": from=<s" + std::to_string(i) + "@x>, size=1, nrcpt=1 (queue active)", &out);
  }
  out.clear();
  r->ReadLine("Nov 27 10:00:00 mx postfix/smtp[1]: ABCDE10099: to=<a@b>, relay=none, delay=0, dsn=2.0.0, status=sent (ok)", &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].from, "s99@x");
  out.clear();
  r->ReadLine("Nov 27 10:00:00 mx postfix/smtp[1]: ABCDE10000: to=<a@b>, relay=none, delay=0, dsn=2.0.0, status=sent (ok)", &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].from, "");  // forgotten
}

// Thousands of queue ids opened and removed in random order: every open id
// keeps its sender, every removed one is gone (the index moves entries back
// when it deletes; a mistake there loses or confuses ids).
TEST(Postfix, QueueIdsSurviveRandomRemovals) {
  LogReaderOptions o;
  o.reference_time = kRef;
  auto r = NewLogReader(LogFormat::kPostfix, o);
  std::vector<DeliveryEvent> out;
  std::mt19937 rng(42);
  std::map<std::string, std::string> open;  // id -> sender
  std::vector<std::string> removed;
  auto id_of = [](int i) {
    char buf[16];
    snprintf(buf, sizeof buf, "%X", 0x3A0000 + i * 7919);
    return std::string(buf) + "F";
  };
  for (int i = 0; i < 6000; ++i) {
    const std::string id = id_of(i), from = "s" + std::to_string(i) + "@x.example";
    r->ReadLine("Nov 27 10:00:00 mx postfix/qmgr[1]: " + id + ": from=<" + from + ">, size=1, nrcpt=1 (queue active)", &out);
    open[id] = from;
    if (rng() % 3 == 0) {  // remove a random open id
      auto it = open.begin();
      std::advance(it, rng() % open.size());
      r->ReadLine("Nov 27 10:00:00 mx postfix/qmgr[1]: " + it->first + ": removed", &out);
      removed.push_back(it->first);
      open.erase(it);
    }
  }
  ASSERT_GT(open.size(), 3000u);
  for (const auto& [id, from] : open) {
    out.clear();
    r->ReadLine("Nov 27 10:00:01 mx postfix/smtp[1]: " + id + ": to=<a@b>, relay=none, delay=0, dsn=2.0.0, status=sent (ok)", &out);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].from, from) << id;
  }
  for (const auto& id : removed) {
    out.clear();
    r->ReadLine("Nov 27 10:00:01 mx postfix/smtp[1]: " + id + ": to=<a@b>, relay=none, delay=0, dsn=2.0.0, status=sent (ok)", &out);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].from, "") << id;
  }
}

TEST(Exim, ArrivalDeliveryDeferBounce) {
  auto r = NewLogReader(LogFormat::kExim);
  std::vector<std::string> diag;
  auto ev = ReadAll(r.get(),
                    {
                        "2026-11-27 10:00:00 1tAbCd-000AbC-Xy <= news@example.org H=localhost [127.0.0.1] P=esmtp S=2345 id=m2@example.org",
                        "2026-11-27 10:00:01 1tAbCd-000AbC-Xy => amy@example.net R=dnslookup T=remote_smtp H=mx.example.net [192.0.2.6] "
                        "X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no C=\"250 2.0.0 Ok: queued as 1234\"",
                        "2026-11-27 10:00:01 1tAbCd-000AbC-Xy == cy@example.com R=dnslookup T=remote_smtp defer (-44) H=mx.example.com "
                        "[192.0.2.7]: SMTP error from remote mail server after RCPT TO:<cy@example.com>: 451 4.7.1 Greylisted",
                        "2026-11-27 10:00:01 +0100 [4242] 1tAbCd-000AbC-Xy ** bob@qq.com R=dnslookup T=remote_smtp H=mx1.qq.com [192.0.2.5]: "
                        "SMTP error from remote mail server after RCPT TO:<bob@qq.com>: 550 5.1.1 user unknown",
                        "2026-11-27 10:00:02 1tAbCd-000AbC-Xy ** nobody@nowhere.invalid: Unrouteable address",
                        "2026-11-27 10:00:03 1tAbCd-000AbC-Xy Completed",
                        "2026-11-27 10:00:04 SMTP connection from localhost [127.0.0.1] closed by QUIT",
                    },
                    &diag);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].status, DeliveryStatus::kSent);
  EXPECT_EQ(ev[0].relay_ip, "192.0.2.6");
  EXPECT_EQ(ev[0].size, 2345);
  EXPECT_EQ(ev[0].message_id, "m2@example.org");
  EXPECT_EQ(ev[1].status, DeliveryStatus::kDeferred);
  EXPECT_EQ(diag[1],
            "SMTP error from remote mail server after RCPT TO:<cy@example.com>: 451 4.7.1 Greylisted|news@example.org|cy@example.com");
  EXPECT_EQ(ev[2].status, DeliveryStatus::kBounced);
  EXPECT_EQ(ev[2].time, CivilToEpoch(2026, 11, 27, 9, 0, 1));
  EXPECT_EQ(ev[3].recipient, "nobody@nowhere.invalid");
  EXPECT_EQ(diag[3], "Unrouteable address|news@example.org|nobody@nowhere.invalid");
  EXPECT_EQ(r->stats().ignored, 3u);
}

TEST(Sendmail, SeveralRecipientsAndStat) {
  auto r = NewLogReader(LogFormat::kSendmail, {kRef});
  std::vector<std::string> diag;
  auto ev = ReadAll(r.get(),
                    {
                        "Nov 27 10:00:00 mx sm-mta[100]: 4ARA00aa000001: from=<news@example.org>, size=999, class=0, nrcpts=2, "
                        "msgid=<m3@example.org>, proto=ESMTP, daemon=MTA, relay=localhost [127.0.0.1]",
                        "Nov 27 10:00:01 mx sm-mta[101]: 4ARA00aa000001: to=<bob@qq.com>,<al@qq.com>, delay=00:00:01, xdelay=00:00:01, "
                        "mailer=esmtp, pri=120999, relay=mx1.qq.com. [192.0.2.5], dsn=5.1.1, stat=User unknown",
                        "Nov 27 10:00:01 mx sm-mta[101]: 4ARA00aa000001: to=<cy@example.com>, delay=1+00:00:01, xdelay=00:00:01, "
                        "mailer=esmtp, pri=120999, relay=mx.example.com. [192.0.2.7], dsn=4.7.1, stat=Deferred: 451 4.7.1 Greylisted",
                        "Nov 27 10:00:01 mx sm-mta[101]: 4ARA00aa000001: to=<amy@example.net>, delay=00:00:01, xdelay=00:00:01, "
                        "mailer=esmtp, pri=120999, relay=mx.example.net. [192.0.2.6], dsn=2.0.0, stat=Sent (Ok queued as X)",
                    },
                    &diag);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].recipient, "bob@qq.com");
  EXPECT_EQ(ev[1].recipient, "al@qq.com");
  EXPECT_EQ(ev[0].status, DeliveryStatus::kBounced);
  EXPECT_EQ(ev[0].relay_host, "mx1.qq.com");
  EXPECT_EQ(ev[0].relay_ip, "192.0.2.5");
  std::string buf;
  EXPECT_EQ(ClassifierInput(ev[0], &buf), "5.1.1 User unknown");
  EXPECT_EQ(ev[2].status, DeliveryStatus::kDeferred);
  EXPECT_DOUBLE_EQ(ev[2].delay, 86401);
  EXPECT_EQ(diag[2], "451 4.7.1 Greylisted|news@example.org|cy@example.com");
  EXPECT_EQ(ev[3].status, DeliveryStatus::kSent);
}

TEST(Sendmail, NoDsnDoesNotThrow) {  // found by fuzz_logs
  auto r = NewLogReader(LogFormat::kSendmail, {kRef});
  std::vector<DeliveryEvent> out;
  r->ReadLine("Nov 27 10:00:01 mx sm-mta[101]: 4ARA00aa000001: to=<bob@qq.com>, delay=00\xc1\xc1!5.1.1, stat=Tser unknown", &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, DeliveryStatus::kBounced);
}

TEST(Kumo, Records) {
  auto r = NewLogReader(LogFormat::kKumo);
  std::vector<std::string> diag;
  auto ev = ReadAll(
      r.get(),
      {
          R"({"type":"Bounce","id":"abc","sender":"news@example.org","recipient":"bob@qq.com","queue":"qq.com","site":"mx.qq.com","size":12,)"
          R"("response":{"code":550,"enhanced_code":{"class":5,"subject":1,"detail":1},"content":"user unknown","command":"RCPT TO"},)"
          R"("peer_address":{"name":"mx1.qq.com","addr":"192.0.2.5"},"timestamp":1800000000,"created":1799999990})",
          R"({"type":"Reception","id":"abd","sender":"a@b","recipient":"c@d","timestamp":1800000000})",
          R"({"type":"Delivery","recipient":5})",
          R"({"no":"type"})",
          "{broken json",
      },
      &diag);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].status, DeliveryStatus::kBounced);
  EXPECT_EQ(diag[0], "550 5.1.1 user unknown|news@example.org|bob@qq.com");
  EXPECT_EQ(ev[0].delay, 10);
  EXPECT_EQ(ev[0].relay_ip, "192.0.2.5");
  EXPECT_EQ(r->stats().garbled, 3u);
  EXPECT_EQ(r->stats().ignored, 1u);
}

TEST(PowerMta, HeaderAndQuotedCells) {
  auto r = NewLogReader(LogFormat::kPowerMta);
  std::vector<std::string> diag;
  auto ev = ReadAll(r.get(),
                    {
                        "type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,dlvSize,jobId",
                        "b,2026-11-27 10:00:01-0000,2026-11-27 10:00:00-0000,news@example.org,bob@qq.com,,failed,5.1.1 (bad destination "
                        "mailbox address),\"smtp;550 5.1.1 user unknown, \"\"bob\"\"\",mx1.qq.com (192.0.2.5),bad-mailbox,1234,job7",
                        "d,2026-11-27 10:00:02-0000,2026-11-27 10:00:00-0000,news@example.org,amy@example.net,,relayed,2.0.0 (success),"
                        "smtp;250 ok,mx.example.net (192.0.2.6),,1234,job7",
                        "x,not a time,",
                    },
                    &diag);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].status, DeliveryStatus::kBounced);
  EXPECT_EQ(ev[0].dsn, "5.1.1");
  EXPECT_EQ(diag[0], "550 5.1.1 user unknown, \"bob\"|news@example.org|bob@qq.com");
  EXPECT_EQ(ev[0].relay_host, "mx1.qq.com");
  EXPECT_EQ(ev[0].relay_ip, "192.0.2.5");
  EXPECT_EQ(ev[0].delay, 1);
  EXPECT_EQ(ev[0].size, 1234);
  EXPECT_EQ(ev[1].status, DeliveryStatus::kSent);
  EXPECT_EQ(r->stats().ignored, 2u);  // the header and the unknown record type
}

TEST(Detect, Formats) {
  EXPECT_EQ(DetectLogFormat("Nov 27 10:00:00 mx postfix/qmgr[1]: ABCDE12345: removed\n"
                            "Nov 27 10:00:00 mx dovecot: imap-login: Login\n"),
            LogFormat::kPostfix);
  EXPECT_EQ(DetectLogFormat("2026-11-27 10:00:00 1tAbCd-000AbC-Xy <= a@b H=x [1.2.3.4] S=1\n"), LogFormat::kExim);
  EXPECT_EQ(DetectLogFormat("Nov 27 10:00:00 mx sm-mta[1]: 4ARA00aa000001: from=<a@b>, size=1\n"), LogFormat::kSendmail);
  EXPECT_EQ(DetectLogFormat("{\"type\":\"Delivery\",\"recipient\":\"a@b\"}\n"), LogFormat::kKumo);
  EXPECT_EQ(DetectLogFormat("type,timeLogged,timeQueued,orig,rcpt\n"), LogFormat::kPowerMta);
  EXPECT_EQ(DetectLogFormat("hello world\nthis is a text file\n"), LogFormat::kUnknown);
  EXPECT_EQ(DetectLogFormat(""), LogFormat::kUnknown);
  EXPECT_EQ(DetectLogFormat(std::string(5000, '\0')), LogFormat::kUnknown);
}

TEST(LineSplitter, BlocksAndOversizedLines) {
  LineSplitter split(16);
  std::vector<std::pair<std::string, bool>> got;
  auto sink = [&](std::string_view l, bool over) { got.emplace_back(std::string(l), over); };
  split.Feed("ab", sink);
  split.Feed("c\r\nde", sink);
  split.Feed("f\n0123456789abcdefXYZ", sink);
  split.Feed("more\nlast", sink);
  split.Finish(sink);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], std::make_pair(std::string("abc"), false));
  EXPECT_EQ(got[1], std::make_pair(std::string("def"), false));
  EXPECT_EQ(got[2], std::make_pair(std::string("0123456789abcdef"), true));
  EXPECT_EQ(got[3], std::make_pair(std::string("last"), false));
}

TEST(Readers, JunkNeverCrashes) {
  std::mt19937 rng(42);
  for (LogFormat f : {LogFormat::kPostfix, LogFormat::kExim, LogFormat::kSendmail, LogFormat::kKumo, LogFormat::kPowerMta}) {
    auto r = NewLogReader(f, {kRef});
    std::vector<DeliveryEvent> out;
    for (int i = 0; i < 2000; ++i) {
      std::string junk(rng() % 300, '\0');
      for (char& c : junk) c = static_cast<char>(rng());
      out.clear();
      r->ReadLine(junk, &out);
    }
    std::string huge(10 << 20, 'x');
    r->ReadLine(huge, &out);
    EXPECT_EQ(r->stats().lines, 2001u) << LogFormatName(f);
  }
}

std::string Gzip(std::string_view data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = data.size();
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = out.size();
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Gzip, ConcatenatedAndTruncated) {
  const std::string gz = Gzip("hello\n") + Gzip("world\n");
  ASSERT_TRUE(logs::LooksGzipped(gz));
  std::string out;
  logs::GzipInflater in;
  for (size_t i = 0; i < gz.size(); i += 3) ASSERT_TRUE(in.Feed(std::string_view(gz).substr(i, 3), [&](std::string_view s) { out.append(s); }));
  EXPECT_TRUE(in.Finish());
  EXPECT_EQ(out, "hello\nworld\n");

  logs::GzipInflater cut;
  std::string part;
  ASSERT_TRUE(cut.Feed(std::string_view(gz).substr(0, gz.size() / 2 - 4), [&](std::string_view s) { part.append(s); }));
  EXPECT_FALSE(cut.Finish());
  EXPECT_NE(cut.error().find("truncated"), std::string::npos);

  logs::GzipInflater bad;
  std::string junk = gz;
  for (size_t i = 12; i < 20 && i < junk.size(); ++i) junk[i] = char(0xff);
  std::string ignored;
  const bool ok = bad.Feed(junk, [&](std::string_view s) { ignored.append(s); }) && bad.Finish();
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace rebound
