// The generic prose reader: where the structured parts of a bounce (the
// DSN's Diagnostic-Code and Status, a per-format extractor) give no cause,
// the human-readable text usually still says it in ordinary words, next to
// the failed address ("<x@example.net>: mailbox is over quota", or on the
// line below it) or in the heading above a list of addresses ("The
// following addresses do not exist:"). This file finds those sentences;
// the caller classifies each one and keeps the first that names a cause
// (bounce.cc, Finalizer::Reconsider).
//
// It reads only the bounce's own words: ctx.text is already cut at the
// usual "copy of the message follows" markers, and ProseEnd() cuts it again
// at a returned message that no known marker announces (a header block, an
// "original message" heading), so the returned message's body, which may
// well say "user unknown" itself, never decides.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rebound::bounce {

struct Context;

enum class ProseWhere : uint8_t {
  kNearRecipient,  // the sentence names the recipient, or follows it
  kBelowHeading,   // the failure heading above the addresses, or the text below it
};

// "prose:near-recipient", "prose:below-heading" (static storage).
std::string_view ProseWhereName(ProseWhere w);

struct ProseSentence {
  std::string text;  // white space squashed
  ProseWhere where;
};

// Offset in text where the bounce's own words end: the start of the first
// line that begins a returned message (a header block: Received:,
// Return-Path:, DKIM-Signature:, or two of From:, To:, Subject:, Date:, ...
// on consecutive unindented lines; or a line announcing the original,
// "===== Returned message =====", "Original message headers:"), else
// text.size().
size_t ProseEnd(std::string_view text);
// ProseEnd(ctx.text), found once per message (kept in ctx.prose_end).
size_t ProseEndOf(const Context& ctx);

// Appends to *out the sentences of text[0, end) that may state why delivery
// to recipient (lower case) failed, best first, at most kMaxProseSentences:
//   1. near the recipient (each paragraph that names it, at most three):
//      the words after the address up to the next address (the cause on
//      the address's line, or wrapped below it), the whole sentence that
//      names it, and, when the address ends its paragraph, the paragraph
//      below;
//   2. the heading: the sentences of the (at most three) paragraphs above
//      the first paragraph that names the recipient, nearest first; when
//      the text does not name the recipient at all, the first paragraph
//      that speaks of a failed delivery and the three after it.
// lower is text with A-Z lower-cased (same offsets). Paragraphs are
// separated by blank lines; line breaks inside one do not matter, so the
// same words give the same sentences however the text is wrapped.
inline constexpr size_t kMaxProseSentences = 16;
void ProseSentences(std::string_view text, std::string_view lower, size_t end, std::string_view recipient,
                    std::vector<ProseSentence>* out);

}  // namespace rebound::bounce
