// rebound/export.h: REBOUND_EXPORT marks what the public headers declare as
// part of librebound's interface.
//
// The library is compiled with hidden symbol visibility, so a shared
// librebound exposes only what carries this mark; everything under src/ stays
// private to it. Declaring default visibility is also correct on the using
// side, so one definition serves both.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define REBOUND_EXPORT __attribute__((visibility("default")))
#else
#define REBOUND_EXPORT
#endif
