// Internal: a Transformation is one node of the job as the user wrote it.
//
// DataStream calls add nodes; Execute() turns them into a job graph (chaining forward edges
// of equal parallelism into one task), then into parallel subtasks. All typed code lives in
// the factories below, so the runtime that calls them needs no templates.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "weir/detail/batch.h"
#include "weir/detail/operator.h"
#include "weir/detail/record_writer.h"

namespace weir::detail {

// How records reach a transformation from its input.
enum class Partitioning { kForward, kRebalance, kKeyGroups };

// An object the runtime keeps alive while it is wired into a chain, and the typed consumer
// (BatchConsumer<T>*) to emit into.
struct WiredConsumer {
  std::shared_ptr<void> owner;
  void* consumer = nullptr;
  RecordWriterBase* writer = nullptr;  // set when the consumer sends to other tasks
};

// The writer at the end of a producing task's chain that sends records to a transformation's
// subtasks over `channels` (one per consumer subtask).
using InputWriterFactory = std::function<WiredConsumer(std::vector<OutputChannel*> channels,
                                                       int producer_subtask, int max_parallelism)>;

struct Transformation;

// One input of a transformation: the producer, how records reach the consumer from it, and
// which of the consumer operator's inputs it feeds (0, or 1 for the second input of a
// two-input operator; every input of a union feeds input 0).
struct TransformationInput {
  Transformation* transformation = nullptr;
  Partitioning partitioning = Partitioning::kForward;
  int operator_input = 0;
  InputWriterFactory create_writer;
};

struct Transformation {
  enum class Kind { kSource, kOperator, kSink };

  int id = 0;
  Kind kind = Kind::kOperator;
  std::string name;
  std::string uid;          // stable operator id for state; empty: derived from `id`
  int parallelism = 0;      // 0: the job's default parallelism
  bool non_parallel = false;  // a source that always runs with parallelism 1
  Transformation* input = nullptr;
  Partitioning partitioning = Partitioning::kForward;
  bool keyed = false;       // consumes a keyed stream: gets keyed state and timers
  const std::type_info* output_type = nullptr;
  // Set when this transformation reads side output `side_output_tag` of `input` (made by
  // GetSideOutput): it runs chained to its input, fed through that operator's SideOutputs by
  // what create_side_output makes of its typed input.
  std::string side_output_tag;
  std::function<std::unique_ptr<SideOutputBase>(void* consumer, size_t flush_at)>
      create_side_output;

  std::function<std::unique_ptr<StreamOperator>()> create_operator;

  // Sources made with FromSource: their enumerator, one per run of the job, on the
  // coordinating side (detail/source_coordinator.h). Empty for other transformations.
  std::function<std::unique_ptr<SourceCoordinatorBase>(int parallelism, const Configuration* config,
                                                       FileSystem* fs)>
      create_source_coordinator;

  // The writer at the end of the producing task's chain that sends records to this
  // transformation's subtasks over `channels` (one per consumer subtask).
  InputWriterFactory create_input_writer;

  // The inputs after the first (`input` above): the other streams of a union, the second
  // input of a two-input operator. A transformation with several inputs is never chained.
  std::vector<TransformationInput> extra_inputs;
  int num_operator_inputs = 1;  // 2: the operator is a TwoInputStreamOperator

  // Fans this transformation's output out to several consumers (BatchConsumer<Out>*), each
  // but the last getting a copy: a job that sends a type that cannot be copied to more than one
  // consumer is refused when its graph is built.
  std::function<WiredConsumer(const std::vector<void*>& consumers)> create_output_tee;
  bool output_copyable = true;

  // Every input, the first first; empty for a source.
  std::vector<TransformationInput> inputs() const {
    std::vector<TransformationInput> all;
    if (input != nullptr) all.push_back({input, partitioning, 0, create_input_writer});
    all.insert(all.end(), extra_inputs.begin(), extra_inputs.end());
    return all;
  }

  std::string OperatorUid() const { return uid.empty() ? "auto-" + std::to_string(id) : uid; }
};

}  // namespace weir::detail

namespace weir::detail {

// The transformations of one job, in creation order (which is a topological order).
class GraphBuilder {
 public:
  Transformation* Add(std::unique_ptr<Transformation> t) {
    t->id = static_cast<int>(transformations_.size()) + 1;
    transformations_.push_back(std::move(t));
    return transformations_.back().get();
  }
  const std::vector<std::unique_ptr<Transformation>>& transformations() const {
    return transformations_;
  }

 private:
  std::vector<std::unique_ptr<Transformation>> transformations_;
};

}  // namespace weir::detail
