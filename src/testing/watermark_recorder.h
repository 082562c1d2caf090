// WatermarkRecorder: an operator's output for tests of event time run by hand. It drops the
// records and keeps, in order, the watermarks and the idle/active statuses it is handed. For
// tests only.
#pragma once

#include <cstdint>
#include <vector>

#include "weir/detail/batch.h"

namespace weir::testing {

template <typename T>
class WatermarkRecorder final : public detail::BatchConsumer<T> {
 public:
  void Accept(detail::Batch<T>&) override {}
  void AcceptWatermark(int64_t w) override { watermarks.push_back(w); }
  void AcceptWatermarkStatus(bool idle) override { statuses.push_back(idle); }

  std::vector<int64_t> watermarks;
  std::vector<bool> statuses;  // true: idle
};

}  // namespace weir::testing
