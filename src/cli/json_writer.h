// The CLI's one JSON emitter for the hot paths (classify, parse, scan, rules,
// categories): writes into a string without building a DOM. Keys are the
// caller's constants and are written as given; values are escaped.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace rebound::cli {

// The most bytes s takes as a JSON string literal: every byte escaped as
// \u00XX, and the quotes.
constexpr size_t JsonStringMaxSize(size_t n) { return 6 * n + 2; }
// Writes s as a JSON string literal (quotes included) at out, which has room
// for JsonStringMaxSize(s.size()) bytes; returns the end of what it wrote.
// It stores 16 bytes at a time, so up to 15 bytes past that end (inside the
// room) may be overwritten: write a second string only after the first.
char* WriteJsonString(char* out, std::string_view s);
// Appends s as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  // An object as a value: at the top level or as an array element.
  JsonWriter& BeginObject() {
    Separate();
    return Push('{');
  }
  JsonWriter& BeginObject(std::string_view key) {
    Key(key);
    return Push('{');
  }
  JsonWriter& EndObject() { return Pop('}'); }
  // Takes up an object whose members are already in the string and whose
  // closing brace was dropped; what follows is written after a comma.
  JsonWriter& ResumeObject() {
    ++depth_;
    has_members_ |= Bit();
    return *this;
  }
  JsonWriter& BeginArray(std::string_view key) {
    Key(key);
    return Push('[');
  }
  JsonWriter& EndArray() { return Pop(']'); }

  JsonWriter& String(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
    return *this;
  }
  // A value from the code's own vocabulary (a category or reason name),
  // which never needs escaping: written without looking at its bytes.
  JsonWriter& Name(std::string_view key, std::string_view name) {
    Key(key);
    out_->push_back('"');
    out_->append(name);
    out_->push_back('"');
    return *this;
  }
  // null for an empty value: the contract's "absent".
  JsonWriter& StringOrNull(std::string_view key, std::string_view value) {
    return value.empty() ? Null(key) : String(key, value);
  }
  JsonWriter& Int(std::string_view key, int64_t value) { return Raw(key, std::to_string(value)); }
  JsonWriter& Bool(std::string_view key, bool value) { return Raw(key, value ? "true" : "false"); }
  JsonWriter& Null(std::string_view key) { return Raw(key, "null"); }
  // A value that is JSON already (a number the caller formatted).
  JsonWriter& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_->append(json);
    return *this;
  }
  // An array element.
  JsonWriter& Element(std::string_view value) {
    Separate();
    AppendJsonString(out_, value);
    return *this;
  }

 private:
  uint64_t Bit() const { return uint64_t{1} << depth_; }
  // A comma before every member but the first of its object or array.
  void Separate() {
    if (depth_ == 0) return;
    if (has_members_ & Bit()) out_->push_back(',');
    has_members_ |= Bit();
  }
  // ,"key": in one append: records are many and their keys short.
  [[gnu::always_inline]] void Key(std::string_view key) {
    char buf[64];
    size_t n = 0;
    if (depth_ != 0 && (has_members_ & Bit())) buf[n++] = ',';
    if (depth_ != 0) has_members_ |= Bit();
    if (key.size() > sizeof buf - 4) {
      out_->append(buf, n).append(1, '"').append(key).append("\":");
      return;
    }
    buf[n++] = '"';
    memcpy(buf + n, key.data(), key.size());
    n += key.size();
    buf[n++] = '"';
    buf[n++] = ':';
    out_->append(buf, n);
  }
  JsonWriter& Push(char open) {
    out_->push_back(open);
    ++depth_;
    has_members_ &= ~Bit();
    return *this;
  }
  JsonWriter& Pop(char close) {
    has_members_ &= ~Bit();
    --depth_;
    out_->push_back(close);
    return *this;
  }

  std::string* out_;
  int depth_ = 0;             // open objects and arrays; at most 63
  uint64_t has_members_ = 0;  // bit d: the container at depth d has a member
};

}  // namespace rebound::cli
