#include "base/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

namespace weir {
namespace {

constexpr size_t kWriteBufferSize = 64 * 1024;

Status ErrnoStatus(std::string_view op, const std::string& path) {
  int err = errno;
  std::string ctx(op);
  ctx += " '";
  ctx += path;
  ctx += "'";
  return Status::FromErrno(err, ctx);
}

Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing", path);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

// A file written through a descriptor: Sync and Close in terms of the subclass's Flush.
class FdWritableFile : public WritableFile {
 public:
  Status Sync() override {
    WEIR_RETURN_IF_ERROR(Flush());
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fsync of", path_);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Status s = Flush();
    if (::close(fd_) != 0 && s.ok()) s = ErrnoStatus("closing", path_);
    fd_ = -1;
    return s;
  }

  uint64_t size() const override { return size_; }
  const std::string& path() const override { return path_; }

 protected:
  FdWritableFile(std::string path, int fd, uint64_t initial_size)
      : path_(std::move(path)), fd_(fd), size_(initial_size) {}

  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixWritableFile final : public FdWritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t initial_size)
      : FdWritableFile(std::move(path), fd, initial_size) {
    buffer_.reserve(kWriteBufferSize);
  }
  ~PosixWritableFile() override { (void)Close(); }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::FailedPrecondition("append to closed file '" + path_ + "'");
    size_ += data.size();
    if (buffer_.size() + data.size() <= kWriteBufferSize) {
      buffer_.append(data);
      return Status::OK();
    }
    WEIR_RETURN_IF_ERROR(FlushBuffer());
    if (data.size() >= kWriteBufferSize) return WriteAll(fd_, data.data(), data.size(), path_);
    buffer_.append(data);
    return Status::OK();
  }

  Status Flush() override { return FlushBuffer(); }

  int fd() const { return fd_; }
  // Counts bytes written to fd() directly (AppendRange), bypassing Append.
  void AddWrittenDirectly(uint64_t n) { size_ += n; }

 private:
  Status FlushBuffer() {
    if (buffer_.empty() || fd_ < 0) return Status::OK();
    Status s = WriteAll(fd_, buffer_.data(), buffer_.size(), path_);
    buffer_.clear();
    return s;
  }

  std::string buffer_;
};

// Aligned 1 MiB buffers for DirectWritableFile, kept for the next file: a fresh buffer is
// memory the kernel has to fault in, which is what writing around the page cache avoids.
class DirectBufferPool {
 public:
  static constexpr size_t kSize = 1 << 20;
  static constexpr size_t kAlign = 4096;  // covers 512-byte and 4 KiB logical blocks
  static constexpr size_t kKept = 32;

  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  using Buffer = std::unique_ptr<char, Free>;

  static DirectBufferPool& Get() {
    static DirectBufferPool* pool = new DirectBufferPool();  // never destroyed: used at exit
    return *pool;
  }
  Buffer Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        Buffer b = std::move(free_.back());
        free_.pop_back();
        return b;
      }
    }
    auto* p = static_cast<char*>(std::aligned_alloc(kAlign, kSize));
    if (p == nullptr) throw std::bad_alloc();  // as new would: not a null buffer to copy into
    return Buffer(p);
  }
  void Release(Buffer b) {
    std::lock_guard<std::mutex> lock(mu_);
    // As many as a snapshot's two files may have waiting (DirectBufferWriter::kQueued):
    // taken from the kernel afresh, each checkpoint's buffers would fault in again.
    if (free_.size() < kKept) free_.push_back(std::move(b));
  }

  // The process's budget of buffers waiting for the device beyond each file's own
  // (DirectBufferWriter::kOwnQueued): a file takes a slot per extra buffer it queues and
  // gives it back once that buffer is written. A few files get their full queue; many
  // subtasks snapshotting at once share kExtraQueued MiB instead of 16 MiB each.
  static constexpr size_t kExtraQueued = 48;
  bool TryTakeQueueSlot() {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_slots_taken_ >= kExtraQueued) return false;
    peak_queue_slots_ = std::max(peak_queue_slots_, ++queue_slots_taken_);
    return true;
  }
  void ReturnQueueSlots(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_slots_taken_ -= n;
  }
  DirectIoQueueUse QueueUse() {
    std::lock_guard<std::mutex> lock(mu_);
    return {.extra_buffers = queue_slots_taken_,
            .peak_extra_buffers = peak_queue_slots_,
            .extra_budget = kExtraQueued};
  }

 private:
  std::mutex mu_;
  std::vector<Buffer> free_;
  size_t queue_slots_taken_ = 0;
  size_t peak_queue_slots_ = 0;
};

