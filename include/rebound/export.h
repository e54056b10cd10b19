// rebound/export.h: REBOUND_EXPORT marks what the public headers declare as
// part of librebound's interface.
//
// A shared librebound is meant to expose only what carries this mark
// (compiled with hidden visibility once every public header carries it).
// Declaring default visibility is also correct on the using side, so one
// definition serves both.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define REBOUND_EXPORT __attribute__((visibility("default")))
#else
#define REBOUND_EXPORT
#endif
