// The configuration mechanism on real TOML files.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace rebound::relay {
namespace {

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/rebound-config-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(Config, DefaultsAndOverrides) {
  Config c;
  EXPECT_EQ(c.String("server.listen"), "127.0.0.1:2525");
  EXPECT_EQ(c.Int("server.max_recipients"), 100);
  EXPECT_TRUE(c.Bool("server.auth_requires_tls"));
  std::string path = WriteTemp("[server]\nmax_recipients = 5\nlisten = \"127.0.0.1:2600\"\n");
  ASSERT_TRUE(Config::Load(path, &c).ok());
  EXPECT_EQ(c.Int("server.max_recipients"), 5);
  EXPECT_EQ(c.String("server.listen"), "127.0.0.1:2600");
  EXPECT_EQ(c.Int("server.max_message_size"), 15728640);  // untouched keys keep defaults
  EXPECT_TRUE(c.Set("server.data_dir", "/tmp/x").ok());
  EXPECT_FALSE(c.Set("server.max_errors", "ten").ok());
  EXPECT_FALSE(c.Set("server.nope", "1").ok());
  remove(path.c_str());
}

// [classifier] rules: an array of strings; the command line adds items.
TEST(Config, StringLists) {
  Config c;
  EXPECT_TRUE(c.StringList("classifier.rules").empty());
  std::string path = WriteTemp("[classifier]\nrules = [\"/etc/rebound/local.toml\", \"rules.d\"]\n");
  ASSERT_TRUE(Config::Load(path, &c).ok());
  ASSERT_TRUE(c.Set("classifier.rules", "extra.toml").ok());
  EXPECT_EQ(c.StringList("classifier.rules"),
            (std::vector<std::string>{"/etc/rebound/local.toml", "rules.d", "extra.toml"}));
  remove(path.c_str());
  path = WriteTemp("[classifier]\nrules = \"one.toml\"\n");
  Status s = Config::Load(path, &c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("classifier.rules: expected an array of strings"), std::string::npos) << s.message();
  remove(path.c_str());
  EXPECT_NE(Config::DefaultsToml().find("rules = []"), std::string::npos);
}

TEST(Config, ErrorsNameFileAndLine) {
  std::string path = WriteTemp("[server]\nthreads = \"two\"\nbogus = 1\n");
  Config c;
  Status s = Config::Load(path, &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path + ":2: server.threads: expected an integer"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(path + ":3: unknown key 'server.bogus'"), std::string::npos) << s.message();
  remove(path.c_str());
  path = WriteTemp("[server\n");
  EXPECT_FALSE(Config::Load(path, &c).ok());
  remove(path.c_str());
}

TEST(Config, UserKeyedTables) {
  RegisterConfigKeys({{"testroutes.*", ConfigKey::Type::kString, "HOST:PORT", "Route per domain"}});
  std::string path = WriteTemp("[testroutes]\n\"example.test\" = \"127.0.0.1:2626\"\n\"*\" = \"smart:25\"\n");
  Config c;
  Status s = Config::Load(path, &c);
  ASSERT_TRUE(s.ok()) << s.message();
  auto routes = c.Section("testroutes");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes["example.test"], "127.0.0.1:2626");
  EXPECT_EQ(routes["*"], "smart:25");
  remove(path.c_str());
  path = WriteTemp("[testroutes]\n\"example.test\" = 5\n");
  EXPECT_FALSE(Config::Load(path, &c).ok());
  remove(path.c_str());
  // The defaults document shows the table's shape and stays loadable.
  std::string defaults = Config::DefaultsToml();
  EXPECT_NE(defaults.find("[testroutes]"), std::string::npos);
  path = WriteTemp(defaults);
  EXPECT_TRUE(Config::Load(path, &c).ok());
  EXPECT_TRUE(c.Section("testroutes").empty());
  remove(path.c_str());
}

}  // namespace
}  // namespace rebound::relay
