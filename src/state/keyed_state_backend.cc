#include "state/keyed_state_backend.h"

#include "state/heap_keyed_state_backend.h"
#include "state/rocksdb_keyed_state_backend.h"
#include "state/state_backend_options.h"

namespace weir {

std::string KeyedStateBackend::RestoreContext() const {
  return "restoring keyed state of operator '" + options_.operator_name + "' subtask " +
         std::to_string(options_.subtask);
}

std::string SanitizeForFileName(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out;
}

Status ValidateStateBackendConfiguration(const Configuration& config) {
  WEIR_ASSIGN_OR_RETURN(std::string type, config.Get(state_backend_options::kType));
  if (type == "rocksdb") WEIR_RETURN_IF_ERROR(RocksDbTuning::FromConfiguration(config).status());
  return config.Get(state_backend_options::kIncremental).status();
}

Result<std::unique_ptr<KeyedStateBackend>> CreateKeyedStateBackend(
    const KeyedBackendOptions& options) {
  WEIR_ASSIGN_OR_RETURN(std::string type, options.config->Get(state_backend_options::kType));
  if (type == "hashmap") {
    return std::unique_ptr<KeyedStateBackend>(std::make_unique<HeapKeyedStateBackend>(options));
  }
  auto rocksdb = RocksDbKeyedStateBackend::Create(options);
  if (!rocksdb.ok()) return rocksdb.status();
  return std::unique_ptr<KeyedStateBackend>(std::move(*rocksdb));
}

}  // namespace weir
