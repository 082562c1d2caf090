// Codec<T>: how a value becomes bytes and back, for keyed state, checkpoints and key hashing.
//
// weir keeps records as plain C++ values inside a process; only state and keys are encoded.
// Built-in codecs cover integers, floating point, bool, enums, std::string, std::pair,
// std::tuple, std::vector, std::array, std::optional and std::map/unordered_map.
//
// To add your own type, specialize weir::Codec, or list the fields of a struct:
//
//   struct Point { int32_t x; int32_t y; };
//   template <> struct weir::Codec<Point> : weir::FieldsCodec<Point, &Point::x, &Point::y> {};
//
// A codec must be deterministic (equal values give equal bytes: keys are hashed by their
// bytes) and Decode must return false, never crash, on malformed input (a corrupt checkpoint).
// Encodings are little-endian and stable across runs and machines of the same byte order.
//
// Checkpoints record which codec wrote each state (CodecIdentity below), and a restore refuses
// state whose codec changed instead of decoding it into garbage. Built-in codecs and
// FieldsCodec name themselves from the types they write ("i64", "map<string,f64>",
// "fields<i32,i64>"). Your own codec names itself and says its version:
//
//   template <> struct weir::Codec<Point> {
//     static constexpr std::string_view kName = "Point";
//     static constexpr int kVersion = 2;
//     static void Encode(const Point& p, weir::BufferWriter& w);
//     static bool Decode(weir::BufferReader& r, Point& p);
//     // Optional: reads what an older version wrote, so checkpoints of it restore (migrate).
//     static bool DecodeVersion(int version, weir::BufferReader& r, Point& p);
//   };
//
// Thread-safety: codecs are stateless; BufferWriter/BufferReader are single-threaded.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

namespace weir {

// Appends encoded values to a std::string it does not own.
class BufferWriter {
 public:
  explicit BufferWriter(std::string* out) : out_(out) {}

  void PutU8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void PutFixed16(uint16_t v) { PutRaw(&v, sizeof v); }
  void PutFixed32(uint32_t v) { PutRaw(&v, sizeof v); }
  void PutFixed64(uint64_t v) { PutRaw(&v, sizeof v); }
  void PutVarint64(uint64_t v) {
    char buf[10];
    int n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_->append(buf, n);
  }
  void PutBytes(std::string_view bytes) { out_->append(bytes.data(), bytes.size()); }
  void PutLengthPrefixed(std::string_view bytes) {
    PutVarint64(bytes.size());
    PutBytes(bytes);
  }
  void PutRaw(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }

  size_t size() const { return out_->size(); }
  std::string* buffer() { return out_; }

 private:
  std::string* out_;
};

// Reads encoded values from bytes it does not own. Every getter returns false, and consumes
// nothing, when the input is too short or malformed.
class BufferReader {
 public:
  explicit BufferReader(std::string_view in) : in_(in) {}

