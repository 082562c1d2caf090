#include "state/keyed_state_backend.h"

#include "state/heap_keyed_state_backend.h"
#include "state/rocksdb_keyed_state_backend.h"
#include "base/logging.h"
#include "state/state_backend_options.h"

namespace weir {

std::string KeyedStateBackend::RestoreContext() const { return "restoring keyed state of " + Where(); }

std::string KeyedStateBackend::Where() const {
  return "operator '" + options_.operator_name + "' subtask " + std::to_string(options_.subtask);
}

Status KeyedStateBackend::RestoredKeyCodec(const std::string& identity) {
  if (identity.empty()) return Status::OK();
  if (!restored_key_codec_.empty() && restored_key_codec_ != identity) {
    return Status::Corruption("the restored state files disagree on the keys' codec ('" +
                              restored_key_codec_ + "' and '" + identity + "')");
  }
  restored_key_codec_ = identity;
  return Status::OK();
}

void KeyedStateBackend::DeclareKeyCodec(const std::string& identity) {
  if (!restored_key_codec_.empty() && restored_key_codec_ != identity) {
    throw detail::StateError(Status::FailedPrecondition(
        Where() + ": the checkpoint's keys were written by codec '" + restored_key_codec_ +
        "', and the job's key type has codec '" + identity +
        "'; keyed state cannot move to another key type (give the operator a new uid to start "
        "its state afresh)"));
  }
  declared_key_codec_ = identity;
}

void KeyedStateBackend::WarnUnrecorded(std::string_view state) {
  spdlog::warn("{}: the checkpoint does not record the codec of state '{}' (an older weir wrote "
               "it): restored without a compatibility check",
               Where(), state);
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
