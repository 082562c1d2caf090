#include "state/rocksdb_instance.h"

#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>

#include <cstdlib>
#include <mutex>

#include "base/fault_points.h"
#include "state/state_backend_options.h"
#include "base/file_system.h"

namespace weir {
namespace {

constexpr std::string_view kStateColumnPrefix = "state:";
constexpr std::string_view kStateKindKeyPrefix = "weir.state-kind:";
constexpr std::string_view kMaxParallelismKey = "weir.max-parallelism";
constexpr std::string_view kStateCodecKeyPrefix = "weir.state-codec:";
constexpr std::string_view kKeyCodecKey = "weir.key-codec";

// Concatenates list elements: the stored value is the operands in order. One pass over all
// operands (not pairwise, which would copy a growing list once per operand).
class ListAppendOperator final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    size_t n = in.existing_value ? in.existing_value->size() : 0;
    for (const auto& op : in.operand_list) n += op.size();
    out->new_value.clear();
    out->new_value.reserve(n);
    if (in.existing_value)
      out->new_value.append(in.existing_value->data(), in.existing_value->size());
    for (const auto& op : in.operand_list) out->new_value.append(op.data(), op.size());
    return true;
  }
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    size_t n = 0;
    for (const auto& op : operands) n += op.size();
    new_value->clear();
    new_value->reserve(n);
    for (const auto& op : operands) new_value->append(op.data(), op.size());
    return true;
  }
  const char* Name() const override { return "weir.ListAppend"; }
};

// RocksDB's file system with fault points on file creation (see WeirRocksDbEnv).
class FaultPointFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultPointFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target)
      : FileSystemWrapper(target) {}
  const char* Name() const override { return "WeirFaultPointFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (FaultPoints::any_armed()) {
      bool sst = f.size() > 4 && f.compare(f.size() - 4, 4, ".sst") == 0;
      Status s = FaultPoints::Hit(sst ? fault_points::kRocksDbCreateSst
                                     : fault_points::kRocksDbCreateFile);
      if (!s.ok()) return rocksdb::IOStatus::IOError(f, s.message());
    }
    return FileSystemWrapper::NewWritableFile(f, o, r, dbg);
  }
};

std::shared_ptr<rocksdb::MergeOperator> ListMergeOperator() {
  static const auto op = std::make_shared<ListAppendOperator>();
  return op;
}

Status OutOfRange(const Configuration& config, std::string_view key, std::string_view why) {
  std::string source;
  if (auto it = config.entries().find(key); it != config.entries().end()) {
    source = " (from " + it->second.source + ")";
  }
  return Status::InvalidArgument("configuration " + std::string(key) + " = '" +
                                 config.GetRaw(key).value_or("") + "'" + source + ": " +
                                 std::string(why));
}

rocksdb::DBOptions MakeDbOptions(const RocksDbResources& r) {
  rocksdb::DBOptions o;
  o.env = WeirRocksDbEnv();
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.write_buffer_manager = r.write_buffers;
  o.max_background_jobs = 2;
  // One task thread writes: the concurrent memtable insert path is pure overhead.
  o.allow_concurrent_memtable_write = false;
  o.enable_write_thread_adaptive_yield = false;
  // The database is thrown away when the task ends: flushing memtables then is wasted work.
  o.avoid_flush_during_shutdown = true;
  o.info_log_level = rocksdb::WARN_LEVEL;
  o.keep_log_file_num = 2;
  o.stats_dump_period_sec = 0;
  o.stats_persist_period_sec = 0;
  // After a background error (a failed flush), fail: the task restarts with a fresh database
  // restored from a checkpoint, instead of RocksDB retrying every second in the background.
  o.max_bgerror_resume_count = 0;
  return o;
}

