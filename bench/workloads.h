// The records of weir_bench's workloads, and the windowed count (in its own translation
// unit: the window operator's templates would otherwise change how GCC inlines the seed
// pipeline's code in weir_bench.cc, and with it the seed's figures).
#pragma once

#include <cstdint>
#include <string>

#include "weir/weir.h"

struct Record {
  int64_t key;
  int64_t value;
  int64_t seq;
  int64_t stamp_ns;  // 0 unless this record is a latency sample
};

// Per key, a count and sum of the values in tumbling event-time windows of `window_ms`, with
// record i at event time i ms; one line "key,window_end,count,sum" per fired window, after a
// call of `on_line`.
weir::DataStream<std::string> WindowedCounts(const weir::DataStream<Record>& records,
                                             int64_t window_ms, void (*on_line)());
