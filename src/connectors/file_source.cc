#include "weir/connectors/file_source.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "base/file_system.h"

namespace weir {
namespace {

// How much of a file a reader holds at a time.
constexpr uint64_t kReadChunk = 256 * 1024;

std::runtime_error Failure(const std::string& what) {
  return std::runtime_error("file source: " + what);
}

class FileEnumerator final : public SplitEnumerator<FileSourceSplit, FileEnumeratorState> {
 public:
  FileEnumerator(SplitEnumeratorContext<FileSourceSplit>& context, std::string path,
                 std::optional<std::chrono::milliseconds> interval, FileEnumeratorState state)
      : context_(context),
        path_(std::move(path)),
        interval_(interval),
        pending_(std::move(state.pending)),
        seen_(state.seen.begin(), state.seen.end()) {}

  void Start() override {
    Discover();
    if (interval_) context_.CallPeriodically([this] { Discover(); }, *interval_);
  }

  void HandleSplitRequest(int subtask) override {
    if (!pending_.empty()) {
      context_.AssignSplit(subtask, pending_.front());
      pending_.erase(pending_.begin());
    } else if (!interval_) {
      context_.SignalNoMoreSplits(subtask);
    } else if (std::find(waiting_.begin(), waiting_.end(), subtask) == waiting_.end()) {
      waiting_.push_back(subtask);  // answered when a new file turns up
    }
  }

  FileEnumeratorState SnapshotState(int64_t) override {
    return FileEnumeratorState{pending_, std::vector<std::string>(seen_.begin(), seen_.end())};
  }

 private:
  void Discover() {
    FileSystem& fs = context_.file_system();
    auto dir = fs.IsDirectory(path_);
    if (!fs.Exists(path_) || !dir.ok()) {
      throw Failure("'" + path_ + "' does not exist" +
                    (dir.ok() ? std::string() : ": " + dir.status().ToString()));
    }
    std::vector<std::string> files;
    if (!*dir) {
      files.push_back(path_);
    } else {
      auto names = fs.ListDir(path_);
      if (!names.ok()) throw Failure("listing '" + path_ + "': " + names.status().ToString());
      for (const std::string& name : *names) {
        if (name.empty() || name[0] == '.' || name[0] == '_') continue;
        std::string file = path_ + (path_.back() == '/' ? "" : "/") + name;
        auto sub = fs.IsDirectory(file);
        if (sub.ok() && *sub) continue;
        files.push_back(std::move(file));
      }
    }
    for (auto& f : files) {
      if (seen_.insert(f).second) pending_.push_back(FileSourceSplit{std::move(f), 0});
    }
    while (!pending_.empty() && !waiting_.empty()) {
      int subtask = waiting_.front();
      waiting_.erase(waiting_.begin());
      HandleSplitRequest(subtask);
    }
  }

  SplitEnumeratorContext<FileSourceSplit>& context_;
  std::string path_;
  std::optional<std::chrono::milliseconds> interval_;
  std::vector<FileSourceSplit> pending_;  // found, not handed out, in the order found
  std::set<std::string> seen_;            // every file ever found
  std::vector<int> waiting_;              // readers that asked when nothing was pending
};

class FileLineReader final : public SourceReader<std::string, FileSourceSplit> {
 public:
  explicit FileLineReader(SourceReaderContext& context) : context_(context) {}

  void Start() override { MaybeRequest(); }

  InputStatus PollNext(ReaderOutput<std::string>& output) override {
    // Every split this reader holds has a watermark from when it arrives, so one not read
    // yet holds the reader's watermark back.
    for (; announced_ < splits_.size(); ++announced_) output.ForSplit(splits_[announced_].path);
    while (!splits_.empty() && output.room() > 0) {
      FileSourceSplit& split = splits_.front();
      output.ForSplit(split.path);
      if (ReadLines(split, output)) {
        output.ReleaseSplit(split.path);
        splits_.erase(splits_.begin());
        --announced_;
        buffer_.clear();
        buffer_start_ = 0;
        size_ = 0;
        open_ = false;
      }
    }
    if (!splits_.empty()) return InputStatus::kMoreAvailable;
    if (no_more_splits_) return InputStatus::kEndOfInput;
    MaybeRequest();
    return InputStatus::kNothingAvailable;
  }