rocksdb::ColumnFamilyOptions MakeColumnFamilyOptions(const RocksDbResources& r) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = r.tuning.write_buffer_bytes;
  o.max_write_buffer_number = r.tuning.write_buffer_count;
  o.merge_operator = ListMergeOperator();
  // State is read mostly for keys that exist: the bottom level, which holds most keys, needs
  // no bloom filter (a smaller filter is read less and leaves the cache to data blocks).
  o.optimize_filters_for_hits = true;
  // A whole-key bloom filter in each memtable: a Get of a key the memtable does not hold (with
  // many keys, most of them) skips the search of its skip list, a walk through nodes that are
  // not in the CPU cache. Its memory (a tenth of the memtable) counts against the write buffer.
  o.memtable_whole_key_filtering = true;
  o.memtable_prefix_bloom_size_ratio = 0.1;
  // L0 and L1 are rewritten soon and read most: uncompressed, a Get that misses the block
  // cache copies a block from the OS page cache instead of decompressing it. Deeper levels
  // stay compressed.
  o.compression_per_level = {rocksdb::kNoCompression, rocksdb::kNoCompression,
                             rocksdb::kSnappyCompression};
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = r.block_cache;
  // Index and filter blocks count against the bounded cache instead of growing outside it.
  // They are partitioned into small blocks: a whole filter of a large SST file (1.2 MB for a
  // million keys) is bigger than a cache shard, so it would be evicted at once and read from
  // disk and checksummed on every Get (a 5x slowdown). Only the small top level stays pinned.
  t.cache_index_and_filter_blocks = true;
  t.cache_index_and_filter_blocks_with_high_priority = true;
  t.pin_top_level_index_and_filter = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  t.partition_filters = true;
  t.metadata_block_size = 4096;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace

std::string RocksDbTuning::DefaultLocalDir() {
  const char* tmp = std::getenv("TMPDIR");
  return JoinPath(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "weir-rocksdb");
}

Result<RocksDbTuning> RocksDbTuning::FromConfiguration(const Configuration& config) {
  namespace so = state_backend_options;
  RocksDbTuning t;
  WEIR_ASSIGN_OR_RETURN(std::optional<std::string> dir, config.GetOptional(so::kRocksDbLocalDir));
  if (dir && dir->empty()) {
    return OutOfRange(config, so::kRocksDbLocalDir.key(), "must be a directory path");
  }
  if (!dir) {
    t.local_dir = DefaultLocalDir();
  } else {
    WEIR_ASSIGN_OR_RETURN(t.local_dir, ResolvePath(*dir, so::kRocksDbLocalDir.key()));
  }
  WEIR_ASSIGN_OR_RETURN(MemorySize cache, config.Get(so::kRocksDbBlockCacheSize));
  t.block_cache_bytes = cache.bytes;
  if (t.block_cache_bytes == 0) {
    return OutOfRange(config, so::kRocksDbBlockCacheSize.key(), "must be greater than 0");
  }
  WEIR_ASSIGN_OR_RETURN(MemorySize buffer, config.Get(so::kRocksDbWriteBufferSize));
  t.write_buffer_bytes = buffer.bytes;
  if (t.write_buffer_bytes < (64u << 10)) {
    return OutOfRange(config, so::kRocksDbWriteBufferSize.key(), "must be at least 64 kb");
  }
  WEIR_ASSIGN_OR_RETURN(int64_t count, config.Get(so::kRocksDbWriteBufferCount));
  t.write_buffer_count = static_cast<int>(count);
  WEIR_ASSIGN_OR_RETURN(MemorySize write_cache, config.Get(so::kRocksDbWriteCacheSize));
  t.write_cache_bytes = static_cast<size_t>(write_cache.bytes);
  WEIR_ASSIGN_OR_RETURN(t.incremental, config.Get(so::kIncremental));
  return t;
}

std::shared_ptr<const RocksDbResources> RocksDbResources::Create(const RocksDbTuning& tuning) {
  auto r = std::make_shared<RocksDbResources>();
  r->tuning = tuning;
  rocksdb::LRUCacheOptions cache;
  cache.capacity = tuning.block_cache_bytes;
  // Room for index and filter partitions, which are in the cache but read on every Get.
  cache.high_pri_pool_ratio = 0.1;
  r->block_cache = rocksdb::NewLRUCache(cache);
  r->write_buffers = std::make_shared<rocksdb::WriteBufferManager>(static_cast<size_t>(
      tuning.write_buffer_bytes * static_cast<uint64_t>(tuning.write_buffer_count)));
  return r;
}

