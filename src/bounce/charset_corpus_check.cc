// Charset decoding over the bounce corpus: every text part (and the
// Subject, From and To of the bounce and of the returned message) of every
// corpus message is decoded as the bounce reader decodes it, and the
// damage is counted: U+FFFD characters, ESC bytes left over from an
// ISO-2022 text that was not decoded, and '?' characters that the input did
// not hold (the mark of a byte no charset read). A part with more than
// kMaxBadPerText of them fails the test.
//
// Usage: bounce_charset_corpus_check [CORPUS_DIR] [--list-dev] [--digest-dev]
// The corpus is ../shared/corpus/sisimai beside the source tree by default;
// without it the check is skipped (exit 77). Counts are printed per split
// (dev, unseen: sha1 of the path relative to the corpus, first 8 hex digits,
// mod 5 == 0 is unseen); file names only for dev files, with --list-dev
// (the damaged ones) or --digest-dev (a hash of each one's decoded texts,
// to see which files another decoder reads differently).
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bounce/mime.h"

namespace {

using rebound::bounce::CharsetConverter;
using rebound::bounce::Part;

constexpr size_t kMaxBadPerText = 3;

bool IsUnseen(const std::string& rel) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(rel.data()), rel.size(), md);
  const uint32_t first8 = uint32_t{md[0]} << 24 | uint32_t{md[1]} << 16 | uint32_t{md[2]} << 8 | md[3];
  return first8 % 5 == 0;
}

// '?' bytes of the input that are meant as '?': outside the double-byte
// stretches of ISO-2022 text (ESC $ ... up to the next ESC).
size_t QuestionMarksIn(std::string_view s) {
  size_t n = 0;
  bool double_byte = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b') double_byte = i + 1 < s.size() && s[i + 1] == '$';
    else if (s[i] == '?' && !double_byte) ++n;
  }
  return n;
}

// U+FFFD characters in s.
size_t ReplacementCharacters(std::string_view s) {
  size_t n = 0;
  for (size_t at = s.find("\xEF\xBF\xBD"); at != std::string_view::npos; at = s.find("\xEF\xBF\xBD", at + 3)) ++n;
  return n;
}

// ESC bytes, and the '?' and U+FFFD characters the input did not hold
// (a text that was damaged before it was mailed is not the decoder's fault).
size_t Damage(std::string_view input, std::string_view decoded) {
  size_t escapes = 0, marks = 0;
  for (char c : decoded) {
    if (c == '\x1b') ++escapes;
    else if (c == '?') ++marks;
  }
  const size_t meant_marks = QuestionMarksIn(input);
  const size_t replaced = ReplacementCharacters(decoded), meant_replaced = ReplacementCharacters(input);
  return escapes + (marks > meant_marks ? marks - meant_marks : 0) +
         (replaced > meant_replaced ? replaced - meant_replaced : 0);
}

struct Tally {
  size_t files = 0, texts = 0, damaged = 0, over = 0, bad = 0;
};

void CheckText(std::string_view input, std::string_view decoded, Tally* t, size_t* file_bad, size_t* file_over) {
  const size_t bad = Damage(input, decoded);
  ++t->texts;
  t->bad += bad;
  *file_bad += bad;
  if (bad > 0) ++t->damaged;
  if (bad > kMaxBadPerText) {
    ++t->over;
    ++*file_over;
  }
}

void CheckHeaders(const rebound::bounce::Headers& h, CharsetConverter* cc, Tally* t, size_t* bad, size_t* over) {
  for (const char* name : {"Subject", "From", "To"}) {
    std::string_view raw = h.Raw(name);
    if (raw.empty()) continue;
    CheckText(raw, cc->DecodeHeader(raw), t, bad, over);
  }
}

void Walk(const Part& p, CharsetConverter* cc, Tally* t, size_t* bad, size_t* over) {
  const std::string& type = p.content_type.type;
  if (type == "message/rfc822" || type == "message/global") {
    for (const Part& c : p.children) CheckHeaders(c.headers, cc, t, bad, over);
    return;
  }
  if (!p.children.empty()) {
    for (const Part& c : p.children) Walk(c, cc, t, bad, over);
    return;
  }
  if (!type.starts_with("text/") && type != "message/delivery-status" && type != "message/feedback-report") return;
  std::string input(p.body.substr(0, 128 << 10));
  if (p.encoding == "base64") input = rebound::bounce::DecodeBase64(input);
  else if (p.encoding == "quoted-printable") input = rebound::bounce::DecodeQuotedPrintable(input);
  CheckText(input, rebound::bounce::DecodeText(p, cc, 128 << 10), t, bad, over);
}

}  // namespace

int main(int argc, char** argv) {
  std::string corpus = std::string(REBOUND_SOURCE_DIR) + "/../shared/corpus/sisimai";
  bool list_dev = false, digest_dev = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--list-dev") == 0) list_dev = true;
    else if (std::strcmp(argv[i], "--digest-dev") == 0) digest_dev = true;
    else corpus = argv[i];
  }
  namespace fs = std::filesystem;
  const fs::path maildir = fs::path(corpus) / "maildir";
  std::error_code ec;
  if (!fs::is_directory(maildir, ec)) {
    std::printf("SKIPPED: no bounce corpus at %s (the shared data is absent)\n", corpus.c_str());
    return 77;
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(maildir, ec))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  Tally dev, unseen;
  CharsetConverter cc;
  for (const fs::path& path : files) {
    const std::string rel = fs::relative(path, corpus).generic_string();
    const bool hidden = IsUnseen(rel);
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string msg = ss.str();
    // LF line ends, as the bounce reader makes them.
    std::string lf;
    lf.reserve(msg.size());
    for (size_t i = 0; i < msg.size(); ++i) {
      if (msg[i] == '\r') {
        lf.push_back('\n');
        if (i + 1 < msg.size() && msg[i + 1] == '\n') ++i;
      } else {
        lf.push_back(msg[i]);
      }
    }
    Part root;
    rebound::bounce::ParseEntity(lf, 0, &root);
    Tally& t = hidden ? unseen : dev;
    ++t.files;
    size_t bad = 0, over = 0;
    CheckHeaders(root.headers, &cc, &t, &bad, &over);
    Walk(root, &cc, &t, &bad, &over);
    if (digest_dev && !hidden) {
      // A digest of every decoded text of a dev file, to compare decoders.
      std::string all = cc.DecodeHeader(root.headers.Raw("Subject"));
      std::vector<const Part*> stack{&root};
      while (!stack.empty()) {
        const Part* p = stack.back();
        stack.pop_back();
        for (const Part& c : p->children) stack.push_back(&c);
        if (p->children.empty() && p->content_type.type.starts_with("text/")) all += rebound::bounce::DecodeText(*p, &cc, 128 << 10);
      }
      std::printf("digest %s %zx\n", rel.c_str(), std::hash<std::string>{}(all));
    }
    if (list_dev && !hidden && bad > 0) std::printf("dev %s: %zu damaged characters, %zu texts over\n", rel.c_str(), bad, over);
  }
  for (const auto& [name, t] : {std::pair<const char*, const Tally&>{"dev", dev}, {"unseen", unseen}})
    std::printf("%-6s files %zu, texts %zu: damaged characters %zu in %zu texts, %zu texts over %zu\n", name, t.files,
                t.texts, t.bad, t.damaged, t.over, kMaxBadPerText);
  if (dev.over + unseen.over > 0) {
    std::printf("FAILED: %zu texts decode with more than %zu damaged characters\n", dev.over + unseen.over,
                kMaxBadPerText);
    return 1;
  }
  return 0;
}
