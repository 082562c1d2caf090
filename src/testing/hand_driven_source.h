// HandDrivenSource: the source operator over a ReaderOnlySource, run by hand on the test's
// thread. The test polls it (op.EmitNext) and makes its periodic calls (op.OnPeriodicTime);
// what it emits goes to `out`. For tests only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <utility>

#include "base/file_system.h"
#include "testing/fake_operator_context.h"
#include "testing/reader_only_source.h"
#include "weir/detail/source_coordinator.h"
#include "weir/detail/source_operator.h"
#include "weir/watermark.h"

namespace weir::testing {

template <typename Out>
struct HandDrivenSource {
  // `prepare` runs before the operator opens: to give the context more, or set the wakeup.
  HandDrivenSource(std::shared_ptr<const ReaderOnlySource<int64_t>> from,
                   WatermarkStrategy<int64_t> strategy,
                   const std::function<void(HandDrivenSource&)>& prepare = {})
      : source(std::move(from)),
        coordinator(source, "hand-driven", 1, &ctx.configuration(), FileSystem::Default()),
        op(source, std::move(strategy)) {
    if (Status s = coordinator.Start(false, nullptr); !s.ok()) {
      throw std::runtime_error(s.ToString());
    }
    ctx.set_source_coordinator(&coordinator);
    if (prepare) prepare(*this);
    op.Setup(&ctx);
    op.SetTypedOutput(&out);
    op.InitializeState({});
    op.Open();
  }

  FakeOperatorContext ctx{0, 1};
  std::shared_ptr<const ReaderOnlySource<int64_t>> source;
  detail::SourceCoordinator<int64_t, int32_t, int32_t> coordinator;
  detail::SourceReaderOperator<int64_t, int32_t, int32_t> op;
  Out out;
};

}  // namespace weir::testing
