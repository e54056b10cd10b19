// Small ASCII helpers shared by the parsers. Internal to librebound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rebound::text {

inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Case-insensitive (ASCII) search; npos when absent.
size_t IFind(std::string_view hay, std::string_view needle, size_t from = 0);
bool IStartsWith(std::string_view s, std::string_view prefix);
bool IEndsWith(std::string_view s, std::string_view suffix);
bool IEquals(std::string_view a, std::string_view b);
std::string_view Trim(std::string_view s);

// Appends s to out with invalid UTF-8 replaced by U+FFFD, control bytes
// (NUL, CR, tabs, ...) by spaces except '\n'. CRLF and lone CR become '\n'.
void AppendCleanUtf8(std::string_view s, std::string* out);

// Appends s to out with every run of white space as one space, trimmed.
void AppendCollapsed(std::string_view s, std::string* out);

}  // namespace rebound::text