// Writes a DirectWritableFile's full buffers, in order, on a thread of its own: a direct
// write returns when the data has gone to the device (durable only after the sync), and a
// snapshot thread that encoded 17 MiB of state waited for seventeen of them in turn. Now the
// device's time overlaps the filling of the next buffers. Started with the first full buffer, so a file under 1 MiB starts no thread.
class DirectBufferWriter {
 public:
  using Buffer = DirectBufferPool::Buffer;

  DirectBufferWriter(int fd, const std::string& path)
      : fd_(fd), path_(path), thread_([this] { Run(); }) {}
  ~DirectBufferWriter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
    if (slots_ > 0) DirectBufferPool::Get().ReturnQueueSlots(slots_);
  }

  // Queues `full` to be written whole, first waiting while this file has as many waiting as
  // it may: kOwnQueued, more with slots of the process's budget, never kQueued. If an earlier
  // write failed, queues nothing and returns its error.
  Status Push(Buffer full) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Waiting for a slot needs no wake-up from other files: this one has buffers in
      // flight, and each written one tries again.
      changed_.wait(lock, [&] {
        if (!error_.ok()) return true;
        const size_t waiting = queue_.size() + (busy_ ? 1 : 0);
        if (waiting < kOwnQueued) return true;
        if (waiting >= kQueued || !DirectBufferPool::Get().TryTakeQueueSlot()) return false;
        ++slots_;
        return true;
      });
      if (!error_.ok()) {
        DirectBufferPool::Get().Release(std::move(full));
        return error_;
      }
      queue_.push_back(std::move(full));
    }
    changed_.notify_all();
    return Status::OK();
  }

  // Waits until every queued buffer is written (or dropped after an error); the first error.
  Status Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return queue_.empty() && !busy_; });
    return error_;
  }

 private:
  // Up to 16 MiB a file waiting for the device: a heap snapshot encodes a million keys'
  // state (two files of about 10 MiB) without waiting for the disk, while the process's
  // budget has room, and so lets go sooner of the frozen chunks the task copies before it
  // writes to them. Larger files go at the device's pace. Beyond kOwnQueued, each buffer
  // takes a slot of that budget (DirectBufferPool::kExtraQueued); without one, the file
  // waits for its own writes.
  static constexpr size_t kQueued = 16;
  static constexpr size_t kOwnQueued = 2;

  // After a buffer is written: slots beyond what the buffers still waiting need go back.
  void ReturnSpareSlotsLocked() {
    const size_t waiting = queue_.size() + (busy_ ? 1 : 0);
    const size_t needed = waiting > kOwnQueued ? waiting - kOwnQueued : 0;
    if (slots_ > needed) {
      DirectBufferPool::Get().ReturnQueueSlots(slots_ - needed);
      slots_ = needed;
    }
  }

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Buffer b = std::move(queue_.front());
      queue_.pop_front();
      const bool failed = !error_.ok();
      busy_ = true;
      lock.unlock();
      // After a failure the rest is dropped: the file is unusable anyway.
      Status s = failed ? Status::OK() : WriteWhole(b.get(), DirectBufferPool::kSize);
      DirectBufferPool::Get().Release(std::move(b));
      lock.lock();
      busy_ = false;
      if (!s.ok() && error_.ok()) error_ = std::move(s);
      ReturnSpareSlotsLocked();
      changed_.notify_all();
    }
  }

  Status WriteWhole(const char* data, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::write(fd_, data + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EINVAL && !cached_) {
        // A file system that took O_DIRECT at open but not this write: the rest goes cached.
        int flags = ::fcntl(fd_, F_GETFL);
        if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0) {
          return ErrnoStatus("clearing O_DIRECT on", path_);
        }
        cached_ = true;
        continue;
      }
      if (w < 0) return ErrnoStatus("writing", path_);
      done += static_cast<size_t>(w);
    }
    return Status::OK();
  }

  const int fd_;
  const std::string path_;
  bool cached_ = false;  // O_DIRECT cleared; the writer thread's alone
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Buffer> queue_;
  bool busy_ = false;  // writing a buffer taken from the queue
  size_t slots_ = 0;   // of the process's budget, held for buffers beyond kOwnQueued
  bool stop_ = false;
  Status error_;
  std::thread thread_;  // last: it starts once the rest is ready
};