  void AddSplits(std::vector<FileSourceSplit> splits) override {
    for (auto& s : splits) splits_.push_back(std::move(s));
    requested_ = false;
  }
  void NotifyNoMoreSplits() override { no_more_splits_ = true; }
  std::vector<FileSourceSplit> SnapshotState(int64_t) override { return splits_; }

 private:
  void MaybeRequest() {
    if (!splits_.empty() || no_more_splits_ || requested_) return;
    requested_ = true;
    context_.SendSplitRequest();
  }

  // Emits lines of `split` from its offset while there is room; true at the end of the file.
  bool ReadLines(FileSourceSplit& split, ReaderOutput<std::string>& output) {
    FileSystem& fs = context_.file_system();
    if (!open_) {
      auto size = fs.FileSize(split.path);
      if (!size.ok()) throw Failure("cannot read '" + split.path + "': " + size.status().ToString());
      if (split.offset > *size) {
        throw Failure("'" + split.path + "' is shorter (" + std::to_string(*size) +
                      " bytes) than the position restored for it (" +
                      std::to_string(split.offset) + "): the file changed");
      }
      size_ = *size;
      buffer_.clear();
      buffer_start_ = split.offset;
      open_ = true;
    }
    while (output.room() > 0) {
      size_t pos = static_cast<size_t>(split.offset - buffer_start_);
      size_t nl = buffer_.find('\n', pos);
      if (nl != std::string::npos) {
        size_t end = nl > pos && buffer_[nl - 1] == '\r' ? nl - 1 : nl;
        output.Collect(buffer_.substr(pos, end - pos));
        split.offset = buffer_start_ + nl + 1;
        continue;
      }
      uint64_t loaded_end = buffer_start_ + buffer_.size();
      if (loaded_end >= size_) {
        // The last line, without a newline.
        if (pos < buffer_.size()) {
          size_t end = buffer_.back() == '\r' ? buffer_.size() - 1 : buffer_.size();
          output.Collect(buffer_.substr(pos, end - pos));
          split.offset = size_;
        }
        return true;
      }
      buffer_.erase(0, pos);
      buffer_start_ = split.offset;
      uint64_t n = std::min<uint64_t>(kReadChunk, size_ - loaded_end);
      auto chunk = fs.ReadFileRange(split.path, loaded_end, n);
      if (!chunk.ok()) {
        throw Failure("cannot read '" + split.path + "': " + chunk.status().ToString());
      }
      buffer_ += *chunk;
    }
    return false;
  }

  SourceReaderContext& context_;
  std::vector<FileSourceSplit> splits_;  // unfinished, the front one being read
  size_t announced_ = 0;                 // splits_[0, announced_) have their watermark
  bool no_more_splits_ = false;
  bool requested_ = false;
  // The front split's file: its size when opened, and the bytes from buffer_start_ on.
  bool open_ = false;
  uint64_t size_ = 0;
  uint64_t buffer_start_ = 0;
  std::string buffer_;
};

}  // namespace

FileSource FileSource::MonitorContinuously(std::chrono::milliseconds interval) const {
  if (interval.count() <= 0) throw std::invalid_argument("file source: monitor interval must be positive");
  FileSource s = *this;
  s.interval_ = interval;
  return s;
}

std::unique_ptr<FileSource::Enumerator> FileSource::CreateEnumerator(
    SplitEnumeratorContext<FileSourceSplit>& context) const {
  return std::make_unique<FileEnumerator>(context, path_, interval_, FileEnumeratorState{});
}

std::unique_ptr<FileSource::Enumerator> FileSource::RestoreEnumerator(
    SplitEnumeratorContext<FileSourceSplit>& context, FileEnumeratorState state) const {
  return std::make_unique<FileEnumerator>(context, path_, interval_, std::move(state));
}

std::unique_ptr<SourceReader<std::string, FileSourceSplit>> FileSource::CreateReader(
    SourceReaderContext& context) const {
  return std::make_unique<FileLineReader>(context);
}

}  // namespace weir
