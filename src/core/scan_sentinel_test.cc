// scan_sentinel: a rewritten pattern over kStart + text + kEnd must match
// exactly where the pattern as written matches over the text.
#include "core/scan_sentinel.h"

#include <gtest/gtest.h>
#include <hs/hs.h>

#include <string>
#include <vector>

namespace rebound::scan_sentinel {
namespace {

constexpr unsigned kFlags = HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH;

// A pattern compiled as the classifier compiles it.
class Compiled {
 public:
  explicit Compiled(const std::string& pattern) {
    hs_compile_error_t* err = nullptr;
    if (hs_compile(pattern.c_str(), kFlags, HS_MODE_BLOCK, nullptr, &db_, &err) != HS_SUCCESS) {
      ADD_FAILURE() << pattern << ": " << err->message;
      hs_free_compile_error(err);
      return;
    }
    hs_alloc_scratch(db_, &scratch_);
  }
  ~Compiled() {
    hs_free_scratch(scratch_);
    hs_free_database(db_);
  }
  // Whether it matches anywhere in text.
  bool Matches(std::string_view text) const {
    bool found = false;
    if (db_)
      hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch_,
              [](unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
                *static_cast<bool*>(ctx) = true;
                return 0;
              },
              &found);
    return found;
  }

 private:
  hs_database_t* db_ = nullptr;
  hs_scratch_t* scratch_ = nullptr;
};

TEST(ScanSentinel, RewritesBoundariesAtTheEndsOfBranches) {
  EXPECT_EQ(Rewrite(R"(\b(user|mailbox)\b|\bquota)"), R"([^\w](user|mailbox)[^\w]|[^\w]quota)");
  // The first byte may be a non-word one: the boundary moves into each
  // branch of the group, and stays where the branch starts with one.
  EXPECT_EQ(Rewrite(R"(\b(user|@x)\b)"), R"(([^\w]user|\b@x)[^\w])");
  EXPECT_EQ(Rewrite(R"(\b(?:user|@x|x@)\b)"), R"((?:[^\w]user[^\w]|\b@x[^\w]|[^\w]x@\b))");
  EXPECT_EQ(Rewrite(R"(\b(user|@x)s\b)"), R"(([^\w]user|\b@x)s[^\w])");
  // A quantified group may match nothing: left alone.
  EXPECT_EQ(Rewrite(R"(\b(user|@x)?s)"), R"(\b(user|@x)?s)");
  EXPECT_EQ(Rewrite(R"(\b(-e)?mail\b)"), R"(\b(-e)?mail[^\w])");
  EXPECT_EQ(Rewrite(R"(\b(e-)?mail\b)"), R"([^\w](e-)?mail[^\w])");
  EXPECT_EQ(Rewrite(R"(\bover ?quota\b)"), R"([^\w]over ?quota[^\w])");
  // Inside a group: left alone.
  EXPECT_EQ(Rewrite(R"(x(\bfoo\b))"), R"(x(\bfoo\b))");
}

TEST(ScanSentinel, KeepsTheSentinelsOutOfDotsAndNegatedClasses) {
  EXPECT_EQ(Rewrite(R"(^a.b$)"), R"(\xffa[^\xfe\xff]b\xfe)");
  EXPECT_EQ(Rewrite(R"([^\w@/-]x)"), R"([^\xfe\xff\w@/-]x)");
  EXPECT_EQ(Rewrite(R"([^]a]\S\W)"), R"([^\xfe\xff\]a][^\xfe\xff\s][^\xfe\xff\w])");
}

TEST(ScanSentinel, LeavesUnknownConstructsAlone) {
  for (const char* p : {R"((?i)x)", R"(\x41)", R"([[:alpha:]])", R"(a\Bb)", R"([\W])", R"(a{,3})", "\xff", R"(\p{L})"})
    EXPECT_FALSE(Rewrite(p)) << p;
}

TEST(ScanSentinel, MeansWhatThePatternMeant) {
  const std::vector<std::string> patterns = {
      R"(\b(recipients?|users?|(e-?mail|to) address(es)?)([^\w@]|$))",
      R"(\bunknown\b|\bno such (user|mailbox)\b)",
      R"(\b(x{1,3}|#{1,3})(\.(x{1,3}|\d{1,3})){3}([^\w.]|$)|(^|[^\w.])\d+)",
      R"(^domain has (exceeded|reached)|\bover ?quota\b)",
      R"(mail ?from(\s*[:<"]|\s+[^\d\s\[(]|$))",
      R"(\bhostname .{0,10}(does not|doesn.t) match\b)",
      R"(\S+@\S+\b|\bvoll\b|\bpleine?\b)",
      R"(\b(senders?|your (e-?mail )?address)([^\w.@/-]|\.([^\w]|$)|$))",
      R"(\b\d{3}\b|^\W|\W$|^$|^.|.$)",
      R"(\b(unknown|@x|x@|no (such )?user|not (a )?|)\b|\b(?:voll|-e)|(mail|@)\b)",
  };
  const std::vector<std::string> texts = {
      "recipient", "recipients@x", "user unknown", "unknown user", "xunknownx", "no such user",
      "x.x.x.x", "ip x.x.x.1 blocked", "1.x.x.x", "192", "domain has exceeded", "the domain has exceeded",
      "overquota", "over quota!", "mail from:<a@b>", "mail from 192.0.2.1", "MAIL FROM", "hostname foo does not match",
      "a@b.c", "Postfach voll", "pleines", "sender.example.com", "sender.", "your address", "your email address@",
      "550", "-", " ", "\xff" "unknown\xfe", "\xfe", "user\xff", "\xffx\xfe",
      "@x", "a@x", "x@", "x@b", "x@ b", " not a ", "not", "nota", "-e", "a-e", "mail@", "a@", "@", "@a",
  };
  std::string buffer;
  for (const std::string& p : patterns) {
    const std::optional<std::string> rewritten = Rewrite(p);
    ASSERT_TRUE(rewritten) << p;
    const Compiled as_written(p), as_rewritten(*rewritten);
    for (const std::string& t : texts) {
      Prepare(t, &buffer);
      EXPECT_EQ(as_written.Matches(t), as_rewritten.Matches(buffer)) << p << " on '" << t << "'";
    }
  }
}

TEST(ScanSentinel, PreparesTheBuffer) {
  std::string buffer;
  Prepare("a\xff" "b\xfe", &buffer);
  EXPECT_EQ(buffer, "\xff" "a\xfd" "b\xfd" "\xfe");
  // Longer than a vector: a sentinel in the vector loop, one in the tail.
  const std::string text = std::string(20, 'x') + "\xfe" + std::string(20, 'y') + "\xff" + "z";
  Prepare(text, &buffer);
  EXPECT_EQ(buffer, "\xff" + std::string(20, 'x') + "\xfd" + std::string(20, 'y') + "\xfd" + "z" + "\xfe");
  Prepare(std::string(40, 'q'), &buffer);
  EXPECT_EQ(buffer, "\xff" + std::string(40, 'q') + "\xfe");
}

}  // namespace
}  // namespace rebound::scan_sentinel
