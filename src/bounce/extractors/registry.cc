// The order in which the per-format extractors are tried (first match wins).
// Specific formats come first, each guarded by a marker its MTA always
// writes; the generic reader comes last. Documented in docs/bounce.md.
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

const std::vector<ExtractorEntry>& Extractors() {
  static const std::vector<ExtractorEntry> kExtractors = {
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
  return kExtractors;
}

}  // namespace rebound::bounce
