#include "checkpoint/checkpoint_metadata.h"

#include <cstring>
#include <set>

#include "base/hash.h"
#include "state/snapshot_location.h"
#include "weir/codec.h"

namespace weir {
namespace {

constexpr std::string_view kMagic = "WEIRCHK1";
constexpr uint64_t kVersion = 1;

void PutFile(BufferWriter& w, const StateFile& f) {
  w.PutLengthPrefixed(f.path);
  w.PutVarint64(f.size);
  w.PutFixed64(f.checksum);
  w.PutLengthPrefixed(f.local_name);
}

bool GetString(BufferReader& r, std::string* s) {
  std::string_view v;
  if (!r.GetLengthPrefixed(&v)) return false;
  s->assign(v.data(), v.size());
  return true;
}

bool GetFile(BufferReader& r, StateFile* f) {
  return GetString(r, &f->path) && r.GetVarint64(&f->size) && r.GetFixed64(&f->checksum) &&
         GetString(r, &f->local_name);
}

bool GetInt(BufferReader& r, int* v, uint64_t max) {
  uint64_t u;
  if (!r.GetVarint64(&u) || u > max) return false;
  *v = static_cast<int>(u);
  return true;
}

bool GetCount(BufferReader& r, uint64_t* n) { return r.GetVarint64(n) && *n <= r.remaining(); }

}  // namespace

std::string CheckpointMetadata::Encode() const {
  std::string out;
  BufferWriter w(&out);
  w.PutBytes(kMagic);
  w.PutVarint64(kVersion);
  w.PutFixed64(static_cast<uint64_t>(checkpoint_id));
  w.PutFixed64(static_cast<uint64_t>(trigger_wall_ms));
  w.PutFixed64(static_cast<uint64_t>(completed_wall_ms));
  w.PutLengthPrefixed(job_id);
  w.PutLengthPrefixed(job_name);
  w.PutU8(savepoint ? 1 : 0);
  w.PutVarint64(operators.size());
  for (const auto& op : operators) {
    w.PutLengthPrefixed(op.uid);
    w.PutLengthPrefixed(op.name);
    w.PutVarint64(static_cast<uint64_t>(op.parallelism));
    w.PutVarint64(static_cast<uint64_t>(op.max_parallelism));
    w.PutVarint64(op.subtasks.size());
    for (const auto& st : op.subtasks) {
      w.PutVarint64(st.operator_state.size());
      for (const auto& list : st.operator_state) {
        w.PutLengthPrefixed(list.name);
        w.PutU8(static_cast<uint8_t>(list.mode));
        w.PutVarint64(list.elements.size());
        for (const auto& e : list.elements) w.PutLengthPrefixed(e);
      }
      w.PutU8(st.keyed ? 1 : 0);
      if (st.keyed) {
        const KeyedStateHandle& k = *st.keyed;
        w.PutVarint64(static_cast<uint64_t>(k.key_groups.start));
        w.PutVarint64(static_cast<uint64_t>(k.key_groups.end + 1));
        w.PutU8(k.canonical ? 1 : 0);
        if (k.canonical) PutFile(w, *k.canonical);
        w.PutVarint64(k.native_files.size());
        for (const auto& f : k.native_files) PutFile(w, f);
        w.PutLengthPrefixed(k.backend_id);
      }
    }
  }
  w.PutFixed64(Checksum::Of(out));
  return out;
}

Result<CheckpointMetadata> CheckpointMetadata::Decode(std::string_view data,
                                                      const std::string& path) {
  auto bad = [&](std::string_view why) {
    return Status::Corruption("checkpoint metadata '" + path + "': " + std::string(why));
  };
  if (data.size() < kMagic.size() + 8 || data.substr(0, kMagic.size()) != kMagic) {
    return bad("not a weir checkpoint metadata file (bad magic or truncated)");
  }
  uint64_t stored;
  std::memcpy(&stored, data.data() + data.size() - 8, 8);
  if (Checksum::Of(data.substr(0, data.size() - 8)) != stored) {
    return bad("checksum mismatch (the file is truncated or corrupted)");
  }
  BufferReader r(data.substr(kMagic.size(), data.size() - kMagic.size() - 8));
  CheckpointMetadata m;
  uint64_t version, id, trigger, completed, nops;
  uint8_t sp;
  if (!r.GetVarint64(&version)) return bad("truncated");
  if (version != kVersion) {
    return bad("format version " + std::to_string(version) + " is not supported by this weir");
  }
  if (!r.GetFixed64(&id) || !r.GetFixed64(&trigger) || !r.GetFixed64(&completed) ||
      !GetString(r, &m.job_id) || !GetString(r, &m.job_name) || !r.GetU8(&sp) ||
      !GetCount(r, &nops)) {
    return bad("truncated header");
  }
  m.checkpoint_id = static_cast<int64_t>(id);
  m.trigger_wall_ms = static_cast<int64_t>(trigger);
  m.completed_wall_ms = static_cast<int64_t>(completed);
  m.savepoint = sp != 0;
  for (uint64_t i = 0; i < nops; ++i) {
    OperatorSnapshotMetadata op;
    uint64_t nsub;
    if (!GetString(r, &op.uid) || !GetString(r, &op.name) || !GetInt(r, &op.parallelism, 32768) ||
        !GetInt(r, &op.max_parallelism, 32768) || !GetCount(r, &nsub)) {
      return bad("truncated operator entry");
    }
    for (uint64_t s = 0; s < nsub; ++s) {
      SubtaskState st;
      uint64_t nlists;
      if (!GetCount(r, &nlists)) return bad("truncated subtask state");
      for (uint64_t l = 0; l < nlists; ++l) {
        detail::OperatorStateList list;
        uint8_t mode;
        uint64_t nelem;
        if (!GetString(r, &list.name) || !r.GetU8(&mode) || mode > 1 || !GetCount(r, &nelem)) {
          return bad("truncated operator state");
        }
        list.mode = static_cast<detail::OperatorStateList::Mode>(mode);
        for (uint64_t e = 0; e < nelem; ++e) {
          std::string elem;
          if (!GetString(r, &elem)) return bad("truncated operator state element");
          list.elements.push_back(std::move(elem));
        }
        st.operator_state.push_back(std::move(list));
      }
      uint8_t has_keyed;
      if (!r.GetU8(&has_keyed)) return bad("truncated subtask state");
      if (has_keyed) {
        KeyedStateHandle k;
        int start, end_plus_one;
        uint8_t has_canonical;
        uint64_t nfiles;
        if (!GetInt(r, &start, 32768) || !GetInt(r, &end_plus_one, 32768) ||
            !r.GetU8(&has_canonical)) {
          return bad("truncated keyed state handle");
        }
        k.key_groups = KeyGroupRange{start, end_plus_one - 1};
        if (has_canonical) {
          StateFile f;
          if (!GetFile(r, &f)) return bad("truncated state file entry");
          k.canonical = std::move(f);
        }
        if (!GetCount(r, &nfiles)) return bad("truncated keyed state handle");
        for (uint64_t f = 0; f < nfiles; ++f) {
          StateFile file;
          if (!GetFile(r, &file)) return bad("truncated state file entry");
          k.native_files.push_back(std::move(file));
        }
        if (!GetString(r, &k.backend_id)) return bad("truncated keyed state handle");
        st.keyed = std::move(k);
      }
      op.subtasks.push_back(std::move(st));
    }
    if (static_cast<int>(op.subtasks.size()) != op.parallelism) {
      return bad("operator '" + op.uid + "' lists " + std::to_string(op.subtasks.size()) +
                 " subtasks for parallelism " + std::to_string(op.parallelism));
    }
    m.operators.push_back(std::move(op));
  }
  if (!r.empty()) return bad("trailing bytes");
  // A checksum only says the file is as written; the contents must also make sense, or a
  // damaged or altered file would run as a job that never ends or reads files elsewhere.
  if (m.checkpoint_id < 1) return bad("checkpoint id " + std::to_string(m.checkpoint_id));
  std::set<std::string> uids;
  for (const auto& op : m.operators) {
    if (!uids.insert(op.uid).second) return bad("operator uid '" + op.uid + "' appears twice");
    if (op.max_parallelism < 1 || op.parallelism < 1 || op.parallelism > op.max_parallelism) {
      return bad("operator '" + op.uid + "' has parallelism " + std::to_string(op.parallelism) +
                 " with max parallelism " + std::to_string(op.max_parallelism));
    }
    for (size_t i = 0; i < op.subtasks.size(); ++i) {
      const auto& keyed = op.subtasks[i].keyed;
      if (!keyed) continue;
      KeyGroupRange own =
          KeyGroupRange::ForSubtask(op.max_parallelism, op.parallelism, static_cast<int>(i));
      if (keyed->key_groups != own) {
        return bad("operator '" + op.uid + "' subtask " + std::to_string(i) +
                   " has keyed state for key groups " + keyed->key_groups.ToString() +
                   ", not its own " + own.ToString());
      }
    }
  }
  for (const StateFile* f : m.Files()) {
    std::string_view p = f->path;
    bool escapes = p.empty() || p.front() == '/' || p == ".." || p.starts_with("../") ||
                   p.find("/../") != std::string_view::npos || p.ends_with("/..");
    if (escapes) return bad("state file path '" + f->path + "' leaves the checkpoint");
  }
  return m;
}

const OperatorSnapshotMetadata* CheckpointMetadata::FindOperator(std::string_view uid) const {
  for (const auto& op : operators) {
    if (op.uid == uid) return &op;
  }
  return nullptr;
}

std::vector<const StateFile*> CheckpointMetadata::Files() const {
  std::vector<const StateFile*> files;
  for (const auto& op : operators) {
    for (const auto& st : op.subtasks) {
      if (!st.keyed) continue;
      if (st.keyed->canonical) files.push_back(&*st.keyed->canonical);
      for (const auto& f : st.keyed->native_files) files.push_back(&f);
    }
  }
  return files;
}

StateSizes SizesOf(const SubtaskState& state, int64_t checkpoint_id) {
  StateSizes sizes;
  auto add = [&](const StateFile& f) {
    sizes.full += f.size;
    if (WrittenByCheckpoint(f.path, checkpoint_id)) sizes.checkpointed += f.size;
  };
  for (const auto& list : state.operator_state) {
    for (const auto& e : list.elements) sizes += {e.size(), e.size()};
  }
  if (state.keyed) {
    if (state.keyed->canonical) add(*state.keyed->canonical);
    for (const auto& f : state.keyed->native_files) add(f);
  }
  return sizes;
}

StateSizes CheckpointMetadata::Sizes() const {
  StateSizes sizes;
  for (const auto& op : operators) {
    for (const auto& st : op.subtasks) sizes += SizesOf(st, checkpoint_id);
  }
  return sizes;
}

}  // namespace weir
