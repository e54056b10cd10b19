// The shared library's own source: its version (REBOUND_VERSION comes from
// the CMake project version, cmake/library.cmake).
#include "rebound/version.h"

namespace rebound {

std::string_view LibraryVersion() { return REBOUND_VERSION; }

}  // namespace rebound
