// Internal: the sinks behind DataStream::Print and DataStream::AddSink, and AppendText, the
// text form of a record that Print and the text file sink (weir/connectors/file_sink.h) share.
//
// Records are formatted to text one batch at a time: strings as they are, numbers with
// std::to_chars, bool as true/false, and anything else with fmt ("{}"; tuples and vectors via
// fmt/ranges.h, your own types through a fmt::formatter specialization).
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "weir/detail/operators.h"

namespace weir::detail {

template <typename T>
void AppendText(const T& v, std::string* out) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out->append(std::string_view(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    out->append(v ? "true" : "false");
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, char>) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, res.ptr);
  } else {
    static_assert(fmt::is_formattable<T>::value,
                  "a text sink (WriteAsText, Print) writes records with fmt: give the record type "
                  "a fmt::formatter specialization, or Map it to a string first");
    fmt::format_to(std::back_inserter(*out), "{}", v);
  }
}

// Copies n bytes: inline for up to 16 (a short string's), memcpy beyond. A library call per
// record would cost more than the copy.
inline void CopyBytes(char* dst, const char* src, size_t n) {
  if (n > 16) {
    std::memcpy(dst, src, n);
  } else if (n >= 8) {  // two overlapping words
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n > 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}

// Appends each record's text and a newline. Strings are measured first and copied into place:
// one resize per batch instead of a capacity check and a length update per record.
template <typename T>
void AppendLines(const std::vector<T>& records, std::string* out) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    size_t at = out->size();
    size_t total = at + records.size();
    for (const auto& r : records) total += std::string_view(r).size();
    out->resize(total);
    char* p = out->data() + at;
    for (const auto& r : records) {
      std::string_view text(r);
      CopyBytes(p, text.data(), text.size());
      p += text.size();
      *p++ = '\n';
    }
  } else {
    for (const auto& r : records) {
      AppendText(r, out);
      out->push_back('\n');
    }
  }
}

// Calls a user function for every record (DataStream::AddSink). At-least-once: the function
// sees records again after a restore.
template <typename T, typename F>
class FunctionSinkOperator final : public OneInputOperator<T> {
 public:
  explicit FunctionSinkOperator(F fn) : fn_(std::move(fn)) {}
  void Accept(Batch<T>& in) override {
    this->records_in_.Add(in.records.size());
    try {
      for (const auto& r : in.records) fn_(r);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }

 private:
  F fn_;
};

// Writes `text` to standard output in one call (lines of one batch stay together).
void WriteToStdout(std::string_view text);

// Prints each record as a line to standard output; with parallelism > 1 each line starts with
// "<subtask+1>> ", as Flink's print() does.
template <typename T>
class PrintSinkOperator final : public OneInputOperator<T> {
 public:
  void Open() override {
    if (this->context().parallelism() > 1) {
      prefix_ = std::to_string(this->context().subtask_index() + 1) + "> ";
    }
  }
  void Accept(Batch<T>& in) override {
    this->records_in_.Add(in.records.size());
    text_.clear();
    try {
      for (const auto& r : in.records) {
        text_.append(prefix_);
        AppendText(r, &text_);
        text_.push_back('\n');
      }
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    WriteToStdout(text_);
  }

 private:
  std::string prefix_;
  std::string text_;
};

}  // namespace weir::detail
