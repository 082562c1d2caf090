// SharedText: a string field an event may share instead of own.
//
// A bid's URL and every event's "extra" padding are cut from the generator's tables, which are
// immutable and live as long as the program. Java's generator hands out its cached URL Strings
// by reference; a C++ event that copied them into std::strings paid an allocation, a copy and
// a free per field per event, most of it for queries that never read the field. So such text is
// a view of the tables (Lasting), and text from anywhere else (a decoded state value, a test) is
// owned. Either way it reads as a std::string_view; copies of a view are views.
//
// A plain value: no thread-safety of its own (the tables it may view are never written).
#pragma once

#include <weir/codec.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace weir::nexmark {

class SharedText {
 public:
  SharedText() = default;
  SharedText(std::string owned) : owned_(std::move(owned)) {}  // NOLINT: a string is text
  SharedText(const char* owned) : owned_(owned) {}             // NOLINT: as is a literal

  // A view of `text`, which must outlive every copy (the generator's tables do).
  static SharedText Lasting(std::string_view text) {
    SharedText t;
    t.SetLasting(text);
    return t;
  }
  void SetLasting(std::string_view text) {
    owned_.clear();
    lasting_ = text.data() != nullptr ? text : std::string_view("");
  }
  // Owned text; `text` may be anything.
  void Assign(std::string_view text) {
    lasting_ = {};
    owned_.assign(text);
  }

  std::string_view view() const {
    return lasting_.data() != nullptr ? lasting_ : std::string_view(owned_);
  }
  operator std::string_view() const { return view(); }  // NOLINT: reads as text
  size_t size() const { return view().size(); }
  bool empty() const { return view().empty(); }

  friend bool operator==(const SharedText& a, const SharedText& b) { return a.view() == b.view(); }
  friend bool operator==(const SharedText& a, std::string_view b) { return a.view() == b; }

 private:
  std::string owned_;
  std::string_view lasting_;  // data() set: a view of lasting text, owned_ unused
};

}  // namespace weir::nexmark

// Encoded as a string (the same bytes and identity), decoded as owned text.
template <>
struct weir::Codec<weir::nexmark::SharedText> {
  static std::string Identity() { return "string"; }
  static void Encode(const weir::nexmark::SharedText& v, BufferWriter& w) {
    w.PutLengthPrefixed(v.view());
  }
  static bool Decode(BufferReader& r, weir::nexmark::SharedText& v) {
    std::string_view bytes;
    if (!r.GetLengthPrefixed(&bytes)) return false;
    v.Assign(bytes);
    return true;
  }
};
