// The VERP return path: what Encode makes Decode gives back, in any case;
// a changed MAC, id or domain does not verify; the key file is made once,
// 0600, and a damaged one is an error rather than silently replaced.
#include "inbound/return_path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/text.h"

namespace rebound::inbound {
namespace {

class ReturnPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rebound-rp-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_TRUE(ReturnPathCodec::LoadOrCreate(dir_ + "/return-path.key", &codec_).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::unique_ptr<ReturnPathCodec> codec_;
};

TEST_F(ReturnPathTest, RoundTripInAnyCase) {
  const std::string a = codec_->Encode(42, 4242, "Bounce.Example.COM");
  EXPECT_TRUE(a.starts_with("b-42-4242-")) << a;
  EXPECT_TRUE(a.ends_with("@bounce.example.com")) << a;
  ReturnPathIds ids;
  ASSERT_EQ(codec_->Decode(a, &ids), ReturnPathCheck::kOk);
  EXPECT_EQ(ids.message_id, 42);
  EXPECT_EQ(ids.recipient_id, 4242);
  EXPECT_EQ(ids.domain, "bounce.example.com");
  std::string upper = a;
  for (char& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  ASSERT_EQ(codec_->Decode(upper, &ids), ReturnPathCheck::kOk);
  EXPECT_EQ(ids.recipient_id, 4242);
}

TEST_F(ReturnPathTest, LocalPartFitsEvenForHugeIds) {
  const std::string a = codec_->Encode(999999999999999999, 999999999999999999, "b.example");
  EXPECT_LE(a.find('@'), 64u) << a;
  ReturnPathIds ids;
  EXPECT_EQ(codec_->Decode(a, &ids), ReturnPathCheck::kOk);
}

TEST_F(ReturnPathTest, ForgeriesDoNotVerify) {
  const std::string a = codec_->Encode(7, 9, "bounce.example.com");
  ReturnPathIds ids;
  // One hex digit of the MAC changed.
  std::string bad_mac = a;
  const size_t at = bad_mac.find('@');
  bad_mac[at - 1] = bad_mac[at - 1] == '0' ? '1' : '0';
  EXPECT_EQ(codec_->Decode(bad_mac, &ids), ReturnPathCheck::kBadMac);
  // Another recipient with this message's MAC (a replay aimed elsewhere).
  std::string other_id = a;
  other_id.replace(0, 5, "b-7-8");
  EXPECT_EQ(codec_->Decode(other_id, &ids), ReturnPathCheck::kBadMac);
  // The same local part on another domain.
  EXPECT_EQ(codec_->Decode(a.substr(0, at) + "@bounce.example.org", &ids), ReturnPathCheck::kBadMac);
  // Another key.
  ReturnPathCodec other(std::string(kReturnPathKeyBytes, 'k'));
  EXPECT_EQ(other.Decode(a, &ids), ReturnPathCheck::kBadMac);
}

TEST_F(ReturnPathTest, OtherAddressesAreNotReturnPaths) {
  ReturnPathIds ids;
  for (const char* a : {"postmaster@bounce.example.com", "b-1-2@x.example", "b-01-2-00000000000000000000@x.example",
                        "b-1-2-0000000000000000000g@x.example", "b-1-2-000@x.example", "b--2-00000000000000000000@x",
                        "b-1-2-00000000000000000000@", "", "@", "b-1-2-00000000000000000000"})
    EXPECT_EQ(codec_->Decode(a, &ids), ReturnPathCheck::kNotReturnPath) << a;
}

TEST_F(ReturnPathTest, KeyIsMadeOnceWithMode0600) {
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/return-path.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, static_cast<off_t>(kReturnPathKeyBytes));
  std::unique_ptr<ReturnPathCodec> again;
  ASSERT_TRUE(ReturnPathCodec::LoadOrCreate(dir_ + "/return-path.key", &again).ok());
  ReturnPathIds ids;
  EXPECT_EQ(again->Decode(codec_->Encode(1, 2, "d.example"), &ids), ReturnPathCheck::kOk);
}

TEST_F(ReturnPathTest, DamagedKeyIsAnError) {
  std::ofstream(dir_ + "/short.key") << "too short";
  std::unique_ptr<ReturnPathCodec> c;
  Status s = ReturnPathCodec::LoadOrCreate(dir_ + "/short.key", &c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("32 bytes"), std::string::npos) << s.message();
  EXPECT_FALSE(ReturnPathCodec::LoadOrCreate(dir_ + "/no/such/dir/key", &c).ok());
}

}  // namespace
}  // namespace rebound::inbound
