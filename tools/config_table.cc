// config_table: prints the README's configuration table, made from the declarations of every
// option the engine reads (src/api/config_options.h). `make docs` puts it into README.md, and
// a test fails when the README's table differs from it.
#include <cstdio>

#include "api/config_options.h"

int main() {
  std::fputs(weir::ConfigOptionsMarkdownTable().c_str(), stdout);
  return 0;
}
