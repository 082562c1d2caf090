// What the exactly-once text file sink keeps in checkpoints, in words, for `weir inspect`:
// each output's file and committed size, and each pending transaction's target, staging file
// and place in the target (the encodings are private to text_file_writer.cc).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weir {

struct FileSinkOutputInfo {
  std::string target;
  uint64_t committed_size = 0;
};

struct FileSinkTransactionInfo {
  std::string target;
  std::string staging;
  uint64_t offset = 0;  // where its bytes go in the target
  uint64_t length = 0;
};

// nullopt when `bytes` is not the file sink's (another sink's state, say).
std::optional<FileSinkOutputInfo> DecodeFileSinkOutput(std::string_view bytes);
std::optional<FileSinkTransactionInfo> DecodeFileSinkTransaction(std::string_view bytes);

}  // namespace weir