  bool GetU8(uint8_t* v) { return GetRaw(v, sizeof *v); }
  bool GetFixed16(uint16_t* v) { return GetRaw(v, sizeof *v); }
  bool GetFixed32(uint32_t* v) { return GetRaw(v, sizeof *v); }
  bool GetFixed64(uint64_t* v) { return GetRaw(v, sizeof *v); }
  bool GetVarint64(uint64_t* v) {
    uint64_t result = 0;
    for (size_t i = 0, shift = 0; i < in_.size() && shift <= 63; ++i, shift += 7) {
      uint64_t byte = static_cast<unsigned char>(in_[i]);
      // The 10th byte holds the top bit only; more would be silently lost.
      if (shift == 63 && byte > 1) return false;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        in_.remove_prefix(i + 1);
        return true;
      }
    }
    return false;
  }
  bool GetBytes(size_t n, std::string_view* bytes) {
    if (in_.size() < n) return false;
    *bytes = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool GetLengthPrefixed(std::string_view* bytes) {
    BufferReader save = *this;
    uint64_t n;
    if (!GetVarint64(&n) || !GetBytes(n, bytes)) {
      *this = save;
      return false;
    }
    return true;
  }
  bool GetRaw(void* p, size_t n) {
    if (in_.size() < n) return false;
    std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }

  size_t remaining() const { return in_.size(); }
  bool empty() const { return in_.empty(); }
  std::string_view rest() const { return in_; }

 private:
  std::string_view in_;
};

// The primary template is left undefined: a type without a codec fails to compile where a
// codec is needed (a key type, a state type), naming the type.
template <typename T, typename Enable = void>
struct Codec;

template <typename T>
concept HasCodec = requires(const T& v, T& out, BufferWriter& w, BufferReader& r) {
  Codec<T>::Encode(v, w);
  { Codec<T>::Decode(r, out) } -> std::same_as<bool>;
};

// The name of what Codec<T> writes, recorded with state in checkpoints (see the top of this
// file): "<kName>@<kVersion>" for a codec that declares them, the codec's own Identity() for
// built-ins and FieldsCodec, else "type:" and the compiler's name of T.
template <typename T>
std::string CodecIdentity() {
  using C = Codec<T>;
  if constexpr (requires { C::kName; }) {
    int version = 1;
    if constexpr (requires { C::kVersion; }) version = C::kVersion;
    return std::string(C::kName) + "@" + std::to_string(version);
  } else if constexpr (requires { C::Identity(); }) {
    return C::Identity();
  } else {
    return std::string("type:") + typeid(T).name();
  }
}

namespace codec_internal {
template <typename... Ts>
std::string IdentityList() {
  std::string out;
  ((out += (out.empty() ? "" : ",") + CodecIdentity<Ts>()), ...);
  return out;
}
}  // namespace codec_internal

namespace codec_internal {
// The bytes of a number that hold its value: all of them but in x87's 80-bit long double,
// whose last six are padding with whatever was there before.
template <typename T>
inline constexpr size_t kValueBytes =
    std::is_same_v<T, long double> && std::numeric_limits<long double>::digits == 64 ? 10
                                                                                      : sizeof(T);
}  // namespace codec_internal

// The built-in codecs below name the type they encode as BuiltInCodecOf: where a user's codec
// takes the place of one (an explicit specialization for an enum or a pair), or is built on
// one for another type, the key encoder does not assume the built-in's bytes.

// Integers, floating point and bool: fixed-width little-endian.
template <typename T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  using BuiltInCodecOf = T;
  static std::string Identity() {
    if constexpr (std::is_same_v<T, bool>) return "bool";
    if constexpr (std::is_floating_point_v<T>) return "f" + std::to_string(sizeof(T) * 8);
    return (std::is_signed_v<T> ? "i" : "u") + std::to_string(sizeof(T) * 8);
  }
  // The value's own bytes, always this many: a heap snapshot copies them without a call
  // (for these built-in number types only).
  static constexpr size_t kFixedWidth = sizeof(T);
  static void Encode(const T& v, BufferWriter& w) {
    if constexpr (codec_internal::kValueBytes<T> == sizeof(T)) {
      w.PutRaw(&v, sizeof v);
    } else {  // the padding as zeros: equal values, equal bytes
      char bytes[sizeof(T)] = {};
      std::memcpy(bytes, &v, codec_internal::kValueBytes<T>);
      w.PutRaw(bytes, sizeof bytes);
    }
  }
  static bool Decode(BufferReader& r, T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      uint8_t b;
      if (!r.GetU8(&b) || b > 1) return false;
      v = b != 0;
      return true;
    } else {
      return r.GetRaw(&v, sizeof v);
    }
  }
};

template <typename T>
struct Codec<T, std::enable_if_t<std::is_enum_v<T>>> {
  using BuiltInCodecOf = T;
  using U = std::underlying_type_t<T>;
  static std::string Identity() { return "enum<" + Codec<U>::Identity() + ">"; }
  static void Encode(const T& v, BufferWriter& w) { Codec<U>::Encode(static_cast<U>(v), w); }
  static bool Decode(BufferReader& r, T& v) {
    U u;
    if (!Codec<U>::Decode(r, u)) return false;
    v = static_cast<T>(u);
    return true;
  }
};

