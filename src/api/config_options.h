// Every configuration option the engine reads, from each module's declarations: what the
// unknown-key check compares keys with, and what the README's configuration table is made
// from (tools/config_table).
#pragma once

#include <vector>

#include "weir/configuration.h"

namespace weir {

const std::vector<const ConfigOptionInfo*>& AllConfigOptions();

// The options as a Markdown table (key, default, meaning), in declaration order.
std::string ConfigOptionsMarkdownTable();

}  // namespace weir
