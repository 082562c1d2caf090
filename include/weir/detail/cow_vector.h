// Internal: CowVector<T>, a growable array that a snapshot can freeze in O(chunks).
//
// Elements live in chunks of 1024. Freeze() hands out the current chunks and starts a new
// epoch; a write to a chunk from an older epoch copies the chunk first, so the frozen view
// never changes while a snapshot thread reads it, and the task thread never waits for it.
// Only chunks written after a freeze are copied, once per freeze (Flink's heap backend does
// the same with its copy-on-write state maps), and only while a frozen view is alive: once
// the snapshot has dropped its views, a write takes the chunk back without copying it.
//
// Thread-safety: the owner (a task thread) calls everything except Frozen's reads and its
// destructor, which any thread may do while the owner goes on writing.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace weir::detail {

template <typename T>
class CowVector {
 public:
  static constexpr size_t kChunkBits = 10;
  static constexpr size_t kChunkSize = size_t{1} << kChunkBits;
  static constexpr size_t kChunkMask = kChunkSize - 1;

  // The items sit inside the chunk: one pointer hop from the chunk table to an element.
  struct Chunk {
    uint64_t epoch;
    std::array<T, kChunkSize> items;
  };

  // An immutable view of the vector as it was at Freeze().
  class Frozen {
   public:
    Frozen() = default;
    Frozen(const Frozen& other) : chunks_(other.chunks_), size_(other.size_) {
      Join(other.views_);
    }
    Frozen(Frozen&& other) noexcept
        : chunks_(std::move(other.chunks_)),
          size_(std::exchange(other.size_, 0)),
          views_(std::move(other.views_)) {}
    Frozen& operator=(Frozen other) noexcept {
      Leave();
      chunks_ = std::move(other.chunks_);
      size_ = std::exchange(other.size_, 0);
      views_ = std::move(other.views_);
      return *this;
    }
    ~Frozen() { Leave(); }

    size_t size() const { return size_; }
    const T& operator[](size_t i) const { return chunks_[i >> kChunkBits]->items[i & kChunkMask]; }
    // The elements [c * kChunkSize, (c + 1) * kChunkSize) that are below size(), for loops
    // that visit every element: one lookup per chunk. Requires c * kChunkSize < size().
    std::span<const T> chunk(size_t c) const {
      assert(c * kChunkSize < size_);
      const std::array<T, kChunkSize>& items = chunks_[c]->items;
      return std::span<const T>(items).first(std::min(kChunkSize, size_ - c * kChunkSize));
    }

   private:
    friend class CowVector;
    void Join(const std::shared_ptr<std::atomic<int64_t>>& views) {
      views_ = views;
      if (views_) views_->fetch_add(1, std::memory_order_relaxed);
    }
    // The chunks go first: the release orders every read of them before the owner sees the
    // count drop, and writes to them in place.
    void Leave() {
      chunks_.clear();
      if (views_) views_->fetch_sub(1, std::memory_order_release);
      views_.reset();
    }

    std::vector<std::shared_ptr<const Chunk>> chunks_;
    size_t size_ = 0;
    std::shared_ptr<std::atomic<int64_t>> views_;  // the owner's count of live views
  };

  size_t size() const { return size_; }

  // Grows to at least `n` elements (new ones default-constructed); never shrinks.
  void Resize(size_t n) {
    while (chunks_.size() * kChunkSize < n) {
      auto c = std::make_shared<Chunk>();
      c->epoch = epoch_;
      chunks_.push_back(std::move(c));
    }
    if (n > size_) size_ = n;
  }

  const T& operator[](size_t i) const { return chunks_[i >> kChunkBits]->items[i & kChunkMask]; }

  // The element for writing: its chunk is copied first if a snapshot may still read it.
  // Inlined into every state update; the first write to a chunk after a freeze goes out of
  // line.
  T& Mutable(size_t i) {
    Chunk* c = chunks_[i >> kChunkBits].get();
    if (c->epoch != epoch_) [[unlikely]]
      c = TakeChunk(i >> kChunkBits);
    return c->items[i & kChunkMask];
  }

  Frozen Freeze() {
    Frozen f;
    f.Join(views_);
    f.chunks_.assign(chunks_.begin(), chunks_.end());
    f.size_ = size_;
    ++epoch_;
    return f;
  }

 private:
  // Makes chunk `c` this epoch's, copying it if a frozen view may still read it.
  [[gnu::noinline]] Chunk* TakeChunk(size_t c) {
    std::shared_ptr<Chunk>& chunk = chunks_[c];
    // Frozen views are the only other owners of chunks: with none alive, this one is ours.
    if (views_->load(std::memory_order_acquire) != 0) {
      chunk = std::make_shared<Chunk>(*chunk);
    }
    chunk->epoch = epoch_;
    return chunk.get();
  }

  // Frozen views alive, shared with them (a view may outlive the vector).
  std::shared_ptr<std::atomic<int64_t>> views_ = std::make_shared<std::atomic<int64_t>>(0);
  std::vector<std::shared_ptr<Chunk>> chunks_;
  uint64_t epoch_ = 0;
  size_t size_ = 0;
};

}  // namespace weir::detail