// A file opened with O_DIRECT: whole aligned buffers go from the process to the device with no
// copy into the page cache, written behind the appends (DirectBufferWriter). The tail that
// does not fill an aligned block goes through the page cache when the file is flushed
// (O_DIRECT cleared), and so does anything appended later.
class DirectWritableFile final : public FdWritableFile {

 public:
  DirectWritableFile(std::string path, int fd)
      : FdWritableFile(std::move(path), fd, 0), buffer_(DirectBufferPool::Get().Acquire()) {}
  ~DirectWritableFile() override {
    (void)Close();
    if (buffer_ != nullptr) DirectBufferPool::Get().Release(std::move(buffer_));
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::FailedPrecondition("append to closed file '" + path_ + "'");
    WEIR_RETURN_IF_ERROR(write_error_);
    size_ += data.size();
    if (!direct_) return WriteAll(fd_, data.data(), data.size(), path_);
    while (!data.empty()) {
      size_t n = std::min(data.size(), DirectBufferPool::kSize - used_);
      std::memcpy(buffer_.get() + used_, data.data(), n);
      used_ += n;
      data.remove_prefix(n);
      if (used_ == DirectBufferPool::kSize) WEIR_RETURN_IF_ERROR(WriteFullBuffer());
    }
    return Status::OK();
  }

  Status Flush() override {
    if (fd_ < 0) return Status::OK();
    // The full buffers first, then the rest from this thread.
    if (writer_ != nullptr) {
      Status drained = writer_->Drain();
      if (write_error_.ok()) write_error_ = std::move(drained);
      writer_.reset();
    }
    WEIR_RETURN_IF_ERROR(write_error_);
    if (!direct_) return Status::OK();
    const size_t aligned = used_ / DirectBufferPool::kAlign * DirectBufferPool::kAlign;
    if (aligned > 0) WEIR_RETURN_IF_ERROR(WriteBuffer(aligned));
    // The rest through the page cache: a direct write must fill whole blocks.
    return LeaveDirectMode();
  }

 private:
  // Hands the full buffer to the writer thread and goes on with a fresh one. A failed write
  // fails every later call: what follows it in the file is lost.
  Status WriteFullBuffer() {
    if (writer_ == nullptr && !writer_refused_) {
      try {
        writer_ = std::make_unique<DirectBufferWriter>(fd_, path_);
      } catch (const std::system_error&) {
        writer_refused_ = true;  // no thread to be had: this file writes its buffers itself
      }
    }
    if (writer_ == nullptr) return WriteBuffer(used_);
    DirectBufferPool::Buffer next = DirectBufferPool::Get().Acquire();
    used_ = 0;
    write_error_ = writer_->Push(std::exchange(buffer_, std::move(next)));
    return write_error_;
  }

  // Writes the buffer's first n bytes (a multiple of kAlign) and keeps what follows them.
  Status WriteBuffer(size_t n) {
    size_t done = 0;
    Status s;
    while (done < n) {
      ssize_t w = ::write(fd_, buffer_.get() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      // A file system that took O_DIRECT at open but not this write: the rest goes cached.
      if (w < 0 && errno == EINVAL) break;
      if (w < 0) {
        s = ErrnoStatus("writing", path_);
        break;
      }
      done += static_cast<size_t>(w);
    }
    std::memmove(buffer_.get(), buffer_.get() + done, used_ - done);
    used_ -= done;
    if (s.ok() && done < n) return LeaveDirectMode();
    return s;
  }

  // Clears O_DIRECT and writes what is buffered through the page cache.
  Status LeaveDirectMode() {
    int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0) {
      return ErrnoStatus("clearing O_DIRECT on", path_);
    }
    direct_ = false;
    Status s = WriteAll(fd_, buffer_.get(), used_, path_);
    used_ = 0;
    return s;
  }

  bool direct_ = true;
  DirectBufferPool::Buffer buffer_;
  size_t used_ = 0;  // bytes in buffer_ not yet written
  std::unique_ptr<DirectBufferWriter> writer_;  // from the first full buffer until Flush
  bool writer_refused_ = false;                 // its thread could not start
  Status write_error_;  // of a write behind the appends
};

}  // namespace

DirectIoQueueUse DirectIoQueue() { return DirectBufferPool::Get().QueueUse(); }

