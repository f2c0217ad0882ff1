// nasctl: submit, watch and inspect experiments. `nasctl help` for usage.
#include <iostream>
#include <string>
#include <vector>

#include "client/nasctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return nas::RunNasctl(args, std::cout, std::cerr);
}
