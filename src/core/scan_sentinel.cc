#include "core/scan_sentinel.h"

#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rebound::scan_sentinel {
namespace {

// What the first byte an element consumes is, as \b sees it.
// What the first or last byte an element consumes is, as \b sees it
// (kNone: a sequence that consumes nothing).
enum class Kind { kNone, kWord, kNonWord, kUnknown };

struct Element {
  std::string out;  // the element rewritten, quantifier included
  Kind first = Kind::kUnknown, last = Kind::kUnknown;
  bool nullable = false;  // may match the empty string
  bool assertion = false;  // \b, ^ or $
  bool word_boundary = false;
  // A group without a quantifier: how it opens ("(" or "(?:") and its
  // branches, so that Run() can move a \b next to it into each of them.
  bool group = false;
  std::string open;
  std::vector<std::vector<Element>> inner;
};
using Branch = std::vector<Element>;

std::string Joined(const Branch& b) {
  std::string out;
  for (const Element& e : b) out += e.out;
  return out;
}

constexpr char kExcluded[] = "\\xfe\\xff";  // kEnd and kStart, as a class writes them

bool IsWordByte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool IsAsciiPunct(unsigned char c) { return c >= 0x20 && c < 0x7f && !IsWordByte(c); }

// The stand-in and the sentinels: a pattern that names them could tell them apart.
bool IsSentinelByte(unsigned char c) { return c >= static_cast<unsigned char>(kStandIn); }

Kind Combine(Kind a, Kind b) { return a == Kind::kNone ? b : b == Kind::kNone || a == b ? a : Kind::kUnknown; }

// What the first byte consumed by b[from, to) is: the first element that
// must consume a byte decides, together with the optional ones before it.
Kind SequenceFirst(const Branch& b, size_t from, size_t to) {
  Kind k = Kind::kNone;
  for (size_t i = from; i < to; ++i) {
    if (b[i].assertion) return Kind::kUnknown;
    k = Combine(k, b[i].first);
    if (!b[i].nullable) return k;
  }
  return Kind::kUnknown;  // may consume nothing: the byte is outside
}

Kind SequenceLast(const Branch& b, size_t from, size_t to) {
  Kind k = Kind::kNone;
  for (size_t i = to; i-- > from;) {
    if (b[i].assertion) return Kind::kUnknown;
    k = Combine(k, b[i].last);
    if (!b[i].nullable) return k;
  }
  return Kind::kUnknown;
}

// A recursive-descent reader of the pattern subset the rule files use
// (groups, (?:, classes, \b \w \d \s \S \W \D, escaped punctuation,
// quantifiers); anything else fails, and the pattern is left as written.
class Rewriter {
 public:
  explicit Rewriter(std::string_view p) : p_(p) {}

  std::optional<std::string> Run() {
    std::vector<Branch> branches = Alternation();
    if (!ok_ || i_ != p_.size()) return std::nullopt;
    std::string out;
    for (size_t k = 0; k < branches.size(); ++k) {
      Branch& b = branches[k];
      // A leading \b before a word byte: the byte before it is a non-word
      // one, at the start of the text the sentinel; a trailing \b after a
      // word byte likewise.
      const size_t n = b.size();
      const bool lead = n > 1 && b[0].word_boundary, trail = n > 1 && b[n - 1].word_boundary;
      if (lead && SequenceFirst(b, 1, n) == Kind::kWord) b[0].out = "[^\\w]";
      if (trail && SequenceLast(b, 0, n - 1) == Kind::kWord) b[n - 1].out = "[^\\w]";
      // \b(A|B) is (\bA|\bB): next to a group whose branches start (end)
      // some with a word byte, some not, the \b moves into each branch and
      // becomes [^\w] where it can (vectorscan runs a \b before or after a
      // long alternation as a costly engine of its own).
      Element* const first_group = lead && b[0].out == "\\b" && b[1].group ? &b[1] : nullptr;
      Element* const last_group = trail && b[n - 1].out == "\\b" && b[n - 2].group ? &b[n - 2] : nullptr;
      auto distribute = [](Element* g, bool before, bool after) {
        g->out = g->open;
        for (size_t j = 0; j < g->inner.size(); ++j) {
          const Branch& ib = g->inner[j];
          if (j) g->out += '|';
          if (before) g->out += SequenceFirst(ib, 0, ib.size()) == Kind::kWord ? "[^\\w]" : "\\b";
          g->out += Joined(ib);
          if (after) g->out += SequenceLast(ib, 0, ib.size()) == Kind::kWord ? "[^\\w]" : "\\b";
        }
        g->out += ')';
      };
      if (first_group) b[0].out.clear();
      if (last_group) b[n - 1].out.clear();
      if (first_group && first_group == last_group) {
        distribute(first_group, true, true);
      } else {
        if (first_group) distribute(first_group, true, false);
        if (last_group) distribute(last_group, false, true);
      }
      if (k) out += '|';
      for (const Element& e : b) out += e.out;
    }
    return out;
  }

