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
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace weir::nexmark {

class SharedText {
 public:
  SharedText() = default;
  SharedText(std::string owned)  // NOLINT: a string is text
      : owned_(std::make_unique<std::string>(std::move(owned))), text_(*owned_) {}
  SharedText(const char* owned) : SharedText(std::string(owned)) {}  // NOLINT: as is a literal

  // Moves are a pointer's and a view's: an event moves through its batches several times, and
  // owned text stays where it is on the heap.
  SharedText(SharedText&& other) noexcept
      : owned_(std::move(other.owned_)), text_(std::exchange(other.text_, {})) {}
  SharedText& operator=(SharedText&& other) noexcept {
    owned_ = std::move(other.owned_);
    text_ = std::exchange(other.text_, {});
    return *this;
  }
  SharedText(const SharedText& other) { *this = other; }
  SharedText& operator=(const SharedText& other) {
    if (this == &other) return *this;
    if (other.owned_) {
      Assign(other.text_);
    } else {
      SetLasting(other.text_);
    }
    return *this;
  }

  // A view of `text`, which must outlive every copy (the generator's tables do).
  static SharedText Lasting(std::string_view text) {
    SharedText t;
    t.SetLasting(text);
    return t;
  }
  void SetLasting(std::string_view text) {
    owned_.reset();
    text_ = text;
  }
  // Owned text; `text` may be anything.
  void Assign(std::string_view text) {
    if (!owned_) {
      owned_ = std::make_unique<std::string>(text);
    } else {
      owned_->assign(text);
    }
    text_ = *owned_;
  }

  std::string_view view() const { return text_; }
  operator std::string_view() const { return text_; }  // NOLINT: reads as text
  size_t size() const { return text_.size(); }
  bool empty() const { return text_.empty(); }

  friend bool operator==(const SharedText& a, const SharedText& b) { return a.text_ == b.text_; }
  friend bool operator==(const SharedText& a, std::string_view b) { return a.text_ == b; }

 private:
  std::unique_ptr<std::string> owned_;  // null for a view of lasting text
  std::string_view text_;               // of the lasting text, or of *owned_
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
