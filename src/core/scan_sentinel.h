// Patterns scanned over a text between two sentinel bytes (every database
// of the classifier: the facets and the rules above and below them).
//
// Vectorscan runs a pattern that begins with \b ("\b(recipients?|rcpt|...)")
// as two: one anchored at the start of the text, where the boundary holds by
// itself, and one floating, after a non-word byte; a trailing \b likewise
// needs a check at the end of the text. Those checks cost about as much as
// the rest of the facet scan. Scanned over kStart + text + kEnd instead, the
// ends of the text are just more places next to a non-word byte, and a \b
// that starts a branch before a word byte (or ends one after a word byte)
// can be written [^\w]: one floating pattern. Rewrite() makes a pattern mean
// over kStart + text + kEnd exactly what it meant over the text: ^ and $
// become the sentinels, and no dot or negated class matches either.
// Internal to librebound.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rebound::scan_sentinel {

// Bytes never found in UTF-8, so never in a parsed reply's text. A text
// that has one anyway (a Reply built by hand) gets kStandIn in its place:
// no rewritten pattern tells kStandIn from them, as none names any of the
// three and each excludes only the sentinels.
inline constexpr char kStart = '\xff';
inline constexpr char kEnd = '\xfe';
inline constexpr char kStandIn = '\xfd';

// The pattern rewritten for a scan of kStart + text + kEnd, or nullopt when
// it uses a construct this does not know (the caller then compiles and
// scans it as written).
std::optional<std::string> Rewrite(std::string_view pattern);

// *out = kStart + text + kEnd, sentinel bytes in text replaced by kStandIn.
// Allocates only when out's capacity is short.
void Prepare(std::string_view text, std::string* out);

}  // namespace rebound::scan_sentinel