rocksdb::Env* WeirRocksDbEnv() {
  static rocksdb::Env* env = [] {
    auto fs = std::make_shared<FaultPointFileSystem>(rocksdb::FileSystem::Default());
    return rocksdb::NewCompositeEnv(fs).release();  // lives as long as the process
  }();
  return env;
}

Status FromRocksDb(const rocksdb::Status& s, std::string_view context) {
  std::string msg = std::string(context) + ": " + s.ToString();
  if (s.IsNoSpace()) return Status::NoSpace(std::move(msg));
  if (s.IsIOError()) return Status::IOError(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(msg));
  return Status::IOError(std::move(msg));
}

void PrefixSuccessor(std::string_view prefix, std::string* out) {
  out->assign(prefix.data(), prefix.size());
  while (!out->empty() && static_cast<unsigned char>(out->back()) == 0xff) out->pop_back();
  if (!out->empty()) out->back() = static_cast<char>(static_cast<unsigned char>(out->back()) + 1);
}

int64_t CountListElements(std::string_view stored) {
  BufferReader r(stored);
  int64_t n = 0;
  while (!r.empty()) {
    std::string_view element;
    if (!r.GetLengthPrefixed(&element)) return -1;
    ++n;
  }
  return n;
}

Result<std::shared_ptr<RocksDbInstance>> RocksDbInstance::Open(
    const std::string& db_path, std::shared_ptr<const RocksDbResources> resources,
    std::shared_ptr<ScopedDirectory> dir) {
  std::shared_ptr<RocksDbInstance> inst(new RocksDbInstance());
  inst->path_ = db_path;
  inst->dir_ = std::move(dir);
  inst->resources_ = std::move(resources);
  inst->cf_options_ = MakeColumnFamilyOptions(*inst->resources_);
  inst->write_options_.disableWAL = true;
  rocksdb::DBOptions db_options = MakeDbOptions(*inst->resources_);
  const std::string context = "opening RocksDB in '" + db_path + "'";

  std::vector<std::string> names;
  if (FileSystem::Default()->Exists(JoinPath(db_path, "CURRENT"))) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, db_path, &names);
    if (!s.ok()) return FromRocksDb(s, context);
  } else {
    names.push_back(rocksdb::kDefaultColumnFamilyName);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, inst->cf_options_);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s;
  {
    // DB::Open logs RocksDB's build properties from a map that RocksDB fills lazily, without
    // a synchronization ThreadSanitizer can see in Debian's uninstrumented build. Opens are
    // rare (a task's start or restore), so they take turns and `make tsan` stays meaningful.
    static std::mutex open_mutex;
    std::lock_guard<std::mutex> lock(open_mutex);
    s = rocksdb::DB::Open(db_options, db_path, descriptors, &handles, &inst->db_);
  }
  if (!s.ok()) return FromRocksDb(s, context);

  // From here on the destructor releases the handles.
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      inst->default_cf_ = handles[i];
    } else {
      inst->states_.push_back(StateColumn{"", detail::StateKind::kValue, handles[i], ""});
    }
  }
  // Recover each state's name and kind; a column family without a recorded kind is not ours.
  for (auto& st : inst->states_) {
    const std::string& cf_name = st.cf->GetName();
    if (!std::string_view(cf_name).starts_with(kStateColumnPrefix)) {
      return Status::Corruption(context + ": column family '" + cf_name + "' is not a weir state");
    }
    st.name = cf_name.substr(kStateColumnPrefix.size());
    std::string kind;
    s = inst->db_->Get(rocksdb::ReadOptions(), inst->default_cf_,
                       std::string(kStateKindKeyPrefix) + st.name, &kind);
    if (!s.ok() || kind.size() != 1 || kind[0] < 1 || kind[0] > 4) {
      return Status::Corruption(context + ": the kind of state '" + st.name + "' is not recorded" +
                                (s.ok() ? "" : " (" + s.ToString() + ")"));
    }
    st.kind = static_cast<detail::StateKind>(kind[0]);
    s = inst->db_->Get(rocksdb::ReadOptions(), inst->default_cf_,
                       std::string(kStateCodecKeyPrefix) + st.name, &st.codec);
    if (!s.ok() && !s.IsNotFound()) return FromRocksDb(s, context);
  }
  s = inst->db_->Get(rocksdb::ReadOptions(), inst->default_cf_, kKeyCodecKey, &inst->key_codec_);
  if (!s.ok() && !s.IsNotFound()) return FromRocksDb(s, context);
  std::string mp;
  s = inst->db_->Get(rocksdb::ReadOptions(), inst->default_cf_, kMaxParallelismKey, &mp);
  if (s.ok()) {
    uint64_t v = 0;
    BufferReader r(mp);
    if (!r.GetVarint64(&v) || v == 0 || v > 32768) {
      return Status::Corruption(context + ": malformed max parallelism record");
    }
    inst->max_parallelism_ = static_cast<int>(v);
  } else if (!s.IsNotFound()) {
    return FromRocksDb(s, context);
  }
  return inst;
}