template <>
struct Codec<std::string> {
  static std::string Identity() { return "string"; }
  static void Encode(const std::string& v, BufferWriter& w) { w.PutLengthPrefixed(v); }
  static bool Decode(BufferReader& r, std::string& v) {
    std::string_view bytes;
    if (!r.GetLengthPrefixed(&bytes)) return false;
    v.assign(bytes.data(), bytes.size());
    return true;
  }
};

template <typename A, typename B>
struct Codec<std::pair<A, B>> {
  using BuiltInCodecOf = std::pair<A, B>;
  static std::string Identity() {
    return "pair<" + CodecIdentity<A>() + "," + CodecIdentity<B>() + ">";
  }
  static void Encode(const std::pair<A, B>& v, BufferWriter& w) {
    Codec<A>::Encode(v.first, w);
    Codec<B>::Encode(v.second, w);
  }
  static bool Decode(BufferReader& r, std::pair<A, B>& v) {
    return Codec<A>::Decode(r, v.first) && Codec<B>::Decode(r, v.second);
  }
};

template <typename... Ts>
struct Codec<std::tuple<Ts...>> {
  using BuiltInCodecOf = std::tuple<Ts...>;
  static std::string Identity() { return "tuple<" + codec_internal::IdentityList<Ts...>() + ">"; }
  static void Encode(const std::tuple<Ts...>& v, BufferWriter& w) {
    std::apply([&w](const Ts&... e) { (Codec<Ts>::Encode(e, w), ...); }, v);
  }
  static bool Decode(BufferReader& r, std::tuple<Ts...>& v) {
    return std::apply([&r](Ts&... e) { return (Codec<Ts>::Decode(r, e) && ...); }, v);
  }
};

template <typename T>
struct Codec<std::optional<T>> {
  static std::string Identity() { return "optional<" + CodecIdentity<T>() + ">"; }
  static void Encode(const std::optional<T>& v, BufferWriter& w) {
    w.PutU8(v.has_value() ? 1 : 0);
    if (v) Codec<T>::Encode(*v, w);
  }
  static bool Decode(BufferReader& r, std::optional<T>& v) {
    uint8_t present;
    if (!r.GetU8(&present) || present > 1) return false;
    if (!present) {
      v.reset();
      return true;
    }
    T value;
    if (!Codec<T>::Decode(r, value)) return false;
    v = std::move(value);
    return true;
  }
};

namespace codec_internal {
// A length prefix must not make a decoder reserve more than the input could hold: a corrupt
// length would otherwise turn into a huge allocation.
inline bool GetCount(BufferReader& r, uint64_t* n) {
  return r.GetVarint64(n) && *n <= r.remaining();
}
}  // namespace codec_internal

template <typename T, typename A>
struct Codec<std::vector<T, A>> {
  static std::string Identity() { return "vector<" + CodecIdentity<T>() + ">"; }
  static void Encode(const std::vector<T, A>& v, BufferWriter& w) {
    w.PutVarint64(v.size());
    for (const auto& e : v) Codec<T>::Encode(e, w);
  }
  static bool Decode(BufferReader& r, std::vector<T, A>& v) {
    uint64_t n;
    if (!codec_internal::GetCount(r, &n)) return false;
    v.clear();
    v.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      T e;
      if (!Codec<T>::Decode(r, e)) return false;
      v.push_back(std::move(e));
    }
    return true;
  }
};

template <typename T, size_t N>
struct Codec<std::array<T, N>> {
  static std::string Identity() {
    return "array<" + CodecIdentity<T>() + "," + std::to_string(N) + ">";
  }
  static void Encode(const std::array<T, N>& v, BufferWriter& w) {
    for (const auto& e : v) Codec<T>::Encode(e, w);
  }
  static bool Decode(BufferReader& r, std::array<T, N>& v) {
    for (auto& e : v) {
      if (!Codec<T>::Decode(r, e)) return false;
    }
    return true;
  }
};

