#include "state_decoder.h"

#include <charconv>
#include <cstring>
#include <memory>
#include <vector>

#include "weir/codec.h"

namespace weir::tool {
namespace {

using Json = nlohmann::ordered_json;

// A codec identity parsed into a tree: "pair<i32,vector<string>>".
struct Type {
  std::string name;  // "pair", "i32", ...
  std::vector<Type> args;
  size_t count = 0;  // array<T,N>
};

// Parses one type at `*pos` of `s`; false if malformed.
bool ParseType(std::string_view s, size_t* pos, Type* out) {
  size_t start = *pos;
  while (*pos < s.size() && s[*pos] != '<' && s[*pos] != '>' && s[*pos] != ',') ++*pos;
  out->name = std::string(s.substr(start, *pos - start));
  if (out->name.empty()) return false;
  if (*pos < s.size() && s[*pos] == '<') {
    ++*pos;
    while (true) {
      // array<T,N>: the last argument is a number.
      if (out->name == "array" && !out->args.empty()) {
        size_t n_start = *pos;
        while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') ++*pos;
        auto digits = s.substr(n_start, *pos - n_start);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out->count);
        if (digits.empty() || ec != std::errc()) return false;
      } else {
        Type arg;
        if (!ParseType(s, pos, &arg)) return false;
        out->args.push_back(std::move(arg));
      }
      if (*pos >= s.size()) return false;
      if (s[*pos] == ',') {
        ++*pos;
        continue;
      }
      if (s[*pos] == '>') {
        ++*pos;
        break;
      }
      return false;
    }
  }
  return true;
}

bool Parse(std::string_view identity, Type* out) {
  size_t pos = 0;
  return ParseType(identity, &pos, out) && pos == identity.size();
}

template <typename T>
bool Fixed(BufferReader& r, Json* out) {
  T v;
  if (!r.GetRaw(&v, sizeof v)) return false;
  *out = v;
  return true;
}

bool Decode(const Type& t, BufferReader& r, Json* out) {
  const std::string& n = t.name;
  if (n == "i8") return Fixed<int8_t>(r, out);
  if (n == "i16") return Fixed<int16_t>(r, out);
  if (n == "i32") return Fixed<int32_t>(r, out);
  if (n == "i64") return Fixed<int64_t>(r, out);
  if (n == "u8") return Fixed<uint8_t>(r, out);
  if (n == "u16") return Fixed<uint16_t>(r, out);
  if (n == "u32") return Fixed<uint32_t>(r, out);
  if (n == "u64") return Fixed<uint64_t>(r, out);
  if (n == "f32") return Fixed<float>(r, out);
  if (n == "f64") return Fixed<double>(r, out);
  if (n == "bool") {
    uint8_t b;
    if (!r.GetU8(&b) || b > 1) return false;
    *out = b != 0;
    return true;
  }
  if (n == "string") {
    std::string_view s;
    if (!r.GetLengthPrefixed(&s)) return false;
    *out = std::string(s);
    return true;
  }
  if (n == "enum" && t.args.size() == 1) return Decode(t.args[0], r, out);
  if ((n == "pair" && t.args.size() == 2) || n == "tuple" || n == "fields") {
    *out = Json::array();
    for (const Type& a : t.args) {
      Json e;
      if (!Decode(a, r, &e)) return false;
      out->push_back(std::move(e));
    }
    return true;
  }
  if (n == "optional" && t.args.size() == 1) {
    uint8_t present;
    if (!r.GetU8(&present) || present > 1) return false;
    if (!present) {
      *out = nullptr;
      return true;
    }
    return Decode(t.args[0], r, out);
  }
  if ((n == "vector" && t.args.size() == 1) || (n == "array" && t.args.size() == 1)) {
    uint64_t count = t.count;
    if (n == "vector" && (!r.GetVarint64(&count) || count > r.remaining())) return false;
    *out = Json::array();
    for (uint64_t i = 0; i < count; ++i) {
      Json e;
      if (!Decode(t.args[0], r, &e)) return false;
      out->push_back(std::move(e));
    }
    return true;
  }
  if (n == "map" && t.args.size() == 2) {
    uint64_t count;
    if (!r.GetVarint64(&count) || count > r.remaining()) return false;
    *out = Json::array();
    for (uint64_t i = 0; i < count; ++i) {
      Json k, v;
      if (!Decode(t.args[0], r, &k) || !Decode(t.args[1], r, &v)) return false;
      out->push_back(Json::array({std::move(k), std::move(v)}));
    }
    return true;
  }
  return false;  // a codec of the user's own
}

bool DecodeWhole(const Type& t, std::string_view bytes, Json* out) {
  BufferReader r(bytes);
  return Decode(t, r, out) && r.empty();
}

Json HexOf(std::string_view bytes) { return Json{{"hex", Hex(bytes)}}; }

}  // namespace

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool DecodeValue(std::string_view identity, std::string_view bytes, Json* out) {
  Type t;
  if (Parse(identity, &t) && DecodeWhole(t, bytes, out)) return true;
  *out = HexOf(bytes);
  return false;
}

bool DecodeStateValue(detail::StateKind kind, std::string_view identity, std::string_view bytes,
                      Json* out) {
  switch (kind) {
    case detail::StateKind::kValue:
    case detail::StateKind::kReducing:
      return DecodeValue(identity, bytes, out);
    case detail::StateKind::kList: {
      BufferReader r(bytes);
      uint64_t n;
      Type t;
      bool known = Parse(identity, &t);
      if (!r.GetVarint64(&n) || n > r.remaining()) break;
      Json list = Json::array();
      bool ok = known;
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view element;
        if (!r.GetLengthPrefixed(&element)) {
          *out = HexOf(bytes);
          return false;
        }
        Json e;
        if (!known || !DecodeWhole(t, element, &e)) {
          e = HexOf(element);
          ok = false;
        }
        list.push_back(std::move(e));
      }
      *out = std::move(list);
      return ok && r.empty();
    }
    case detail::StateKind::kMap: {
      auto arrow = identity.find("->");
      Type kt, vt;
      bool known = arrow != std::string_view::npos && Parse(identity.substr(0, arrow), &kt) &&
                   Parse(identity.substr(arrow + 2), &vt);
      BufferReader r(bytes);
      uint64_t n;
      if (!r.GetVarint64(&n) || n > r.remaining()) break;
      Json map = Json::array();
      bool ok = known;
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view k, v;
        if (!r.GetLengthPrefixed(&k) || !r.GetLengthPrefixed(&v)) {
          *out = HexOf(bytes);
          return false;
        }
        Json jk, jv;
        if (!known || !DecodeWhole(kt, k, &jk)) {
          jk = HexOf(k);
          ok = false;
        }
        if (!known || !DecodeWhole(vt, v, &jv)) {
          jv = HexOf(v);
          ok = false;
        }
        map.push_back(Json::array({std::move(jk), std::move(jv)}));
      }
      *out = std::move(map);
      return ok && r.empty();
    }
  }
  *out = HexOf(bytes);
  return false;
}

}  // namespace weir::tool
