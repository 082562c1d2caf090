#include "inspect.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "base/file_system.h"
#include "checkpoint/checkpoint_metadata.h"
#include "connectors/file_sink_state.h"
#include "remote.h"
#include "state/heap_incremental_format.h"
#include "state/keyed_snapshot_format.h"
#include "state/snapshot_location.h"
#include "state_decoder.h"
#include "weir/configuration.h"
#include "weir/detail/two_phase_commit.h"

namespace weir::tool {
namespace {

using Json = nlohmann::ordered_json;
constexpr char kMetadata[] = "_metadata";

struct Loaded {
  std::string dir;
  CheckpointMetadata metadata;
  std::unique_ptr<SnapshotLocation> location;
};

// Reads and checks _metadata; the files it names are read later, as needed.
bool Load(const std::string& path_in, Loaded* out, ToolError* error) {
  FileSystem* fs = FileSystem::Default();
  std::string path = path_in;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (BaseName(path) == kMetadata) path = DirName(path);
  if (!fs->Exists(path)) {
    *error = {kNotFound, "'" + path_in + "' does not exist"};
    return false;
  }
  std::string meta = JoinPath(path, kMetadata);
  if (!fs->Exists(meta)) {
    *error = {kNotFound, "'" + path +
                             "' has no _metadata: not a checkpoint or savepoint, or one that was "
                             "never completed"};
    return false;
  }
  auto data = fs->ReadFile(meta);
  if (!data.ok()) {
    *error = {kFailed, data.status().ToString()};
    return false;
  }
  auto m = CheckpointMetadata::Decode(*data, meta);
  if (!m.ok()) {
    *error = {kFailed, m.status().ToString()};
    return false;
  }
  out->dir = AbsolutePath(path);
  out->metadata = std::move(*m);
  // A checkpoint's files are relative to its job directory, a savepoint's to itself.
  std::string base = out->metadata.savepoint ? out->dir : DirName(out->dir);
  out->location = std::make_unique<SnapshotLocation>(fs, base, "");
  return true;
}

std::string Time(int64_t wall_ms) {
  std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// The keyed state of one operator, summed over its subtasks' canonical or heap files.
Json KeyedSummary(const Loaded& c, const OperatorSnapshotMetadata& op,
                  std::vector<std::string>* problems) {
  Json states = Json::array();
  std::map<std::string, size_t> index;
  std::string key_codec;
  int64_t timers = 0;
  uint64_t native_files = 0, native_bytes = 0;
  bool any = false;
  for (size_t s = 0; s < op.subtasks.size(); ++s) {
    const auto& keyed = op.subtasks[s].keyed;
    if (!keyed) continue;
    any = true;
    // Counts every entry and timer of one subtask's reader (either format).
    auto count = [&](const auto& reader) {
      if (!reader.key_codec().empty()) key_codec = reader.key_codec();
      std::vector<uint64_t> keys(reader.states().size(), 0), bytes(reader.states().size(), 0);
      Status st = reader.ForEach(
          reader.key_groups(),
          [&](size_t state, int, std::string_view k, std::string_view v) {
            ++keys[state];
            bytes[state] += k.size() + v.size();
            return Status::OK();
          },
          [&](int, TimeDomain, int64_t, std::string_view) {
            ++timers;
            return Status::OK();
          });
      if (!st.ok()) problems->push_back(st.ToString());
      for (size_t i = 0; i < reader.states().size(); ++i) {
        const StateMeta& m = reader.states()[i];
        auto [it, inserted] = index.emplace(m.name, states.size());
        if (inserted) {
          states.push_back(Json{{"name", m.name},
                                {"kind", detail::StateKindName(m.kind)},
                                {"codec", m.codec},
                                {"keys", 0},
                                {"bytes", 0}});
        }
        Json& j = states[it->second];
        j["keys"] = j["keys"].get<uint64_t>() + keys[i];
        j["bytes"] = j["bytes"].get<uint64_t>() + bytes[i];
      }
    };
    if (keyed->backend_id == kHeapIncrementalBackendId) {
      auto reader = OpenHeapIncremental(*keyed, *c.location);
      if (reader.ok()) {
        count(*reader);
      } else {
        problems->push_back(reader.status().ToString());
      }
      continue;
    }
    for (const auto& f : keyed->native_files) {
      ++native_files;
      native_bytes += f.size;
    }
    if (!keyed->canonical) continue;
    auto data = c.location->ReadVerified(*keyed->canonical);
    if (!data.ok()) {
      problems->push_back(data.status().ToString());
      continue;
    }
    auto reader = KeyedSnapshotReader::Open(std::move(*data), keyed->canonical->path);
    if (!reader.ok()) {
      problems->push_back(reader.status().ToString());
      continue;
    }
    count(*reader);
  }
  if (!any) return nullptr;
  Json out{{"key_codec", key_codec}, {"states", std::move(states)}, {"timers", timers}};
  if (native_files > 0) {
    // An incremental checkpoint's state is in RocksDB's own files: its entries are not
    // counted here (a savepoint of the job has them in the canonical format).
    out["rocksdb_files"] = native_files;
    out["rocksdb_bytes"] = native_bytes;
  }
  return out;
}

Json OperatorStateSummary(const OperatorSnapshotMetadata& op) {
  std::map<std::string, Json> lists;
  std::vector<std::string> order;
  for (const auto& subtask : op.subtasks) {
    for (const auto& list : subtask.operator_state) {
      if (!lists.contains(list.name)) {
        order.push_back(list.name);
        lists[list.name] =
            Json{{"name", list.name},
                 {"mode", list.mode == detail::OperatorStateList::Mode::kUnion ? "union" : "split"},
                 {"elements", 0},
                 {"bytes", 0}};
      }
      Json& j = lists[list.name];
      j["elements"] = j["elements"].get<uint64_t>() + list.elements.size();
      for (const auto& e : list.elements) {
        j["bytes"] = j["bytes"].get<uint64_t>() + e.size();
        if (list.name == "sequence-splits") {
          std::pair<int64_t, int64_t> split;
          if (DecodeFromString(e, split)) {
            j["splits"].push_back(Json{{"next", split.first},
                                       {"last", split.second},
                                       {"finished", split.first > split.second}});
          }
        } else if (list.name == detail::kTwoPhaseCommitStateName) {
          detail::SinkStateEntry entry;
          if (!detail::DecodeSinkStateEntry(e, &entry)) continue;
          Json out{{"subtask", entry.owner}};
          if (auto file = DecodeFileSinkOutput(entry.state)) {
            out["file"] = file->target;
            out["committed_bytes"] = file->committed_size;
          } else {
            out["state_bytes"] = entry.state.size();
          }
          out["pending_transactions"] = Json::array();
          for (const auto& [id, txn] : entry.transactions) {
            Json t{{"checkpoint", id}};
            if (auto f = DecodeFileSinkTransaction(txn)) {
              t["file"] = f->target;
              t["offset"] = f->offset;
              t["length"] = f->length;
              t["staging"] = f->staging;
            } else {
              t["bytes"] = txn.size();
            }
            out["pending_transactions"].push_back(std::move(t));
          }
          j["outputs"].push_back(std::move(out));
        }
      }
    }
  }
  Json out = Json::array();
  for (const auto& name : order) out.push_back(lists[name]);
  return out;
}

void PrintText(const Json& j, std::ostream& out) {
  out << (j["savepoint"].get<bool>() ? "Savepoint " : "Checkpoint ") << j["checkpoint_id"]
      << " of job '" << j["job_name"].get<std::string>() << "' (" << j["job_id"].get<std::string>()
      << ")\n";
  out << "  at " << j["path"].get<std::string>() << "\n";
  out << "  taken " << Time(j["trigger_time"]) << ", completed " << Time(j["completed_time"])
      << ", " << FormatBytes(j["state_size"]);
  // An incremental checkpoint holds files earlier ones wrote.
  if (j["checkpointed_size"] != j["state_size"]) {
    out << " (" << FormatBytes(j["checkpointed_size"]) << " written by this checkpoint)";
  }
  out << "\n";
  for (const auto& op : j["operators"]) {
    out << "\noperator " << op["name"].get<std::string>() << " (uid "
        << op["uid"].get<std::string>() << "), parallelism " << op["parallelism"]
        << ", max parallelism " << op["max_parallelism"] << "\n";
    bool any = false;
    if (!op["keyed"].is_null()) {
      any = true;
      const Json& k = op["keyed"];
      out << "  keyed state, keys of codec '" << k["key_codec"].get<std::string>() << "'\n";
      for (const auto& s : k["states"]) {
        out << "    " << s["name"].get<std::string>() << ": " << s["kind"].get<std::string>()
            << " of '" << s["codec"].get<std::string>() << "', " << s["keys"] << " keys, "
            << FormatBytes(s["bytes"]) << "\n";
      }
      out << "    timers: " << k["timers"] << "\n";
      if (k.contains("rocksdb_files")) {
        out << "    RocksDB files (incremental): " << k["rocksdb_files"] << ", "
            << FormatBytes(k["rocksdb_bytes"]) << " (keys not counted: inspect a savepoint)\n";
      }
    }
    for (const auto& l : op["operator_state"]) {
      any = true;
      out << "  operator state '" << l["name"].get<std::string>() << "' ("
          << l["mode"].get<std::string>() << "): " << l["elements"] << " elements, "
          << FormatBytes(l["bytes"]) << "\n";
      for (const auto& s : l.value("splits", Json::array())) {
        out << "    source split: next " << s["next"] << ", last " << s["last"]
            << (s["finished"].get<bool>() ? " (finished)" : "") << "\n";
      }
      for (const auto& o : l.value("outputs", Json::array())) {
        out << "    subtask " << o["subtask"];
        if (o.contains("file")) {
          out << " output " << o["file"].get<std::string>() << ", " << o["committed_bytes"]
              << " bytes committed";
        }
        out << "; pending transactions: " << o["pending_transactions"].size() << "\n";
        for (const auto& t : o["pending_transactions"]) {
          out << "      checkpoint " << t["checkpoint"];
          if (t.contains("file")) {
            out << ": " << t["length"] << " bytes at offset " << t["offset"] << " of "
                << t["file"].get<std::string>();
          }
          out << "\n";
        }
      }
    }
    if (!any) out << "  no state\n";
  }
}

}  // namespace

int Inspect(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  Loaded c;
  ToolError error;
  if (!Load(path, &c, &error)) {
    err << "weir inspect: " << error.message << "\n";
    return error.code;
  }
  std::vector<std::string> problems;
  Json ops = Json::array();
  for (const auto& op : c.metadata.operators) {
    ops.push_back(Json{{"uid", op.uid},
                       {"name", op.name},
                       {"parallelism", op.parallelism},
                       {"max_parallelism", op.max_parallelism},
                       {"keyed", KeyedSummary(c, op, &problems)},
                       {"operator_state", OperatorStateSummary(op)}});
  }
  Json j{{"path", c.dir},
         {"savepoint", c.metadata.savepoint},
         {"checkpoint_id", c.metadata.checkpoint_id},
         {"job_id", c.metadata.job_id},
         {"job_name", c.metadata.job_name},
         {"trigger_time", c.metadata.trigger_wall_ms},
         {"completed_time", c.metadata.completed_wall_ms},
         {"state_size", c.metadata.Sizes().full},
         {"checkpointed_size", c.metadata.Sizes().checkpointed},
         {"operators", std::move(ops)}};
  if (json) {
    out << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  } else {
    PrintText(j, out);
  }
  for (const auto& p : problems) err << "weir inspect: " << p << "\n";
  if (!problems.empty()) {
    err << "weir inspect: the checkpoint is damaged; `weir verify " << path
        << "` lists every problem\n";
    return kFailed;
  }
  return kOk;
}

int InspectState(const std::string& path, const std::string& uid_and_name, std::ostream& out,
                 std::ostream& err) {
  auto slash = uid_and_name.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == uid_and_name.size()) {
    err << "weir inspect: --state takes UID/NAME (the operator's uid and the state's name), not '"
        << uid_and_name << "'\n";
    return kUsage;
  }
  std::string uid = uid_and_name.substr(0, slash);
  std::string name = uid_and_name.substr(slash + 1);
  Loaded c;
  ToolError error;
  if (!Load(path, &c, &error)) {
    err << "weir inspect: " << error.message << "\n";
    return error.code;
  }
  const OperatorSnapshotMetadata* op = c.metadata.FindOperator(uid);
  if (op == nullptr) {
    std::string uids;
    for (const auto& o : c.metadata.operators) uids += " " + o.uid;
    err << "weir inspect: no operator with uid '" << uid << "' in " << c.dir
        << " (operators:" << uids << ")\n";
    return kNotFound;
  }
  bool found = false;
  int decode_errors = 0;
  for (const auto& subtask : op->subtasks) {
    if (!subtask.keyed) continue;
    // Prints the entries of state `name` from one subtask's reader (either format).
    auto print = [&](const auto& reader) {
      size_t index = reader.states().size();
      for (size_t i = 0; i < reader.states().size(); ++i) {
        if (reader.states()[i].name == name) index = i;
      }
      if (index == reader.states().size()) return Status::OK();
      found = true;
      const StateMeta& meta = reader.states()[index];
      std::string key_codec = reader.key_codec();
      return reader.ForEach(
          reader.key_groups(),
          [&](size_t state, int key_group, std::string_view k, std::string_view v) {
            if (state != index) return Status::OK();
            Json key, value;
            bool ok = DecodeValue(key_codec, k, &key);
            ok = DecodeStateValue(meta.kind, meta.codec, v, &value) && ok;
            if (!ok) ++decode_errors;
            Json line{
                {"key", std::move(key)}, {"value", std::move(value)}, {"key_group", key_group}};
            out << line.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
            return Status::OK();
          },
          [](int, TimeDomain, int64_t, std::string_view) { return Status::OK(); });
    };
    Status s;
    if (subtask.keyed->backend_id == kHeapIncrementalBackendId) {
      auto reader = OpenHeapIncremental(*subtask.keyed, *c.location);
      s = reader.ok() ? print(*reader) : reader.status();
    } else if (!subtask.keyed->canonical) {
      err << "weir inspect: operator '" << uid
          << "' keeps its state in RocksDB's own files (an incremental checkpoint); take a "
             "savepoint of the job and inspect that\n";
      return kFailed;
    } else {
      auto data = c.location->ReadVerified(*subtask.keyed->canonical);
      if (!data.ok()) {
        s = data.status();
      } else {
        auto reader =
            KeyedSnapshotReader::Open(std::move(*data), subtask.keyed->canonical->path);
        s = reader.ok() ? print(*reader) : reader.status();
      }
    }
    if (!s.ok()) {
      err << "weir inspect: " << s.ToString() << "\n";
      return kFailed;
    }
  }
  if (!found) {
    err << "weir inspect: operator '" << uid << "' has no keyed state named '" << name << "'\n";
    return kNotFound;
  }
  if (decode_errors > 0) {
    err << "weir inspect: " << decode_errors
        << " entries are shown as hex: their codec is not one of weir's built-in ones\n";
  }
  return kOk;
}

namespace {

// Verifies one checkpoint; returns the problems found.
std::vector<std::string> VerifyOne(const std::string& path, std::ostream& out, Json* report) {
  std::vector<std::string> problems;
  Loaded c;
  ToolError error;
  if (!Load(path, &c, &error)) {
    problems.push_back(error.message);
    (*report)["path"] = path;
    (*report)["problems"] = problems;
    return problems;
  }
  size_t files = 0;
  uint64_t bytes = 0;
  for (const auto& op : c.metadata.operators) {
    for (size_t s = 0; s < op.subtasks.size(); ++s) {
      const auto& keyed = op.subtasks[s].keyed;
      if (!keyed) continue;
      std::string where = "operator '" + op.uid + "' subtask " + std::to_string(s) + ": ";
      std::vector<const StateFile*> all;
      if (keyed->canonical) all.push_back(&*keyed->canonical);
      for (const auto& f : keyed->native_files) all.push_back(&f);
      bool verified = true;
      for (const StateFile* f : all) {
        ++files;
        bytes += f->size;
        Status st = c.location->Verify(*f);
        if (!st.ok()) {
          problems.push_back(where + st.message());
          verified = false;
          continue;
        }
        if (keyed->canonical && f == &*keyed->canonical) {
          auto data = c.location->ReadVerified(*f);
          if (data.ok()) {
            auto reader = KeyedSnapshotReader::Open(std::move(*data), c.location->Absolute(*f));
            if (!reader.ok()) {
              problems.push_back(where + reader.status().message());
            } else {
              Status walk = reader->ForEach(
                  reader->key_groups(),
                  [](size_t, int, std::string_view, std::string_view) { return Status::OK(); },
                  [](int, TimeDomain, int64_t, std::string_view) { return Status::OK(); });
              if (!walk.ok()) problems.push_back(where + walk.message());
            }
          }
        }
      }
      if (verified && keyed->backend_id == kHeapIncrementalBackendId) {
        auto reader = OpenHeapIncremental(*keyed, *c.location);
        if (!reader.ok()) problems.push_back(where + reader.status().message());
      }
    }
  }
  (*report)["path"] = c.dir;
  (*report)["checkpoint_id"] = c.metadata.checkpoint_id;
  (*report)["savepoint"] = c.metadata.savepoint;
  (*report)["files"] = files;
  (*report)["bytes"] = bytes;
  (*report)["problems"] = problems;
  return problems;
}

}  // namespace

int Verify(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  FileSystem* fs = FileSystem::Default();
  std::vector<std::string> targets;
  std::string dir = path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (!fs->Exists(dir)) {
    err << "weir verify: '" << path << "' does not exist\n";
    return kNotFound;
  }
  if (BaseName(dir) == kMetadata || fs->Exists(JoinPath(dir, kMetadata))) {
    targets.push_back(dir);
  } else if (auto names = fs->ListDir(dir); names.ok()) {
    // A job directory: every chk-<n>, in order.
    std::vector<std::pair<int64_t, std::string>> chks;
    for (const auto& n : *names) {
      if (n.starts_with("chk-")) chks.emplace_back(std::atoll(n.c_str() + 4), JoinPath(dir, n));
    }
    std::sort(chks.begin(), chks.end());
    for (auto& [id, p] : chks) targets.push_back(p);
  }
  if (targets.empty()) {
    err << "weir verify: '" << path
        << "' is neither a checkpoint or savepoint (no _metadata) nor a job directory with "
           "chk-<n> checkpoints\n";
    return kNotFound;
  }
  Json reports = Json::array();
  size_t bad = 0;
  for (const auto& t : targets) {
    Json report;
    auto problems = VerifyOne(t, out, &report);
    if (!problems.empty()) ++bad;
    if (!json) {
      out << (problems.empty() ? "OK   " : "BAD  ") << report["path"].get<std::string>();
      if (report.contains("files")) {
        out << ": " << report["files"] << " state files, " << FormatBytes(report["bytes"])
            << " and _metadata";
      }
      out << "\n";
      for (const auto& p : problems) out << "     " << p << "\n";
    }
    reports.push_back(std::move(report));
  }
  if (json) out << reports.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  if (bad > 0) {
    err << "weir verify: " << bad << " of " << targets.size()
        << (targets.size() == 1 ? " checkpoint is" : " checkpoints are") << " damaged\n";
    return kFailed;
  }
  return kOk;
}

}  // namespace weir::tool