namespace {

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewUncachedWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
    if (fd < 0 && errno == EINVAL) return NewWritableFile(path);  // no O_DIRECT here (tmpfs)
    if (fd < 0) return ErrnoStatus("creating", path);
    return std::unique_ptr<WritableFile>(std::make_unique<DirectWritableFile>(path, fd));
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("creating", path);
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd, 0));
  }

  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    // Writes go to the end without O_APPEND, since nothing else writes the file while we hold
    // it.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("opening for append", path);
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
      Status s = ErrnoStatus("seeking to the end of", path);
      ::close(fd);
      return s;
    }
    return std::unique_ptr<WritableFile>(
        std::make_unique<PosixWritableFile>(path, fd, static_cast<uint64_t>(end)));
  }

  Result<std::string> ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("opening", path);
    // Closed however this returns: the buffer of a huge file may fail to allocate.
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    std::string out;
    // Sized once: growing by doubling copies a large state file a second time and touches
    // twice its memory. The read still goes to the end, should the size have changed.
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
    char buf[64 * 1024];
    while (true) {
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("reading", path);
      }
      if (r == 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }

  Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, uint64_t n) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("opening", path);
    std::string out(n, '\0');
    uint64_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        Status s = ErrnoStatus("reading", path);
        ::close(fd);
        return s;
      }
      if (r == 0) break;
      done += static_cast<uint64_t>(r);
    }
    ::close(fd);
    if (done != n) {
      return Status::Corruption("file '" + path + "' is too short: wanted " + std::to_string(n) +
                                " bytes at offset " + std::to_string(offset) + ", found " +
                                std::to_string(done));
    }
    return out;
  }

  // Missing only where the kernel says so: a path behind a directory this process may not
  // search counts as there, so that reading it says why it cannot be read.
  bool Exists(const std::string& path) override {
    if (::access(path.c_str(), F_OK) == 0) return true;
    return errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG;
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat of", path);
    return static_cast<uint64_t>(st.st_size);
  }

  Result<bool> IsDirectory(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat of", path);
    return S_ISDIR(st.st_mode);
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return ErrnoStatus("listing directory", path);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(dir)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
      return Status::FromErrno(ec.value(), "creating directory '" + path + "'");
    }
    return Status::OK();
  }

  Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("deleting", path);
    return Status::OK();
  }

  Status DeleteDirRecursive(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return Status::FromErrno(ec.value(), "deleting directory '" + path + "'");
    return Status::OK();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus("renaming '" + from + "' to", to);
    }
    return Status::OK();
  }

  Status Link(const std::string& from, const std::string& to) override {
    if (::link(from.c_str(), to.c_str()) != 0) return ErrnoStatus("linking '" + from + "' as", to);
    return Status::OK();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return ErrnoStatus("truncating", path);
    }
    return Status::OK();
  }

  Status WriteAt(const std::string& path, uint64_t offset, std::string_view data) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("opening", path);
    Status s;
    for (size_t put = 0; put < data.size();) {
      ssize_t c = ::pwrite(fd, data.data() + put, data.size() - put,
                           static_cast<off_t>(offset + put));
      if (c < 0) {
        if (errno == EINTR) continue;
        s = ErrnoStatus("writing", path);
        break;
      }
      put += static_cast<size_t>(c);
    }
    ::close(fd);
    return s;
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("opening directory", path);
    Status s;
    if (::fsync(fd) != 0) s = ErrnoStatus("fsync of directory", path);
    ::close(fd);
    return s;
  }

  Status SyncFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("opening", path);
    Status s;
    if (::fdatasync(fd) != 0) s = ErrnoStatus("fsync of", path);
    ::close(fd);
    return s;
  }

  Status AppendRange(const std::string& src, uint64_t offset, uint64_t n,
                     WritableFile& dst) override {
    auto* posix = dynamic_cast<PosixWritableFile*>(&dst);
    if (posix == nullptr || posix->fd() < 0 || n == 0) {
      return FileSystem::AppendRange(src, offset, n, dst);
    }
    // pread and write through one buffer: on ext4 copy_file_range splices page by page and
    // takes half as long again. (Not mmap: a read error would be a SIGBUS, not a Status.)
    WEIR_RETURN_IF_ERROR(posix->Flush());
    int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return ErrnoStatus("opening", src);
    constexpr uint64_t kChunk = 1 << 20;
    std::unique_ptr<char[]> buf(new char[std::min(n, kChunk)]);
    uint64_t left = n;
    Status s;
    while (left > 0 && s.ok()) {
      ssize_t got = ::pread(in, buf.get(), std::min(left, kChunk), static_cast<off_t>(offset));
      if (got < 0) {
        if (errno == EINTR) continue;
        s = ErrnoStatus("reading", src);
        break;
      }
      if (got == 0) {
        s = Status::Corruption("file '" + src + "' ended " + std::to_string(left) +
                               " bytes before the range to copy");
        break;
      }
      for (ssize_t put = 0; put < got;) {
        ssize_t c = ::write(posix->fd(), buf.get() + put, static_cast<size_t>(got - put));
        if (c < 0) {
          if (errno == EINTR) continue;
          s = ErrnoStatus("copying '" + src + "' into", dst.path());
          break;
        }
        put += c;
        posix->AddWrittenDirectly(static_cast<uint64_t>(c));
      }
      offset += static_cast<uint64_t>(got);
      left -= static_cast<uint64_t>(got);
    }
    ::close(in);
    return s;
  }
};

}  // namespace

