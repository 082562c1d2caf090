// Window joins and co-groups of two streams, as Flink's join/coGroup with a window:
//
//   orders.Join(payments)
//       .Where([](const Order& o) { return o.id; })
//       .EqualTo([](const Payment& p) { return p.order_id; })
//       .Window(weir::TumblingEventTimeWindows::Of(std::chrono::minutes(5)))
//       .Apply([](const Order& o, const Payment& p) { return o.id + "," + p.id; });
//
// Records of both streams with equal keys that fall into the same window meet when it fires:
// Join calls the function for every pair (none if either side is empty), CoGroup once per
// key and window with both sides' records. As in Flink, it is a union of the two streams,
// tagged by side, keyed and windowed: checkpointed, rescaled and late like any window. Both
// record types need a weir::Codec and a default constructor; the key selectors must return
// the same type.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/data_stream.h"
#include "weir/window_functions.h"
#include "weir/windows.h"

namespace weir {

// Called once per key and window with the records of each side (either may be empty).
template <typename A, typename B, typename Out>
class CoGroupFunction {
 public:
  using Output = Out;
  virtual ~CoGroupFunction() = default;
  virtual void CoGroup(const std::vector<A>& first, const std::vector<B>& second,
                       Collector<Out>& out) = 0;
};

namespace detail {

// A record of either side of a window join.
template <typename A, typename B>
struct JoinSide {
  uint8_t side = 0;  // 0: first, 1: second
  A first{};
  B second{};
};

// Splits a window's records by side for the co-group function.
template <typename A, typename B, typename K, typename W, typename F>
class CoGroupWindowFunction final
    : public ProcessWindowFunction<JoinSide<A, B>, typename F::Output, K, W> {
 public:
  using Out = typename F::Output;
  explicit CoGroupWindowFunction(F fn) : fn_(std::move(fn)) {}
  void Process(const K&, WindowContext<W>&, const std::vector<JoinSide<A, B>>& records,
               Collector<Out>& out) override {
    first_.clear();
    second_.clear();
    for (const auto& r : records) {
      if (r.side == 0) {
        first_.push_back(r.first);
      } else {
        second_.push_back(r.second);
      }
    }
    fn_.CoGroup(first_, second_, out);
  }

 private:
  F fn_;
  std::vector<A> first_;
  std::vector<B> second_;
};

// Join as a co-group: every pair.
template <typename A, typename B, typename F>
class JoinAsCoGroup final
    : public CoGroupFunction<A, B, std::decay_t<std::invoke_result_t<F&, const A&, const B&>>> {
 public:
  using Out = std::decay_t<std::invoke_result_t<F&, const A&, const B&>>;
  explicit JoinAsCoGroup(F fn) : fn_(std::move(fn)) {}
  void CoGroup(const std::vector<A>& first, const std::vector<B>& second,
               Collector<Out>& out) override {
    for (const A& a : first) {
      for (const B& b : second) out.Collect(fn_(a, b));
    }
  }

 private:
  F fn_;
};

}  // namespace detail
}  // namespace weir

template <typename A, typename B>
struct weir::Codec<weir::detail::JoinSide<A, B>> {
  static std::string Identity() {
    return "join-side<" + CodecIdentity<A>() + "," + CodecIdentity<B>() + ">";
  }
  static void Encode(const detail::JoinSide<A, B>& r, BufferWriter& w) {
    w.PutU8(r.side);
    if (r.side == 0) {
      Codec<A>::Encode(r.first, w);
    } else {
      Codec<B>::Encode(r.second, w);
    }
  }
  static bool Decode(BufferReader& r, detail::JoinSide<A, B>& v) {
    if (!r.GetU8(&v.side) || v.side > 1) return false;
    return v.side == 0 ? Codec<A>::Decode(r, v.first) : Codec<B>::Decode(r, v.second);
  }
};

namespace weir {

// Join(...) and CoGroup(...) of DataStream: where each side's key comes from, then the window.
template <typename A, typename B, bool kJoin>
class WindowJoinBuilder {
 public:
  WindowJoinBuilder(DataStream<A> first, DataStream<B> second)
      : first_(std::move(first)), second_(std::move(second)) {}

  template <typename KeyA>
  auto Where(KeyA key_a) const {
    return WithFirstKey<KeyA>{first_, second_, std::move(key_a)};
  }

 private:
  template <typename KeyA>
  struct WithFirstKey {
    DataStream<A> first;
    DataStream<B> second;
    KeyA key_a;

    template <typename KeyB>
    auto EqualTo(KeyB key_b) const {
      return WithKeys<KeyA, KeyB>{first, second, key_a, std::move(key_b)};
    }
  };

  template <typename KeyA, typename KeyB>
  struct WithKeys {
    using K = std::decay_t<std::invoke_result_t<KeyA&, const A&>>;
    static_assert(std::is_same_v<K, std::decay_t<std::invoke_result_t<KeyB&, const B&>>>,
                  "Where and EqualTo must select keys of the same type");
    DataStream<A> first;
    DataStream<B> second;
    KeyA key_a;
    KeyB key_b;

    template <typename Assigner>
    auto Window(Assigner assigner) const {
      using Side = detail::JoinSide<A, B>;
      auto tagged_first = first.Map([](const A& a) { return Side{0, a, B{}}; }).Name("Join(first)");
      auto tagged_second =
          second.Map([](const B& b) { return Side{1, A{}, b}; }).Name("Join(second)");
      auto keyed = tagged_first.Union(tagged_second)
                       .KeyBy([ka = key_a, kb = key_b](const Side& s) -> K {
                         return s.side == 0 ? ka(s.first) : kb(s.second);
                       });
      return Windowed<decltype(keyed.Window(assigner))>{keyed.Window(std::move(assigner))};
    }
  };

  template <typename WindowedSides>
  struct Windowed {
    WindowedSides windowed;

    // Join: fn(const A&, const B&) -> Out for every pair. CoGroup: a CoGroupFunction<A, B, Out>.
    template <typename F>
    auto Apply(F fn) const {
      using W = typename WindowedSides::Window;
      using K = typename WindowedSides::Key;
      if constexpr (kJoin) {
        using Group = detail::JoinAsCoGroup<A, B, F>;
        return windowed
            .Process(detail::CoGroupWindowFunction<A, B, K, W, Group>(Group(std::move(fn))))
            .Name("Window(Join)");
      } else {
        return windowed.Process(detail::CoGroupWindowFunction<A, B, K, W, F>(std::move(fn)))
            .Name("Window(CoGroup)");
      }
    }
  };

  DataStream<A> first_;
  DataStream<B> second_;
};

template <typename T>
template <typename U>
WindowJoinBuilder<T, U, true> DataStream<T>::Join(const DataStream<U>& other) const {
  return WindowJoinBuilder<T, U, true>(*this, other);
}

template <typename T>
template <typename U>
WindowJoinBuilder<T, U, false> DataStream<T>::CoGroup(const DataStream<U>& other) const {
  return WindowJoinBuilder<T, U, false>(*this, other);
}

}  // namespace weir
