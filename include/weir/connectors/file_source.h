// FileSource: the lines of text files as std::string records, on the source API
// (weir/source.h), for env.FromSource. Flink's FileSource with a TextLineInputFormat.
//
//   // One file, or every file of a directory (in name order), then the end of input:
//   auto lines = env.FromSource(weir::FileSource::ForTextLines("input/"),
//                               weir::WatermarkStrategy<std::string>::NoWatermarks(), "lines");
//   // A directory watched for new files every 5 s, without end:
//   weir::FileSource::ForTextLines("incoming/").MonitorContinuously(std::chrono::seconds(5));
//
// Each file is a split. The enumerator (on the coordinating side) lists the path, remembers
// every file it found (so a file is read once, across restores: its state is in every
// checkpoint) and hands files to readers as they ask. A reader reads its file from a byte
// offset, line by line ("\n" ends a line, a "\r" before it is dropped; the last line needs no
// "\n"), and its checkpointed position is the file and the offset of the first line not yet
// emitted, so a restore neither skips nor repeats a line. In a directory, names starting with
// '.' or '_' (files being written, by convention) and subdirectories are skipped.
//
// A file must be complete when it appears (write it elsewhere, or under a hidden name, and
// rename it in): appends to a file already read are not seen. A missing path, or a file that
// cannot be read, fails the job with an error naming the path.
//
// Thread-safety: as weir::Source.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weir/codec.h"
#include "weir/source.h"

namespace weir {

// A file and the byte offset of its first line not yet read.
struct FileSourceSplit {
  std::string path;
  uint64_t offset = 0;
};

// What the enumerator keeps in checkpoints: files found and not handed out yet, and every
// file it ever found.
struct FileEnumeratorState {
  std::vector<FileSourceSplit> pending;
  std::vector<std::string> seen;
};

template <>
struct Codec<FileSourceSplit>
    : FieldsCodec<FileSourceSplit, &FileSourceSplit::path, &FileSourceSplit::offset> {};
template <>
struct Codec<FileEnumeratorState>
    : FieldsCodec<FileEnumeratorState, &FileEnumeratorState::pending, &FileEnumeratorState::seen> {};

class FileSource final : public Source<std::string, FileSourceSplit, FileEnumeratorState> {
 public:
  using Enumerator = SplitEnumerator<FileSourceSplit, FileEnumeratorState>;

  // The file at `path`, or every file in the directory `path`; bounded.
  static FileSource ForTextLines(std::string path) { return FileSource(std::move(path)); }
  // Lists the directory again every `interval` for new files, and never ends.
  FileSource MonitorContinuously(std::chrono::milliseconds interval) const;

  const std::string& path() const { return path_; }
  std::optional<std::chrono::milliseconds> monitor_interval() const { return interval_; }

  std::unique_ptr<Enumerator> CreateEnumerator(
      SplitEnumeratorContext<FileSourceSplit>& context) const override;
  std::unique_ptr<Enumerator> RestoreEnumerator(SplitEnumeratorContext<FileSourceSplit>& context,
                                                FileEnumeratorState state) const override;
  std::unique_ptr<SourceReader<std::string, FileSourceSplit>> CreateReader(
      SourceReaderContext& context) const override;
  std::string split_state_name() const override { return "file-splits"; }

 private:
  explicit FileSource(std::string path) : path_(std::move(path)) {}

  std::string path_;
  std::optional<std::chrono::milliseconds> interval_;  // none: bounded
};

}  // namespace weir
