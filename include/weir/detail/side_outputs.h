// Internal: the side outputs of one operator instance, by tag.
//
// A transformation made by GetSideOutput is chained to the operator it reads from; when the
// chain is wired, its input is added here under its tag. Records go out in batches, flushed
// by the operator after each input batch, timer or watermark, so they reach the next
// operator before the watermark that follows them. Task thread only.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "weir/collector.h"
#include "weir/detail/batch.h"

namespace weir::detail {

class SideOutputBase {
 public:
  SideOutputBase(std::string tag, const std::type_info& type, WatermarkConsumer* out)
      : tag_(std::move(tag)), type_(type), out_(out) {}
  virtual ~SideOutputBase() = default;

  const std::string& tag() const { return tag_; }
  const std::type_info& type() const { return type_; }
  WatermarkConsumer* watermark_consumer() const { return out_; }
  virtual void Flush() = 0;

 private:
  std::string tag_;
  const std::type_info& type_;
  WatermarkConsumer* out_;
};

template <typename T>
class SideOutput final : public SideOutputBase {
 public:
  SideOutput(std::string tag, BatchConsumer<T>* out, size_t flush_at)
      : SideOutputBase(std::move(tag), typeid(T), out), collector_(&buffer_, flush_at, out) {}

  Collector<T>& collector() { return collector_; }
  void Flush() override { collector_.Flush(); }

 private:
  Batch<T> buffer_;
  Collector<T> collector_;
};

class SideOutputs {
 public:
  void Add(std::unique_ptr<SideOutputBase> output) { outputs_.push_back(std::move(output)); }
  bool empty() const { return outputs_.empty(); }

  // The collector of side output `tag`, or null if nobody reads it.
  template <typename T>
  Collector<T>* Find(const std::string& tag) {
    for (auto& o : outputs_) {
      if (o->tag() != tag) continue;
      if (o->type() != typeid(T)) {
        throw std::logic_error("side output '" + tag +
                               "' is emitted with another type than GetSideOutput reads");
      }
      return &static_cast<SideOutput<T>*>(o.get())->collector();
    }
    return nullptr;
  }

  void Flush() {
    for (auto& o : outputs_) o->Flush();
  }
  void EmitWatermark(int64_t watermark) {
    for (auto& o : outputs_) o->watermark_consumer()->AcceptWatermark(watermark);
  }
  void EmitWatermarkStatus(bool idle) {
    for (auto& o : outputs_) o->watermark_consumer()->AcceptWatermarkStatus(idle);
  }

 private:
  std::vector<std::unique_ptr<SideOutputBase>> outputs_;
};

}  // namespace weir::detail
