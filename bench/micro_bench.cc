// Microbenchmarks of weir's hot paths (Google Benchmark). Per-record figures are reported as
// items_per_second; divide into 1e9 for nanoseconds per record.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <random>
#include <thread>

#include "base/clock.h"
#include "base/hash.h"
#include "runtime/barrier_aligner.h"
#include "runtime/channel.h"
#include "runtime/input_gate.h"
#include "state/cached_write_list.h"
#include "state/heap_keyed_state_backend.h"
#include "state/rocksdb_keyed_state_backend.h"
#include "state/snapshot_location.h"
#include "weir/codec.h"
#include "weir/detail/record_writer.h"

namespace weir {
namespace {

// ---- Channel hand-off: one producer thread, the benchmark thread consuming. ------------------

void BM_ChannelHandoff(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const int64_t records = 1 << 22;
  for (auto _ : state) {
    TaskWaker consumer_waker, producer_waker;
    Channel ch(16384, 16384, batch, &consumer_waker, &producer_waker);
    std::thread producer([&] {
      int64_t sent = 0;
      while (sent < records) {
        while (!ch.HasCapacity()) producer_waker.WaitUntil(-1, *Clock::System());
        auto recycled = ch.TakeRecycled();
        std::unique_ptr<detail::Batch<int64_t>> b(
            recycled ? static_cast<detail::Batch<int64_t>*>(recycled.release())
                     : new detail::Batch<int64_t>());
        for (size_t i = 0; i < batch && sent < records; ++i) b->records.push_back(sent++);
        ch.PushBatch(std::move(b));
      }
      ch.PushEvent(EventKind::kEndOfPartition);
    });
    int64_t received = 0;
    int64_t sum = 0;
    Envelope e;
    while (true) {
      if (!ch.Poll(&e)) {
        consumer_waker.WaitUntil(-1, *Clock::System());
        continue;
      }
      if (e.kind == EventKind::kEndOfPartition) break;
      auto& b = static_cast<detail::Batch<int64_t>&>(*e.batch);
      for (int64_t v : b.records) sum += v;
      received += static_cast<int64_t>(b.records.size());
      ch.Recycle(std::move(e.batch));
    }
    producer.join();
    benchmark::DoNotOptimize(sum);
    if (received != records) state.SkipWithError("lost records");
  }
  state.SetItemsProcessed(state.iterations() * records);
}
BENCHMARK(BM_ChannelHandoff)
    ->Arg(1)
    ->Arg(64)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---- Codecs ----------------------------------------------------------------------------------

void BM_CodecEncodeInt64(benchmark::State& state) {
  std::string buf;
  int64_t v = 0;
  for (auto _ : state) {
    buf.clear();
    BufferWriter w(&buf);
    Codec<int64_t>::Encode(v++, w);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodecEncodeInt64);

void BM_CodecRoundTripTuple(benchmark::State& state) {
  using T = std::tuple<int32_t, std::string, double>;
  T value{42, "a key of some length", 3.5};
  std::string buf;
  T out;
  for (auto _ : state) {
    buf.clear();
    BufferWriter w(&buf);
    Codec<T>::Encode(value, w);
    BufferReader r(buf);
    benchmark::DoNotOptimize(Codec<T>::Decode(r, out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodecRoundTripTuple);

// ---- Key groups: encode the key, hash it, pick the key group and channel --------------------

void BM_KeyGroupSelector(benchmark::State& state) {
  auto key_of = [](const int64_t& v) { return v % 100'000; };
  detail::KeyGroupSelector<int64_t, decltype(key_of)> select(key_of, 128, 4);
  int64_t v = 0;
  int sum = 0;
  for (auto _ : state) sum += select(v++);
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyGroupSelector);

void BM_Hash64(benchmark::State& state) {
  std::string key(static_cast<size_t>(state.range(0)), 'k');
  uint64_t h = 0;
  for (auto _ : state) {
    key[0] = static_cast<char>(h);
    h += Hash64(key);
  }
  benchmark::DoNotOptimize(h);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hash64)->Arg(8)->Arg(32);

// A state file's checksum, 128 KiB at a time (a heap snapshot's section): Checksum (xxHash's
// runtime-dispatched code) against the header-inlined portable XXH3 (arg 1), which state
// files went through before.
void BM_FileChecksum(benchmark::State& state) {
  std::string piece(128 << 10, 'x');
  for (size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<char>(i * 131);
  uint64_t h = 0;
  for (auto _ : state) {
    piece[0] = static_cast<char>(h);
    if (state.range(0) == 0) {
      Checksum sum;
      for (int i = 0; i < 8; ++i) sum.Update(piece);
      h += sum.Digest();
    } else {
      XXH3_state_t sum;
      XXH3_64bits_reset(&sum);
      for (int i = 0; i < 8; ++i) XXH3_64bits_update(&sum, piece.data(), piece.size());
      h += XXH3_64bits_digest(&sum);
    }
  }
  benchmark::DoNotOptimize(h);
  state.SetBytesProcessed(state.iterations() * 8 * static_cast<int64_t>(piece.size()));
}
BENCHMARK(BM_FileChecksum)->Arg(0)->Arg(1);

// ---- Keyed state on the heap backend: set the current key, read and update a value ----------

// `count` distinct-looking int64 keys, encoded as the backends see them (at most 2^20).
// Random int64 keys, encoded; or, with `pairs`, pairs of them (16 bytes: a composite key).
// What a benchmark's keys are: random int64s, pairs of them, or the ids 0..n-1 (dense ids,
// sequence numbers), in that order.
enum class Keys { kRandom, kPairs, kDense };

std::vector<std::string> EncodedKeys(int64_t count, Keys kind = Keys::kRandom) {
  std::mt19937_64 rng(7);
  std::vector<std::string> encoded;
  for (int64_t k = 0; k < std::min<int64_t>(count, 1 << 20); ++k) {
    auto a = static_cast<int64_t>(rng());
    switch (kind) {
      case Keys::kRandom: encoded.push_back(EncodeToString<int64_t>(a)); break;
      case Keys::kPairs:
        encoded.push_back(EncodeToString(std::pair<int64_t, int64_t>(a, k)));
        break;
      case Keys::kDense: encoded.push_back(EncodeToString<int64_t>(k)); break;
    }
  }
  return encoded;
}

// The heap backend with one ValueState<int64_t>, every key of `encoded` holding 0 before
// timing starts: updates, not inserts (db_bench's updaterandom).
// Changes every key's value once, as a job does between checkpoints in the worst case: on a
// HeapSumFixture or a RocksDbSumFixture.
template <typename SumFixture>
void IncrementAll(SumFixture& f) {
  for (const auto& k : f.encoded) {
    f.backend->SetCurrentKey(k);
    f.Increment();
  }
}

class HeapSumFixture {
 public:
  explicit HeapSumFixture(int64_t keys, Keys kind = Keys::kRandom, bool incremental = false)
      : encoded(EncodedKeys(keys, kind)) {
    if (incremental) config_.Set("execution.checkpointing.incremental", "true");
    o_.operator_uid = "bench";
    o_.operator_name = "bench";
    o_.key_groups = KeyGroupRange{0, 127};
    o_.clock = &clock_;
    o_.fs = FileSystem::Default();
    o_.config = &config_;
    backend = std::make_unique<HeapKeyedStateBackend>(o_);
    sum = static_cast<detail::HeapValueTable<int64_t>*>(
        backend->AddTable(std::make_unique<detail::HeapValueTable<int64_t>>(
            "sum", detail::StateKind::kValue, backend->current_key_id())));
    for (const auto& k : encoded) {
      backend->SetCurrentKey(k);
      sum->Put(0);
    }
  }

  const KeyedBackendOptions& options() const { return o_; }

  void Increment() {
    const int64_t* v = sum->Get();
    sum->Put((v ? *v : 0) + 1);
  }

  std::vector<std::string> encoded;
  std::unique_ptr<HeapKeyedStateBackend> backend;
  detail::ValueStateImpl<int64_t>* sum = nullptr;

 private:
  Configuration config_;
  ManualClock clock_;
  KeyedBackendOptions o_;
};

// A record at a time: each lookup of a random key waits for its own cache miss.
void UpdateARecordAtATime(benchmark::State& state, Keys kind) {
  HeapSumFixture f(state.range(0), kind);
  size_t i = 0;
  for (auto _ : state) {
    f.backend->SetCurrentKey(f.encoded[i]);
    f.Increment();
    if (++i == f.encoded.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_HeapValueStateUpdate(benchmark::State& state) {
  UpdateARecordAtATime(state, Keys::kRandom);
}
BENCHMARK(BM_HeapValueStateUpdate)->Arg(1)->Arg(1000)->Arg(1'000'000);

// The same with 16-byte keys, pairs of int64 (a composite key such as (auction, window)).
void BM_HeapValueStateUpdatePairKeys(benchmark::State& state) {
  UpdateARecordAtATime(state, Keys::kPairs);
}
BENCHMARK(BM_HeapValueStateUpdatePairKeys)->Arg(1000)->Arg(1'000'000);

// The same with the keys 0..n-1 in order (dense ids, sequence numbers): KeyHash starts every
// four of them in one cache line of the index, so their lookups read memory in order.
void BM_HeapValueStateUpdateDenseKeys(benchmark::State& state) {
  UpdateARecordAtATime(state, Keys::kDense);
}
BENCHMARK(BM_HeapValueStateUpdateDenseKeys)->Arg(1000)->Arg(1'000'000);

// A heap snapshot of `keys` int64 sums, written to a file (under /tmp): what a checkpoint
// costs its snapshot thread. Incremental: each checkpoint completes, so the next writes only
// the values and reuses the key file the first one wrote (before timing starts).
void HeapSnapshot(benchmark::State& state, bool incremental) {
  HeapSumFixture f(state.range(0), Keys::kRandom, incremental);
  char tmpl[] = "/tmp/weir-micro-snapshot-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return state.SkipWithError("cannot create a directory in /tmp");
  const std::string dir = tmpl;
  int64_t id = 0;
  auto take = [&] {
    const std::string chk = "chk-" + std::to_string(++id);
    Status made = FileSystem::Default()->CreateDirs(dir + "/" + chk);
    auto snapshot = f.backend->Snapshot(id, false);
    if (!made.ok() || !snapshot.ok()) return Status::Internal("cannot take the snapshot");
    auto handle = (*snapshot)->Write(SnapshotLocation(FileSystem::Default(), dir, chk));
    if (!handle.ok()) return handle.status();
    f.backend->NotifyCheckpointComplete(id);
    return Status::OK();
  };
  if (Status s = take(); !s.ok()) state.SkipWithError(s.ToString().c_str());
  for (auto _ : state) {
    if (Status s = take(); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    state.PauseTiming();
    std::filesystem::remove_all(dir + "/chk-" + std::to_string(id));
    state.ResumeTiming();
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.encoded.size()));
}
void BM_HeapSnapshot(benchmark::State& state) { HeapSnapshot(state, false); }
void BM_HeapIncrementalSnapshot(benchmark::State& state) { HeapSnapshot(state, true); }
BENCHMARK(BM_HeapIncrementalSnapshot)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HeapSnapshot)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// A restore into a new backend of a heap checkpoint of `keys` int64 sums, through the state's
// declaration (when the restored values are decoded into the table): what a failover costs
// before the task processes again. Arguments: keys, and whether the checkpoint is
// incremental (the heap backend's own format) or a savepoint (the canonical one).
void BM_HeapRestore(benchmark::State& state) {
  const bool native = state.range(1) != 0;
  HeapSumFixture f(state.range(0), Keys::kRandom, native);
  char tmpl[] = "/tmp/weir-micro-restore-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return state.SkipWithError("cannot create a directory in /tmp");
  const std::string dir = tmpl;
  SnapshotLocation location(FileSystem::Default(), dir, "chk-1");
  auto snapshot = f.backend->Snapshot(1, /*savepoint=*/!native);
  auto handle = FileSystem::Default()->CreateDirs(dir + "/chk-1").ok() && snapshot.ok()
                    ? (*snapshot)->Write(location)
                    : Result<KeyedStateHandle>(Status::IOError("cannot take the snapshot"));
  if (!handle.ok()) {
    std::filesystem::remove_all(dir);
    return state.SkipWithError(handle.status().ToString().c_str());
  }
  for (auto _ : state) {
    auto restored = std::make_unique<HeapKeyedStateBackend>(f.options());
    Status s = restored->Restore({{&*handle, &location}});
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    restored->AddTable(std::make_unique<detail::HeapValueTable<int64_t>>(
        "sum", detail::StateKind::kValue, restored->current_key_id()));
    state.PauseTiming();
    restored.reset();  // freeing the tables is not the restore's
    state.ResumeTiming();
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.encoded.size()));
}
BENCHMARK(BM_HeapRestore)
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Unit(benchmark::kMillisecond);

// What a checkpoint costs the task thread after its snapshot is written: every key updated
// once (keys in order), as a job whose keys all change between checkpoints does. The
// snapshot (untimed) has let go of its frozen view, so nothing needs copying.
void BM_HeapUpdatesAfterASnapshot(benchmark::State& state) {
  HeapSumFixture f(state.range(0), Keys::kDense);
  int64_t id = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto snapshot = f.backend->Snapshot(++id, false);
    if (!snapshot.ok()) return state.SkipWithError("cannot take the snapshot");
    (*snapshot).reset();  // written, and its views released
    state.ResumeTiming();
    IncrementAll(f);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.encoded.size()));
}
BENCHMARK(BM_HeapUpdatesAfterASnapshot)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// A batch of 1024 at a time, as the keyed operator does it with many keys: hash the batch,
// then prefetch the index 16 to 32 keys ahead of the record being updated.
void BM_HeapValueStateUpdateBatchPrefetch(benchmark::State& state) {
  HeapSumFixture f(state.range(0));
  constexpr size_t kBatch = 1024, kAhead = 16;
  std::vector<uint64_t> hashes(kBatch);
  std::vector<const std::string*> batch(kBatch);
  size_t next = 0;
  for (auto _ : state) {
    for (size_t j = 0; j < kBatch; ++j) {
      batch[j] = &f.encoded[next];
      hashes[j] = detail::KeyHash(*batch[j]);
      if (++next == f.encoded.size()) next = 0;
    }
    for (size_t j = 0; j < kBatch; ++j) {
      if (j % kAhead == 0) {
        size_t from = j == 0 ? 0 : j + kAhead, to = std::min(kBatch, j + 2 * kAhead);
        if (from < to) f.backend->PrefetchKeys(&hashes[from], to - from);
      }
      f.backend->SetCurrentKey(*batch[j], hashes[j]);
      f.Increment();
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_HeapValueStateUpdateBatchPrefetch)->Arg(1000)->Arg(1'000'000);

// ---- Keyed state on the RocksDB backend: the same access through the raw adapter ------------

// A RocksDB backend with one value state, every key of `keys` present, in a temporary
// directory removed at the end.
struct RocksDbSumFixture {
  RocksDbSumFixture(int64_t keys, bool write_cache, bool incremental = false)
      : encoded(EncodedKeys(keys)) {
    char tmpl[] = "/tmp/weir-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    config.Set("state.backend.rocksdb.localdir", dir);
    if (!write_cache) config.Set("state.backend.rocksdb.write-cache.size", "0");
    if (incremental) config.Set("execution.checkpointing.incremental", "true");
    KeyedBackendOptions& o = options;
    o.job_id = "bench";
    o.operator_uid = "bench";
    o.operator_name = "bench";
    o.key_groups = KeyGroupRange{0, 127};
    o.clock = &clock;
    o.fs = FileSystem::Default();
    o.config = &config;
    auto b = RocksDbKeyedStateBackend::Create(o);
    if (!b.ok()) {
      error = b.status().ToString();
      return;
    }
    backend = std::move(*b);
    sum.emplace(backend.get(),
                backend->RegisterState("sum", detail::StateKind::kValue,
                                       detail::SchemaOf<int64_t>()),
                "sum");
    // Every key exists before timing starts: updates, not inserts (db_bench's updaterandom,
    // which runs on a database its fillrandom filled).
    for (const auto& k : encoded) {
      backend->SetCurrentKey(k);
      sum->Put(0);
    }
  }
  ~RocksDbSumFixture() {
    sum.reset();
    backend.reset();
    (void)FileSystem::Default()->DeleteDirRecursive(dir);
  }
  void Increment() {
    const int64_t* v = sum->Get();
    sum->Put((v ? *v : 0) + 1);
  }

  std::vector<std::string> encoded;
  std::string dir;
  Configuration config;
  ManualClock clock;
  KeyedBackendOptions options;
  std::unique_ptr<RocksDbKeyedStateBackend> backend;
  std::optional<detail::RawValueState<int64_t>> sum;
  std::string error;
};

// Arguments: keys, and whether the write cache is on (off: every update is a RocksDB Get and
// Put, as db_bench's updaterandom).
void BM_RocksDbValueStateUpdate(benchmark::State& state) {
  RocksDbSumFixture f(state.range(0), state.range(1) != 0);
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    f.backend->SetCurrentKey(f.encoded[i]);
    f.Increment();
    if (++i == f.encoded.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RocksDbValueStateUpdate)
    ->Args({1, 1})
    ->Args({1000, 1})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 0});

// As BM_HeapValueStateUpdateBatchPrefetch, on RocksDB with its write cache. Arguments: keys,
// and whether to prefetch (when the backend wants it).
void BM_RocksDbValueStateUpdateBatchPrefetch(benchmark::State& state) {
  RocksDbSumFixture f(state.range(0), /*write_cache=*/true);
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  constexpr size_t kBatch = 1024, kAhead = 16;
  std::vector<uint64_t> hashes(kBatch);
  std::vector<const std::string*> batch(kBatch);
  size_t next = 0;
  const bool prefetch = state.range(1) != 0 && f.backend->wants_key_prefetch();
  for (auto _ : state) {
    for (size_t j = 0; j < kBatch; ++j) {
      batch[j] = &f.encoded[next];
      hashes[j] = detail::KeyHash(*batch[j]);
      if (++next == f.encoded.size()) next = 0;
    }
    for (size_t j = 0; j < kBatch; ++j) {
      if (prefetch && j % kAhead == 0) {
        size_t from = j == 0 ? 0 : j + kAhead, to = std::min(kBatch, j + 2 * kAhead);
        if (from < to) f.backend->PrefetchKeys(&hashes[from], to - from);
      }
      f.backend->SetCurrentKey(*batch[j], hashes[j]);
      f.Increment();
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_RocksDbValueStateUpdateBatchPrefetch)
    ->Args({1000, 1})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1});

// A full RocksDB snapshot's sort of the write cache's copies: `keys` RocksDB keys of int64s
// in 128 key groups, as a CachedWriteList holds them, sorted in memory kept from sort to
// sort. Arguments: keys, and whether they are the ids 0..n-1 (1; they differ in four bytes
// and sort as 64-bit integers) or random int64s (0).
void BM_SortCachedWrites(benchmark::State& state) {
  const std::vector<std::string> encoded =
      EncodedKeys(state.range(0), state.range(1) != 0 ? Keys::kDense : Keys::kRandom);
  CachedWriteList list;
  std::string key;
  for (const std::string& k : encoded) {
    key.clear();
    AppendStateKeyPrefix(detail::KeyGroupForHash(Hash64(k), 128), k, &key);
    list.Add(key, true, "sum-of-8");
  }
  KeyOrderScratch scratch;
  CachedWriteList sorted;
  for (auto _ : state) {
    state.PauseTiming();
    sorted = list;  // in the order added, as the task copies them
    state.ResumeTiming();
    sorted.SortByKey(scratch);
    benchmark::DoNotOptimize(sorted[0]);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(encoded.size()));
}
BENCHMARK(BM_SortCachedWrites)
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Unit(benchmark::kMillisecond);

// A RocksDB checkpoint of `keys` int64 sums, every one changed in the write cache since the
// last (updated while the timer is paused), written to a file under /tmp: the snapshot's
// part on the task thread and its writing, as one checkpoint costs them in a row. Arguments:
// keys, and whether the checkpoint is incremental.
void BM_RocksDbSnapshot(benchmark::State& state) {
  RocksDbSumFixture f(state.range(0), /*write_cache=*/true, state.range(1) != 0);
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  char tmpl[] = "/tmp/weir-micro-snapshot-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return state.SkipWithError("cannot create a directory in /tmp");
  const std::string dir = tmpl;
  int64_t id = 0;
  for (auto _ : state) {
    state.PauseTiming();
    IncrementAll(f);
    const std::string chk = "chk-" + std::to_string(++id);
    Status made = FileSystem::Default()->CreateDirs(dir + "/" + chk);
    state.ResumeTiming();
    auto snapshot = f.backend->Snapshot(id, false);
    if (!made.ok() || !snapshot.ok()) {
      state.SkipWithError("cannot take the snapshot");
      break;
    }
    auto handle = (*snapshot)->Write(SnapshotLocation(FileSystem::Default(), dir, chk));
    if (!handle.ok()) {
      state.SkipWithError(handle.status().ToString().c_str());
      break;
    }
    f.backend->NotifyCheckpointComplete(id);
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.encoded.size()));
}
// Arguments of the checkpoint and restore benchmarks: a million keys, full and incremental.
void MillionKeysFullAndIncremental(benchmark::internal::Benchmark* b) {
  b->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_RocksDbSnapshot)->Apply(MillionKeysFullAndIncremental);

// A restore into a new backend of a snapshot of a million cached values, every one changed
// since the last checkpoint. Arguments: keys, and whether the snapshot is incremental (its
// changed values in a file of their own, which the restore puts back in the write cache).
void BM_RocksDbRestore(benchmark::State& state) {
  RocksDbSumFixture f(state.range(0), /*write_cache=*/true, state.range(1) != 0);
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  IncrementAll(f);
  char tmpl[] = "/tmp/weir-micro-restore-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return state.SkipWithError("cannot create a directory in /tmp");
  const std::string dir = tmpl;
  SnapshotLocation location(FileSystem::Default(), dir, "chk-1");
  auto snapshot = f.backend->Snapshot(1, false);
  auto handle = FileSystem::Default()->CreateDirs(dir + "/chk-1").ok() && snapshot.ok()
                    ? (*snapshot)->Write(location)
                    : Result<KeyedStateHandle>(Status::IOError("cannot take the snapshot"));
  if (!handle.ok()) return state.SkipWithError(handle.status().ToString().c_str());
  for (auto _ : state) {
    auto restored = RocksDbKeyedStateBackend::Create(f.options);
    Status s = restored.ok() ? (*restored)->Restore({{&*handle, &location}}) : restored.status();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    state.PauseTiming();
    restored->reset();  // closing RocksDB is not the restore's
    state.ResumeTiming();
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.encoded.size()));
}
BENCHMARK(BM_RocksDbRestore)->Apply(MillionKeysFullAndIncremental);

// ---- Barrier alignment over several channels -------------------------------------------------

void BM_BarrierAlignment(benchmark::State& state) {
  const int channels = static_cast<int>(state.range(0));
  TaskWaker a, b;
  std::vector<std::shared_ptr<Channel>> chs;
  for (int c = 0; c < channels; ++c) chs.push_back(std::make_shared<Channel>(16, 16, 4, &a, &b));
  InputGate gate(chs, DebloatOptions{});
  BarrierAligner aligner(&gate, /*exactly_once=*/true, Clock::System());
  std::vector<int64_t> abandoned;
  int64_t id = 0;
  for (auto _ : state) {
    CheckpointBarrier barrier{.id = ++id};
    for (int c = 0; c < channels; ++c) {
      benchmark::DoNotOptimize(aligner.OnBarrier(c, barrier, &abandoned));
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BarrierAlignment)->Arg(1)->Arg(4)->Arg(16);

}  // namespace
}  // namespace weir

BENCHMARK_MAIN();
