// StreamExecutionEnvironment: where a job is defined, configured and run, as in Flink.
//
//   weir::StreamExecutionEnvironment env(config);
//   env.SetParallelism(1).EnableCheckpointing(std::chrono::seconds(1));
//   env.FromSequence(0, 100).Map(...).KeyBy(...).Process(...).WriteAsText("out.txt");
//   weir::JobResult result = env.Execute("my job");
//
// Execute() runs the whole job inside this process: one thread per parallel task, bounded
// channels between them, checkpoints and restarts as configured. Configuration keys are
// Flink's where they fit (see Configuration::KnownOptions and the README); setters on the
// environment write the same keys.
//
// Thread-safety: build and execute a job from one thread. One environment runs one job.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weir/configuration.h"
#include "weir/data_stream.h"
#include "weir/detail/source_operator.h"
#include "weir/detail/sources.h"
#include "weir/job.h"
#include "weir/source.h"
#include "weir/watermark.h"

namespace weir {

class Clock;
class FileSystem;

enum class CheckpointingMode { kExactlyOnce, kAtLeastOnce };

class StreamExecutionEnvironment {
 public:
  StreamExecutionEnvironment();
  explicit StreamExecutionEnvironment(Configuration config);
  ~StreamExecutionEnvironment();
  StreamExecutionEnvironment(const StreamExecutionEnvironment&) = delete;
  StreamExecutionEnvironment& operator=(const StreamExecutionEnvironment&) = delete;

  // parallelism.default (default 1).
  StreamExecutionEnvironment& SetParallelism(int parallelism);
  // pipeline.max-parallelism: the number of key groups (default 128).
  StreamExecutionEnvironment& SetMaxParallelism(int max_parallelism);
  // execution.checkpointing.interval and .mode.
  StreamExecutionEnvironment& EnableCheckpointing(
      std::chrono::milliseconds interval, CheckpointingMode mode = CheckpointingMode::kExactlyOnce);
  // state.backend.type: "hashmap" or "rocksdb".
  StreamExecutionEnvironment& SetStateBackend(std::string type);

  Configuration& config();
  const Configuration& config() const;

  // The numbers from..to (inclusive), split into one contiguous range per parallel subtask as
  // Flink's NumberSequenceSource does. Checkpointed per split.
  DataStream<int64_t> FromSequence(int64_t from, int64_t to);

  // The elements, in order, from a non-parallel source.
  template <typename T>
  DataStream<T> FromCollection(std::vector<T> elements) {
    auto shared = std::make_shared<const std::vector<T>>(std::move(elements));
    return AddSource<T, detail::CollectionSplit, std::vector<detail::CollectionSplit>>(
        std::make_shared<const detail::CollectionSource<T>>(std::move(shared)), std::nullopt,
        "Collection Source", /*non_parallel=*/true);
  }

  // The records of `source` (weir/source.h), with event time from `watermark_strategy`
  // (WatermarkStrategy<T>::NoWatermarks() for none): each split has its own watermark
  // generator, and each reader's watermark is the minimum over its splits. As Flink's
  // env.fromSource(source, strategy, name).
  template <typename S>
  DataStream<typename S::OutputType> FromSource(
      S source, WatermarkStrategy<typename S::OutputType> watermark_strategy, std::string name) {
    using T = typename S::OutputType;
    std::shared_ptr<const Source<T, typename S::SplitType, typename S::EnumStateType>> shared =
        std::make_shared<const S>(std::move(source));
    return AddSource(std::move(shared), std::optional<WatermarkStrategy<T>>(std::move(watermark_strategy)),
                     std::move(name), /*non_parallel=*/false);
  }

  // Runs the job to completion and returns how it ended.
  JobResult Execute(std::string job_name);
  // Starts the job and returns at once.
  std::unique_ptr<JobClient> ExecuteAsync(std::string job_name);

  // For tests: the file system and clock every part of the job uses.
  void SetFileSystemForTesting(FileSystem* fs);
  void SetClockForTesting(Clock* clock);

 private:
  detail::GraphBuilder* graph();

  template <typename T, typename Split, typename EnumState>
  DataStream<T> AddSource(std::shared_ptr<const Source<T, Split, EnumState>> source,
                          std::optional<WatermarkStrategy<T>> strategy, std::string name,
                          bool non_parallel) {
    auto t = std::make_unique<detail::Transformation>();
    t->kind = detail::Transformation::Kind::kSource;
    t->name = name;
    t->non_parallel = non_parallel;
    detail::SetOutputType<T>(*t);
    t->create_operator = [source, strategy]() {
      return std::make_unique<detail::SourceReaderOperator<T, Split, EnumState>>(source, strategy);
    };
    t->create_source_coordinator = [source, name](int parallelism, const Configuration* config,
                                                  FileSystem* fs) {
      return std::unique_ptr<detail::SourceCoordinatorBase>(
          std::make_unique<detail::SourceCoordinator<T, Split, EnumState>>(source, name,
                                                                           parallelism, config, fs));
    };
    return DataStream<T>(graph(), graph()->Add(std::move(t)));
  }

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weir