RocksDbInstance::~RocksDbInstance() {
  if (db_ != nullptr) {
    for (auto& st : states_) (void)db_->DestroyColumnFamilyHandle(st.cf);
    if (default_cf_ != nullptr) (void)db_->DestroyColumnFamilyHandle(default_cf_);
    (void)db_->Close();
    delete db_;
  }
  // dir_ is released after the database is closed (members are destroyed after this body).
}

ScopedDirectory::~ScopedDirectory() { (void)FileSystem::Default()->DeleteDirRecursive(path_); }

int RocksDbInstance::FindState(std::string_view name) const {
  for (size_t i = 0; i < states_.size(); ++i) {
    if (states_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Result<int> RocksDbInstance::AddState(std::string_view name, detail::StateKind kind,
                                      std::string_view codec) {
  const std::string context =
      "creating the column family of state '" + std::string(name) + "' in RocksDB '" + path_ + "'";
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  rocksdb::Status s = db_->CreateColumnFamily(
      cf_options_, std::string(kStateColumnPrefix) + std::string(name), &cf);
  if (!s.ok()) return FromRocksDb(s, context);
  states_.push_back(StateColumn{std::string(name), kind, cf, ""});
  char k = static_cast<char>(kind);
  s = db_->Put(write_options_, default_cf_, std::string(kStateKindKeyPrefix) + std::string(name),
               rocksdb::Slice(&k, 1));
  if (!s.ok()) return FromRocksDb(s, context);
  int index = static_cast<int>(states_.size()) - 1;
  if (!codec.empty()) WEIR_RETURN_IF_ERROR_CTX(SetStateCodec(index, codec), context);
  return index;
}

Status RocksDbInstance::SetStateCodec(int index, std::string_view codec) {
  StateColumn& st = states_[static_cast<size_t>(index)];
  rocksdb::Status s = db_->Put(write_options_, default_cf_,
                               std::string(kStateCodecKeyPrefix) + st.name,
                               rocksdb::Slice(codec.data(), codec.size()));
  if (!s.ok()) return FromRocksDb(s, "writing to RocksDB '" + path_ + "'");
  st.codec.assign(codec);
  return Status::OK();
}

Status RocksDbInstance::SetKeyCodec(std::string_view codec) {
  rocksdb::Status s = db_->Put(write_options_, default_cf_, kKeyCodecKey,
                               rocksdb::Slice(codec.data(), codec.size()));
  if (!s.ok()) return FromRocksDb(s, "writing to RocksDB '" + path_ + "'");
  key_codec_.assign(codec);
  return Status::OK();
}

Status RocksDbInstance::SetMaxParallelism(int max_parallelism) {
  std::string v;
  BufferWriter(&v).PutVarint64(static_cast<uint64_t>(max_parallelism));
  rocksdb::Status s = db_->Put(write_options_, default_cf_, kMaxParallelismKey, v);
  if (!s.ok()) return FromRocksDb(s, "writing to RocksDB '" + path_ + "'");
  max_parallelism_ = max_parallelism;
  return Status::OK();
}

}  // namespace weir
