// metrics/registry.h: the prometheus-cpp registry the hooks of metrics.h
// update (for the scrape and for tests; callers that only count include
// metrics.h).
#pragma once

#include <prometheus/registry.h>

#include <memory>

namespace rebound::metrics {

std::shared_ptr<prometheus::Registry> Registry();

}  // namespace rebound::metrics
