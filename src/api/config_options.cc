#include "api/config_options.h"

#include "checkpoint/checkpoint_options.h"
#include "rest/rest_options.h"
#include "runtime/pipeline_options.h"
#include "runtime/restart_strategy.h"
#include "state/state_backend_options.h"

namespace weir {

const std::vector<const ConfigOptionInfo*>& AllConfigOptions() {
  static const std::vector<const ConfigOptionInfo*> kAll = [] {
    std::vector<const ConfigOptionInfo*> all;
    for (auto list : {pipeline_options::All(), checkpointing_options::All(),
                      restart_options::All(), state_backend_options::All(),
                      rest_options::All()}) {
      all.insert(all.end(), list.begin(), list.end());
    }
    return all;
  }();
  return kAll;
}

std::string ConfigOptionsMarkdownTable() {
  std::string out = "| key | default | meaning |\n| --- | --- | --- |\n";
  for (const ConfigOptionInfo* o : AllConfigOptions()) {
    std::string meaning(o->description);
    for (std::string_view old : o->fallback_keys) {
      if (!old.empty()) meaning += " Also read from `" + std::string(old) + "`.";
    }
    std::string default_value =
        o->default_value.empty() ? "" : "`" + std::string(o->default_value) + "`";
    out += "| `" + std::string(o->key) + "` | " + default_value + " | " + meaning + " |\n";
  }
  return out;
}

}  // namespace weir
