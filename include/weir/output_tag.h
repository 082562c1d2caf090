// OutputTag<T>: names a side output, a stream of T an operator emits besides its main output.
//
//   const weir::OutputTag<Click> late("late-clicks");
//   auto counts = clicks.KeyBy(...).Window(...).SideOutputLateData(late).Aggregate(...);
//   counts.GetSideOutput(late).WriteAsText("late.txt");
//
// A process function emits into one with ctx.Output(tag, value). Tags are equal when their ids
// are: give each side output of one operator its own id. Records emitted to a tag nobody
// reads (no GetSideOutput) are dropped, as in Flink. A plain value; copy it freely.
#pragma once

#include <string>
#include <utility>

namespace weir {

template <typename T>
class OutputTag {
 public:
  explicit OutputTag(std::string id) : id_(std::move(id)) {}
  const std::string& id() const { return id_; }

 private:
  std::string id_;
};

}  // namespace weir
