// The order in which the per-format extractors are tried (first match wins).
// Specific formats come first, each guarded by a marker its MTA always
// writes; the generic reader comes last. Documented in docs/bounce.md.
#include <cstdlib>
#include <string_view>

#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractAmazonSes(const Context&, Extraction*);
bool ExtractDragonFly(const Context&, Extraction*);
bool ExtractGmail(const Context&, Extraction*);
bool ExtractGoogleGroups(const Context&, Extraction*);
bool ExtractSendmail(const Context&, Extraction*);
bool ExtractPostfix(const Context&, Extraction*);
bool ExtractExchange2003(const Context&, Extraction*);
bool ExtractExchange2007(const Context&, Extraction*);
bool ExtractDomino(const Context&, Extraction*);
bool ExtractQmail(const Context&, Extraction*);
bool ExtractExim(const Context&, Extraction*);
bool ExtractCourier(const Context&, Extraction*);
bool ExtractKddi(const Context&, Extraction*);
bool ExtractMailMarshal(const Context&, Extraction*);
bool ExtractX3(const Context&, Extraction*);
bool ExtractVerizon(const Context&, Extraction*);
bool ExtractFml(const Context&, Extraction*);
bool ExtractGeneric(const Context&, Extraction*);

namespace {

// True when the comma-separated list names `name` exactly.
bool ListNames(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (list.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

// A test switch, not a user option: REBOUND_WITHOUT_EXTRACTORS=exim,postfix
// (read once, at the first call) leaves the named extractors out, so that
// bench/corpus_eval.py --leave-one-format-out can measure how the rest of the
// reader copes with a format whose own extractor is missing. Unknown names are
// ignored.
const std::vector<ExtractorEntry>& Extractors() {
  static const std::vector<ExtractorEntry> kExtractors = [] {
    std::vector<ExtractorEntry> all = {
        {"amazonses", ExtractAmazonSes},
        {"dragonfly", ExtractDragonFly},
        {"x3", ExtractX3},
        {"googlegroups", ExtractGoogleGroups},
        {"gmail", ExtractGmail},
        {"postfix", ExtractPostfix},
        {"sendmail", ExtractSendmail},
        {"exchange2003", ExtractExchange2003},
        {"exchange2007", ExtractExchange2007},
        {"domino", ExtractDomino},
        {"qmail", ExtractQmail},
        {"exim", ExtractExim},
        {"courier", ExtractCourier},
        {"kddi", ExtractKddi},
        {"mailmarshal", ExtractMailMarshal},
        {"verizon", ExtractVerizon},
        {"fml", ExtractFml},
        {"generic", ExtractGeneric},
    };
    const char* without = std::getenv("REBOUND_WITHOUT_EXTRACTORS");
    if (without != nullptr && *without != '\0')
      std::erase_if(all, [&](const ExtractorEntry& e) { return ListNames(without, e.name); });
    return all;
  }();
  return kExtractors;
}

}  // namespace rebound::bounce