Status FileSystem::AppendRange(const std::string& src, uint64_t offset, uint64_t n,
                               WritableFile& dst) {
  constexpr uint64_t kChunk = 1 << 20;
  while (n > 0) {
    uint64_t len = std::min(n, kChunk);
    WEIR_ASSIGN_OR_RETURN(std::string chunk, ReadFileRange(src, offset, len));
    WEIR_RETURN_IF_ERROR(dst.Append(chunk));
    offset += len;
    n -= len;
  }
  return Status::OK();
}

namespace {

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing releases the flock

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<FileLock>> FileSystem::LockFile(const std::string& path,
                                                       std::string_view holder) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "opening lock file '" + path + "'");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string who;
    char buf[512];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) who.assign(buf, static_cast<size_t>(n));
    ::close(fd);
    if (err == EWOULDBLOCK) {
      while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
      return Status::FailedPrecondition("'" + path + "' is locked by " +
                                        (who.empty() ? std::string("another process") : who));
    }
    return Status::FromErrno(err, "locking '" + path + "'");
  }
  std::string text(holder);
  text += '\n';
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "writing lock file '" + path + "'");
  }
  return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
}

std::string AbsolutePath(std::string_view path) {
  std::error_code ec;
  std::filesystem::path p(path);
  std::filesystem::path abs = std::filesystem::absolute(p, ec);
  if (ec) abs = p;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(abs, ec);
  std::string out = (ec ? abs.lexically_normal() : canonical).string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string ProcessDescription() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return "process " + std::to_string(::getpid()) + " on " + (host[0] ? host : "this host");
}

FileSystem* FileSystem::Default() {
  static PosixFileSystem fs;
  return &fs;
}

Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view data) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  auto file = fs.NewWritableFile(tmp);
  if (!file.ok()) return file.status();
  Status s = (*file)->Append(data);
  if (s.ok()) s = (*file)->Sync();
  Status c = (*file)->Close();
  if (s.ok()) s = c;
  if (s.ok()) s = fs.Rename(tmp, path);
  if (!s.ok()) {
    (void)fs.DeleteFile(tmp);
    return s;
  }
  return fs.SyncDir(DirName(path));
}

Result<std::string> ResolvePath(std::string_view uri, std::string_view config_key) {
  if (uri.empty()) {
    return Status::InvalidArgument(std::string(config_key) + ": the path is empty");
  }
  constexpr std::string_view kFileScheme = "file://";
  if (uri.starts_with(kFileScheme)) {
    std::string_view rest = uri.substr(kFileScheme.size());
    if (rest.empty() || rest[0] != '/') {
      return Status::InvalidArgument(std::string(config_key) + ": '" + std::string(uri) +
                                     "' is not an absolute file:// URI (expected file:///path)");
    }
    return std::string(rest);
  }
  auto scheme_end = uri.find("://");
  if (scheme_end != std::string_view::npos) {
    return Status::InvalidArgument(
        std::string(config_key) + ": scheme '" + std::string(uri.substr(0, scheme_end)) + "' in '" +
        std::string(uri) + "' is not supported; use a local path or a file:// URI");
  }
  return std::string(uri);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  if (out.back() != '/') out += '/';
  out += b;
  return out;
}

std::string DirName(std::string_view path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

std::string BaseName(std::string_view path) {
  auto pos = path.find_last_of('/');
  return std::string(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

}  // namespace weir