 private:
  bool AtEnd() const { return i_ >= p_.size(); }
  unsigned char Peek() const { return static_cast<unsigned char>(p_[i_]); }
  void Fail() { ok_ = false; i_ = p_.size(); }

  std::vector<Branch> Alternation() {
    std::vector<Branch> branches;
    branches.push_back(Sequence());
    while (ok_ && !AtEnd() && Peek() == '|') {
      ++i_;
      branches.push_back(Sequence());
    }
    return branches;
  }

  Branch Sequence() {
    Branch b;
    while (ok_ && !AtEnd() && Peek() != '|' && Peek() != ')') {
      Element e = Atom();
      Quantifier(&e);
      b.push_back(std::move(e));
    }
    return b;
  }

  Element Atom() {
    Element e;
    const unsigned char c = Peek();
    ++i_;
    switch (c) {
      case '(': {
        e.out = "(";
        if (!AtEnd() && Peek() == '?') {
          if (p_.substr(i_, 2) != "?:") { Fail(); return e; }
          e.out += "?:";
          i_ += 2;
        }
        e.group = true;
        e.open = e.out;
        std::vector<Branch> inner = Alternation();
        if (AtEnd() || Peek() != ')') { Fail(); return e; }
        ++i_;
        e.first = e.last = Kind::kNone;
        for (size_t k = 0; k < inner.size(); ++k) {
          if (k) e.out += '|';
          bool empty_possible = true;
          for (const Element& x : inner[k]) {
            e.out += x.out;
            empty_possible = empty_possible && x.nullable;
          }
          e.nullable = e.nullable || empty_possible;
          e.first = Combine(e.first, SequenceFirst(inner[k], 0, inner[k].size()));
          e.last = Combine(e.last, SequenceLast(inner[k], 0, inner[k].size()));
        }
        if (e.first == Kind::kNone) e.first = Kind::kUnknown;
        if (e.last == Kind::kNone) e.last = Kind::kUnknown;
        e.out += ')';
        e.inner = std::move(inner);
        return e;
      }
      case '[': return Class();
      case '\\': return Escape();
      case '.': e.out = std::string("[^") + kExcluded + "]"; return e;
      // The start of the text is now right after kStart, its end right
      // before kEnd, and neither occurs anywhere else.
      case '^': e.out = "\\xff"; e.assertion = true; return e;
      case '$': e.out = "\\xfe"; e.assertion = true; return e;
      case '*': case '+': case '?': case '{': case ')': case '|': Fail(); return e;
      default:
        if (IsSentinelByte(c)) { Fail(); return e; }
        e.out = static_cast<char>(c);
        e.first = e.last = IsWordByte(c) ? Kind::kWord : Kind::kNonWord;
        return e;
    }
  }

  Element Escape() {
    Element e;
    if (AtEnd()) { Fail(); return e; }
    const unsigned char c = Peek();
    ++i_;
    e.out = {'\\', static_cast<char>(c)};
    switch (c) {
      case 'b': e.word_boundary = e.assertion = e.nullable = true; return e;
      case 'w': case 'd': e.first = e.last = Kind::kWord; return e;
      case 's': case 'n': case 't': case 'r': case 'f': e.first = e.last = Kind::kNonWord; return e;
      case 'W': e.out = std::string("[^") + kExcluded + "\\w]"; e.first = e.last = Kind::kNonWord; return e;
      case 'S': e.out = std::string("[^") + kExcluded + "\\s]"; return e;
      case 'D': e.out = std::string("[^") + kExcluded + "\\d]"; return e;
      default:
        if (IsAsciiPunct(c)) { e.first = e.last = Kind::kNonWord; return e; }
        Fail();
        return e;
    }
  }