namespace codec_internal {
template <typename Map>
struct MapCodec {
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;
  static std::string Identity() {
    return "map<" + CodecIdentity<K>() + "," + CodecIdentity<V>() + ">";
  }
  static void Encode(const Map& m, BufferWriter& w) {
    w.PutVarint64(m.size());
    for (const auto& [k, v] : m) {
      Codec<K>::Encode(k, w);
      Codec<V>::Encode(v, w);
    }
  }
  static bool Decode(BufferReader& r, Map& m) {
    uint64_t n;
    if (!GetCount(r, &n)) return false;
    m.clear();
    for (uint64_t i = 0; i < n; ++i) {
      K k;
      V v;
      if (!Codec<K>::Decode(r, k) || !Codec<V>::Decode(r, v)) return false;
      m.emplace(std::move(k), std::move(v));
    }
    return true;
  }
};
}  // namespace codec_internal

template <typename K, typename V, typename C, typename A>
struct Codec<std::map<K, V, C, A>> : codec_internal::MapCodec<std::map<K, V, C, A>> {};

// Entries are written in the order of their encoded keys: equal maps give equal bytes,
// whatever their iteration order.
template <typename K, typename V, typename H, typename E, typename A>
struct Codec<std::unordered_map<K, V, H, E, A>> {
  using Map = std::unordered_map<K, V, H, E, A>;
  // The same bytes as std::map's: either restores the other.
  static std::string Identity() { return codec_internal::MapCodec<Map>::Identity(); }
  static void Encode(const Map& m, BufferWriter& w) {
    std::vector<std::pair<std::string, const V*>> entries;
    entries.reserve(m.size());
    for (const auto& [k, v] : m) entries.emplace_back(EncodeKey(k), &v);
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    w.PutVarint64(entries.size());
    for (const auto& [k, v] : entries) {
      w.PutBytes(k);
      Codec<V>::Encode(*v, w);
    }
  }
  static bool Decode(BufferReader& r, Map& m) {
    return codec_internal::MapCodec<Map>::Decode(r, m);
  }

 private:
  static std::string EncodeKey(const K& k) {
    std::string out;
    BufferWriter w(&out);
    Codec<K>::Encode(k, w);
    return out;
  }
};

// A codec for a struct, from the list of its data members in a fixed order.
template <typename T, auto... kFields>
struct FieldsCodec {
  // The fields' codecs in order: reordering, adding or retyping fields changes it.
  static std::string Identity() {
    return "fields<" +
           codec_internal::IdentityList<std::remove_cvref_t<decltype(std::declval<T&>().*kFields)>...>() +
           ">";
  }
  static void Encode(const T& v, BufferWriter& w) {
    (Codec<std::remove_cvref_t<decltype(v.*kFields)>>::Encode(v.*kFields, w), ...);
  }
  static bool Decode(BufferReader& r, T& v) {
    return (Codec<std::remove_cvref_t<decltype(v.*kFields)>>::Decode(r, v.*kFields) && ...);
  }
};

