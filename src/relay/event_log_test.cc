// The event log's sinks: a file reopened after a logrotate-style rename, a
// failed reopen keeping the old sink, and the journal priorities. The journal
// itself (native protocol on its socket) is tests/systemd/journal_test.py.
#include "relay/event_log.h"

#include <gtest/gtest.h>
#include <syslog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace rebound::relay {
namespace {

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rebound-event-log-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(EventLogTest, ReopenAfterRenameWritesToTheNewFile) {
  const std::string path = (dir_ / "serve.jsonl").string();
  std::unique_ptr<EventLog> log;
  ASSERT_TRUE(EventLog::Open(path, &log).ok());
  log->Write({{"event", "before"}});
  std::filesystem::rename(path, path + ".1");
  log->Write({{"event", "still_old"}});  // the renamed file, as logrotate expects until the SIGHUP
  ASSERT_TRUE(log->Reopen(path).ok());
  log->Write({{"event", "after"}});
  const std::string old_text = ReadAll(path + ".1"), new_text = ReadAll(path);
  EXPECT_NE(old_text.find("\"before\""), std::string::npos);
  EXPECT_NE(old_text.find("\"still_old\""), std::string::npos);
  EXPECT_EQ(old_text.find("\"after\""), std::string::npos);
  EXPECT_NE(new_text.find("\"after\""), std::string::npos);
  EXPECT_NE(new_text.find("\"ts\""), std::string::npos);
}

TEST_F(EventLogTest, FailedReopenKeepsTheOldFile) {
  const std::string path = (dir_ / "serve.jsonl").string();
  std::unique_ptr<EventLog> log;
  ASSERT_TRUE(EventLog::Open(path, &log).ok());
  Status s = log->Reopen((dir_ / "no-such-dir" / "x.jsonl").string());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-dir"), std::string::npos) << s.message();
  log->Write({{"event", "kept"}});
  EXPECT_NE(ReadAll(path).find("\"kept\""), std::string::npos);
}

TEST_F(EventLogTest, OpenFailsOnAnUnwritablePath) {
  std::unique_ptr<EventLog> log;
  EXPECT_FALSE(EventLog::Open((dir_ / "no-such-dir" / "x.jsonl").string(), &log).ok());
}

TEST(EventPriority, FromTheEventName) {
  EXPECT_EQ(EventPriority("reload_failed"), LOG_ERR);
  EXPECT_EQ(EventPriority("tls_failed"), LOG_WARNING);
  EXPECT_EQ(EventPriority("accept_error"), LOG_WARNING);
  EXPECT_EQ(EventPriority("listening"), LOG_NOTICE);
  EXPECT_EQ(EventPriority("reload"), LOG_NOTICE);
  EXPECT_EQ(EventPriority("auth"), LOG_INFO);
}

}  // namespace
}  // namespace rebound::relay
