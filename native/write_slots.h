// Reused homes for WRITE payloads. A payload copied into fresh malloc'd memory and handed to JS as
// an external Buffer costs a page fault per 4 KiB on first touch, and V8 counts every such Buffer
// as new external memory: at a few hundred MiB/s of writes that forced a full garbage collection
// every ~30 MiB, a fifth of the JS thread's time. Here a payload lands in one of a few slots of a
// slab mapped once; JS sees it through a view of the slab, and the slot is free again as soon as
// the request is answered (the handler has copied the bytes by then). When every slot is busy a
// payload falls back to its own allocation.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace strata_fuse {

class WriteSlots {
 public:
  // The largest write the kernel sends (conn->max_write).
  static constexpr size_t kSlotBytes = 1024 * 1024;
  // As many as the kernel keeps background requests in flight (conn->max_background): writes under
  // the writeback cache and asynchronous direct I/O come as those.
  static constexpr unsigned kSlots = 64;
  static constexpr size_t kBytes = kSlotBytes * kSlots;

  WriteSlots() {
    // Pages are committed as slots are first used, and stay warm after.
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
    if (base_) for (unsigned i = kSlots; i > 0; i--) free_.push_back(static_cast<int>(i - 1));
  }
  ~WriteSlots() {
    if (base_) munmap(base_, kBytes);
  }
  WriteSlots(const WriteSlots&) = delete;
  WriteSlots& operator=(const WriteSlots&) = delete;

  char* base() const { return base_; }
  char* At(int slot) const { return base_ + static_cast<size_t>(slot) * kSlotBytes; }

  // Any thread: a free slot, or -1.
  int Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return -1;
    int s = free_.back();
    free_.pop_back();
    return s;
  }
  // Any thread.
  void Give(int slot) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
  }

 private:
  char* base_;
  std::mutex mu_;
  std::vector<int> free_;  // most recently freed last: reuse the warmest slot
};

// A slot held by a request; given back when the holder goes (answered, failed, or dropped). It
// keeps a plain pointer: every holder lives in a Msg or in Core::table, and Core declares
// `writeSlots` before `table`, so the slots outlive them (queued Msgs are gone before the TSFN's
// hold on the Core is).
class WriteSlotHold {
 public:
  WriteSlotHold() = default;
  WriteSlotHold(WriteSlots* slots, int slot) : slots_(slots), slot_(slot) {}
  WriteSlotHold(WriteSlotHold&& o) noexcept : slots_(o.slots_), slot_(std::exchange(o.slot_, -1)) {}
  WriteSlotHold& operator=(WriteSlotHold&& o) noexcept {
    if (this != &o) {
      Reset();
      slots_ = o.slots_;
      slot_ = std::exchange(o.slot_, -1);
    }
    return *this;
  }
  WriteSlotHold(const WriteSlotHold&) = delete;
  WriteSlotHold& operator=(const WriteSlotHold&) = delete;
  ~WriteSlotHold() { Reset(); }

  int slot() const { return slot_; }
  void Reset() {
    if (slot_ >= 0) slots_->Give(slot_);
    slot_ = -1;
  }

 private:
  WriteSlots* slots_ = nullptr;
  int slot_ = -1;
};

}  // namespace strata_fuse
