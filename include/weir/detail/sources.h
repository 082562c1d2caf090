// Internal: the sources behind StreamExecutionEnvironment::FromCollection (here) and
// FromSequence (src/connectors/sequence_source.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/operator.h"

namespace weir::detail {

template <typename Out>
class SourceOperator : public SourceOperatorBase {
 public:
  void SetTypedOutput(void* consumer) override {
    out_ = static_cast<BatchConsumer<Out>*>(consumer);
    watermark_output_ = out_;
  }
  const std::type_info* output_type() const override { return &typeid(Out); }

 protected:
  // Sends `batch` downstream and counts it.
  void Emit(Batch<Out>& batch) {
    records_in_.Add(batch.records.size());
    out_->Accept(batch);
    batch.clear();
  }

  BatchConsumer<Out>* out_ = nullptr;
};

// Emits the elements of a vector in order; non-parallel. Its position is checkpointed, so a
// restore resumes after the last element the restored checkpoint covers.
template <typename T>
class CollectionSource final : public SourceOperator<T> {
 public:
  explicit CollectionSource(std::shared_ptr<const std::vector<T>> elements)
      : elements_(std::move(elements)) {}

  void InitializeState(const OperatorState& restored) override {
    for (const auto& list : restored) {
      if (list.name != "collection-position") continue;
      for (const auto& e : list.elements) {
        uint64_t pos;
        if (!DecodeFromString(e, pos) || pos > elements_->size()) {
          throw StateError(Status::FailedPrecondition("collection source: restored position does not fit the collection"));
        }
        next_ = pos;
      }
    }
  }

  SourceStatus EmitNext(size_t max_records) override {
    size_t end = std::min(elements_->size(), next_ + max_records);
    batch_.records.assign(elements_->begin() + static_cast<std::ptrdiff_t>(next_),
                          elements_->begin() + static_cast<std::ptrdiff_t>(end));
    next_ = end;
    if (!batch_.records.empty()) this->Emit(batch_);
    return next_ == elements_->size() ? SourceStatus::kEndOfInput : SourceStatus::kMoreAvailable;
  }

  void SnapshotState(int64_t, OperatorSnapshot* out) override {
    out->state.push_back(OperatorStateList{"collection-position", OperatorStateList::Mode::kSplit,
                                           {EncodeToString<uint64_t>(next_)}});
  }

 private:
  std::shared_ptr<const std::vector<T>> elements_;
  uint64_t next_ = 0;
  Batch<T> batch_;
};

}  // namespace weir::detail
