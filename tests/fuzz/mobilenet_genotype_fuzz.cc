// Fuzz target: the mobilenet space's genotype parser and canonical strings
// (properties in genotype_fuzz.h).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/genotype_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nas::FuzzGenotype("mobilenet", data, size);
  return 0;
}
