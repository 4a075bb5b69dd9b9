#pragma once
/// COLONY_ASSERT: for programming bugs only, never for validating input.
#include <cstdio>
#include <cstdlib>

/// Aborts with file:line and the failed condition when `cond` is false, in every build type: a
/// broken kernel invariant must not run on and produce a wrong but plausible result.
#define COLONY_ASSERT(cond)                                                                  \
  do {                                                                                       \
    if (!(cond)) [[unlikely]] {                                                              \
      std::fprintf(stderr, "%s:%d: colony internal error: assertion failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                                         \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
