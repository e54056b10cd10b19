// rebound/version.h: which librebound a program is running with.
#pragma once

#include <string_view>

#include "rebound/export.h"

namespace rebound {

// "MAJOR.MINOR.PATCH": the project version the shared library was built
// from, so a program can tell the library it loaded from the headers it was
// compiled with.
REBOUND_EXPORT std::string_view LibraryVersion();

}  // namespace rebound
