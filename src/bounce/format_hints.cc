// Facts some report formats state for all of their recipients at once, which
// the per-recipient fields leave out. Each hint is keyed on a marker the
// vendor always writes, never on a single message.
#include "bounce/extract.h"

namespace rebound::bounce {
namespace {

// Vendors whose failure reports list only the addresses the next server
// refused during its recipient check: McAfee Email Gateway ("The following
// addresses had delivery problems"), Symantec MessageLabs ("I was unable to
// deliver your message to the following addresses"), Yahoo Mail ("Sorry, we
// were unable to deliver your message to the following address").
bool ListsRefusedAddresses(const Context& ctx) {
  // All three sentences hold "the following address", which most bounce
  // texts lack: one search settles them.
  // (The sentences may be wrapped: FindPhrase. The McAfee line is a
  // heading between dashes, never wrapped: Find.)
  if (ctx.FindPhrase(REBOUND_PHRASE("the following address")) == std::string::npos) return false;
  return ctx.Find("--- The following addresses had delivery problems ---") != std::string::npos ||
         (ctx.FindPhrase(REBOUND_PHRASE("I was unable to deliver your message to the following addresses")) != std::string::npos &&
          ctx.Find("messagelabs") != std::string::npos) ||
         ctx.FindPhrase(REBOUND_PHRASE("Sorry, we were unable to deliver your message to the following address")) != std::string::npos;
}

// PowerMTA's own classification of the failure, the per-message field
// X-PowerMTA-BounceCategory: "bad-mailbox" is its verdict that the mailbox
// does not exist.
bool PowerMtaSaysBadMailbox(std::string_view dsn_fields) {
  size_t at = IFind(dsn_fields, "X-PowerMTA-BounceCategory:");
  if (at == std::string_view::npos) return false;
  std::string_view value = dsn_fields.substr(at + 26);
  value = value.substr(0, value.find('\n'));
  return IEquals(Trim(value), "bad-mailbox");
}

}  // namespace

void ApplyFormatHints(const Context& ctx, std::string_view dsn_fields, Extraction* ex) {
  const bool bad_mailbox = PowerMtaSaysBadMailbox(dsn_fields);
  if (ListsRefusedAddresses(ctx) || bad_mailbox)
    for (auto& c : ex->recipients) c.recipient_refused = true;
  if (bad_mailbox)
    for (auto& c : ex->recipients) c.format_says_bad_address = true;
}

}  // namespace rebound::bounce
