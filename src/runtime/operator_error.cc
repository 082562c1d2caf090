#include <exception>

#include "weir/detail/operator.h"

namespace weir::detail {

void RethrowAsOperatorError(const OperatorContext& ctx) {
  try {
    throw;
  } catch (const OperatorError&) {
    throw;  // raised further down the chain: it already names its operator
  } catch (const StateError& e) {
    throw OperatorError(ctx.operator_name(), ctx.subtask_index(), e.status());
  } catch (const std::exception& e) {
    throw OperatorError(ctx.operator_name(), ctx.subtask_index(), e.what());
  } catch (...) {
    throw OperatorError(ctx.operator_name(), ctx.subtask_index(), "an exception of unknown type");
  }
}

}  // namespace weir::detail