namespace codec_internal {
// Codec<T> is weir's own for T, not a user's in its place or built on it.
template <typename T>
concept BuiltInCodec = requires {
  requires std::is_same_v<typename Codec<T>::BuiltInCodecOf, T>;
};
// A number whose built-in codec writes its value's own bytes, all of them: they can be copied
// without a call.
template <typename T>
inline constexpr bool kBuiltInNumber =
    std::is_arithmetic_v<T> && BuiltInCodec<T> && kValueBytes<T> == sizeof(T);

// How many bytes Codec<T> always writes for T, for built-in numbers and the built-in codecs of
// pairs and tuples of them; 0 otherwise (the width varies, or a user's codec may write other
// bytes: one built on a number's inherits its kFixedWidth).
template <typename T>
struct FixedWidth : std::integral_constant<size_t, 0> {};
template <typename T>
  requires kBuiltInNumber<T>
struct FixedWidth<T> : std::integral_constant<size_t, Codec<T>::kFixedWidth> {};
template <typename A, typename B>
  requires BuiltInCodec<std::pair<A, B>>
struct FixedWidth<std::pair<A, B>>
    : std::integral_constant<size_t, FixedWidth<A>::value && FixedWidth<B>::value
                                         ? FixedWidth<A>::value + FixedWidth<B>::value
                                         : 0> {};
template <typename... Ts>
  requires BuiltInCodec<std::tuple<Ts...>>
struct FixedWidth<std::tuple<Ts...>>
    : std::integral_constant<size_t, (FixedWidth<Ts>::value && ...)
                                         ? (FixedWidth<Ts>::value + ... + 0)
                                         : 0> {};

// Writes what Codec<T>::Encode writes for a T of FixedWidth, without a BufferWriter: the
// numbers' own bytes, one after another. Returns the end.
template <typename T>
char* PutFixed(const T& v, char* p) {
  if constexpr (kBuiltInNumber<T>) {
    std::memcpy(p, &v, sizeof(T));
    return p + sizeof(T);
  } else if constexpr (requires { v.first; }) {
    return PutFixed(v.second, PutFixed(v.first, p));
  } else {
    std::apply([&p](const auto&... e) { ((p = PutFixed(e, p)), ...); }, v);
    return p;
  }
}

// Keys of integers only (integers, enums, pairs and tuples of them): equal keys are equal
// bits, so they encode alike, and comparing or copying one costs a few instructions.
template <typename K>
inline constexpr bool kIntegerKey = std::is_integral_v<K> || std::is_enum_v<K>;
template <typename A, typename B>
inline constexpr bool kIntegerKey<std::pair<A, B>> = kIntegerKey<A> && kIntegerKey<B>;
template <typename... Ts>
inline constexpr bool kIntegerKey<std::tuple<Ts...>> = (kIntegerKey<Ts> && ...);
}  // namespace codec_internal

// The encoded bytes of one key at a time, without allocating: fixed-size keys with built-in
// codecs (integers, floats, enums, and pairs and tuples of numbers up to 32 bytes) are encoded
// into an inline buffer, others into a reused string.
template <typename K>
class KeyEncoder {
 public:
  std::string_view Encode(const K& key) {
    constexpr size_t kWidth = codec_internal::FixedWidth<K>::value;
    if constexpr (codec_internal::kBuiltInNumber<K> || RawEnum()) {
      std::memcpy(fixed_, &key, sizeof(K));
      return std::string_view(fixed_, sizeof(K));
    } else if constexpr (kWidth > 0 && kWidth <= sizeof(fixed_)) {
      codec_internal::PutFixed(key, fixed_);
      return std::string_view(fixed_, kWidth);
    } else {
      bytes_.clear();
      BufferWriter w(&bytes_);
      Codec<K>::Encode(key, w);
      return bytes_;
    }
  }

 private:
  // An enum whose built-in codec writes its integer's bytes.
  static constexpr bool RawEnum() {
    if constexpr (std::is_enum_v<K>) {
      return codec_internal::BuiltInCodec<K> &&
             codec_internal::kBuiltInNumber<std::underlying_type_t<K>>;
    } else {
      return false;
    }
  }

  char fixed_[32];
  std::string bytes_;
};

// Encodes `v` into a fresh string (for tests and cold paths; hot paths reuse a buffer).
template <HasCodec T>
std::string EncodeToString(const T& v) {
  std::string out;
  BufferWriter w(&out);
  Codec<T>::Encode(v, w);
  return out;
}

// Decodes all of `bytes` into `v`; false if malformed or if bytes are left over.
template <HasCodec T>
bool DecodeFromString(std::string_view bytes, T& v) {
  BufferReader r(bytes);
  return Codec<T>::Decode(r, v) && r.empty();
}

}  // namespace weir
