// ReaderOnlySource: a Source for tests of what runs a reader. Its enumerator hands out no
// splits; each subtask's reader comes from a function the test gives. For tests only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "weir/source.h"

namespace weir::testing {

template <typename T>
class ReaderOnlySource final : public Source<T, int32_t, int32_t> {
 public:
  using Reader = SourceReader<T, int32_t>;
  explicit ReaderOnlySource(std::function<std::unique_ptr<Reader>()> make_reader)
      : make_reader_(std::move(make_reader)) {}

  std::unique_ptr<SplitEnumerator<int32_t, int32_t>> CreateEnumerator(
      SplitEnumeratorContext<int32_t>&) const override {
    return std::make_unique<NoSplits>();
  }
  std::unique_ptr<SplitEnumerator<int32_t, int32_t>> RestoreEnumerator(
      SplitEnumeratorContext<int32_t>&, int32_t) const override {
    return std::make_unique<NoSplits>();
  }
  std::unique_ptr<Reader> CreateReader(SourceReaderContext&) const override {
    return make_reader_();
  }

 private:
  class NoSplits final : public SplitEnumerator<int32_t, int32_t> {
   public:
    void HandleSplitRequest(int) override {}
    int32_t SnapshotState(int64_t) override { return 0; }
  };

  std::function<std::unique_ptr<Reader>()> make_reader_;
};

}  // namespace weir::testing
