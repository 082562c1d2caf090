// Internal: TwoInputStreamOperator, an operator that heads a task with two typed inputs
// (Flink's TwoInputStreamOperator: connected streams, co-process functions, joins).
//
// The task reads the channels of both inputs through one input gate, so checkpoint barriers
// align across all of them, and hands each batch to the input it came from. Watermarks are
// combined by the task (runtime/combined_watermark_valve.h): the operator sees one watermark,
// the minimum over its inputs that are not idle, through HandleWatermark as any operator.
// Its input ends when both inputs ended. Such an operator is never chained to its inputs;
// operators after it are chained as usual.
//
// Thread-safety: as every operator, driven by its task's thread only.
#pragma once

#include <typeinfo>

#include "weir/detail/batch.h"
#include "weir/detail/operator.h"

namespace weir::detail {

class TwoInputStreamOperator : public StreamOperator {
 public:
  // Processes a batch of input `input` (0: the first, 1: the second), whose element type is
  // that input's type.
  virtual void AcceptErasedInput(int input, BatchBase& batch) = 0;
  virtual const std::type_info* input_type_of(int input) const = 0;
};

// The typed base of two-input operators: In1 and In2 in, Out emitted.
template <typename In1, typename In2, typename Out>
class TwoInputTransformOperator : public TwoInputStreamOperator {
 public:
  void AcceptErasedInput(int input, BatchBase& batch) override {
    if (input == 0) {
      Accept1(static_cast<Batch<In1>&>(batch));
    } else {
      Accept2(static_cast<Batch<In2>&>(batch));
    }
  }
  const std::type_info* input_type_of(int input) const override {
    return input == 0 ? &typeid(In1) : &typeid(In2);
  }
  void SetTypedOutput(void* consumer) override {
    out_ = static_cast<BatchConsumer<Out>*>(consumer);
    this->watermark_output_ = out_;
  }
  const std::type_info* output_type() const override { return &typeid(Out); }

 protected:
  virtual void Accept1(Batch<In1>& batch) = 0;
  virtual void Accept2(Batch<In2>& batch) = 0;

  BatchConsumer<Out>* out_ = nullptr;
};

}  // namespace weir::detail
