// NAS_FUZZ_CHECK: the fuzz targets' assertion. Prints the broken property
// and aborts (libFuzzer then saves the input as a crash), in every build
// mode: unlike assert, NDEBUG does not remove it.
#ifndef NAS_TESTS_FUZZ_FUZZ_CHECK_H_
#define NAS_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define NAS_FUZZ_CHECK(cond, what)                                             \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: fuzz property broken: %s (%s)\n", __FILE__, \
                   __LINE__, what, #cond);                                     \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

#endif  // NAS_TESTS_FUZZ_FUZZ_CHECK_H_