  // [...]: a negated class gets the sentinel added to what it excludes. A
  // class all of word bytes (\w, \d, letters, digits, _) starts a word.
  Element Class() {
    Element e;
    const size_t start = i_ - 1;
    bool negated = false;
    if (!AtEnd() && Peek() == '^') negated = true, ++i_;
    bool all_word = true;
    bool first_member = true;
    int prev = -1;  // the last single byte, for a range a-z
    while (!AtEnd() && (Peek() != ']' || first_member)) {
      const unsigned char c = Peek();
      first_member = false;
      if (c == '\\') {
        ++i_;
        if (AtEnd()) break;
        const unsigned char x = Peek();
        ++i_;
        if (x == 'w' || x == 'd') { prev = -1; continue; }
        if (x == 's' || x == 'n' || x == 't' || x == 'r' || x == 'f' || IsAsciiPunct(x)) {
          all_word = false;
          prev = (x == 's') ? -1 : x;
          continue;
        }
        Fail();
        return e;
      }
      if (c == '[' && i_ + 1 < p_.size() && (p_[i_ + 1] == ':' || p_[i_ + 1] == '=' || p_[i_ + 1] == '.')) {
        Fail();
        return e;
      }
      if (IsSentinelByte(c)) { Fail(); return e; }
      ++i_;
      if (c == '-' && prev >= 0 && !AtEnd() && Peek() != ']') {
        // A range: word bytes throughout only within one of 0-9, A-Z, a-z.
        unsigned char hi = Peek();
        if (hi == '\\') {
          if (i_ + 1 >= p_.size() || !IsAsciiPunct(static_cast<unsigned char>(p_[i_ + 1]))) { Fail(); return e; }
          hi = static_cast<unsigned char>(p_[i_ + 1]);
          i_ += 2;
        } else {
          if (IsSentinelByte(hi)) { Fail(); return e; }
          ++i_;
        }
        auto same_run = [](int a, int b) {
          return (a >= '0' && b <= '9' && a <= b) || (a >= 'A' && b <= 'Z' && a <= b) || (a >= 'a' && b <= 'z' && a <= b);
        };
        if (!same_run(prev, hi)) all_word = false;
        if (hi >= 0x80 || prev >= 0x80) { Fail(); return e; }  // a byte range could take in the sentinel
        prev = -1;
        continue;
      }
      if (!IsWordByte(c)) all_word = false;
      prev = c;
    }
    if (AtEnd()) { Fail(); return e; }
    ++i_;  // ']'
    e.out.assign(p_.substr(start, i_ - start));
    if (negated) {
      // First among the members, where it cannot become a range's end; a
      // ']' that was first is escaped so as to stay a member.
      std::string rest = e.out.substr(2);
      if (rest[0] == ']') rest.insert(0, 1, '\\');
      e.out = "[^" + std::string(kExcluded) + rest;
    } else if (all_word) {
      e.first = e.last = Kind::kWord;
    }
    return e;
  }

  void Quantifier(Element* e) {
    if (AtEnd()) return;
    const unsigned char c = Peek();
    size_t min = 1;
    const size_t start = i_;
    if (c == '?' || c == '*') {
      min = 0, ++i_;
    } else if (c == '+') {
      ++i_;
    } else if (c == '{') {
      ++i_;
      size_t n = 0, digits = 0;
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') n = n * 10 + (Peek() - '0'), ++i_, ++digits;
      if (!digits) { Fail(); return; }
      if (!AtEnd() && Peek() == ',') {
        ++i_;
        while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++i_;
      }
      if (AtEnd() || Peek() != '}') { Fail(); return; }
      ++i_;
      min = n;
    } else {
      return;
    }
    if (!AtEnd() && Peek() == '?') ++i_;  // lazy: the same set of matches
    if (e->word_boundary || (!AtEnd() && (Peek() == '+' || Peek() == '*' || Peek() == '{'))) { Fail(); return; }
    e->out.append(p_.substr(start, i_ - start));
    e->group = false;
    if (min == 0) e->nullable = true;
  }

  std::string_view p_;
  size_t i_ = 0;
  bool ok_ = true;
};

}  // namespace

std::optional<std::string> Rewrite(std::string_view pattern) { return Rewriter(pattern).Run(); }

void Prepare(std::string_view text, std::string* out) {
  if (out->size() != text.size() + 2) out->resize(text.size() + 2);
  char* const p = out->data();
  p[0] = kStart;
  std::memcpy(p + 1, text.data(), text.size());
  p[text.size() + 1] = kEnd;
  // Only a Reply built by hand can hold the sentinels (they are never in
  // UTF-8): one pass that looks for a byte >= kEnd, then a byte loop over
  // the rest only when there is one (two memchr calls cost twice as much).
  const unsigned char* const t = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i end_byte = _mm_set1_epi8(kEnd);
  for (; i + 16 <= text.size(); i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + i));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, end_byte), x))) break;
  }
#endif
  for (; i < text.size(); ++i)
    if (t[i] >= static_cast<unsigned char>(kEnd)) p[1 + i] = kStandIn;
}

}  // namespace rebound::scan_sentinel
