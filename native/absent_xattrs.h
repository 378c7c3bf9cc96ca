// Names of extended attributes known absent, per inode, for a short time: the kernel asks for
// security.capability before every write (to know whether the write must drop it), and each ask
// answered by JS costs a round trip through the event loop. Answered here instead, from what JS
// found absent, for as long as the kernel itself trusts attributes (the attr timeout): another
// client's setxattr shows within that time, as its other changes do. A local setxattr or
// removexattr forgets the inode's entries and bumps an epoch, so an answer JS computed before it
// is not recorded; FORGET drops the inode's entries, and the table has a size cap.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

class AbsentXattrs {
 public:
  void SetTtlMs(uint32_t ms) { ttlMs_.store(ms, std::memory_order_relaxed); }

  /** Whether `name` of `ino` is known absent now. */
  bool Known(uint64_t ino, const char* name) {
    if (ttlMs_.load(std::memory_order_relaxed) == 0) return false;
    int64_t now = NowMs();
    bool security = std::strncmp(name, kSecurity, sizeof(kSecurity) - 1) == 0;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = byIno_.find(ino);
    if (it == byIno_.end()) return false;
    for (auto& e : it->second) {
      if ((e.first == name || (security && e.first == kAnySecurity)) && e.second > now) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
    }
    return false;
  }

  uint64_t Epoch() const { return epoch_.load(std::memory_order_acquire); }

  /** `ino` was just created here: it has no security.* attribute (nothing sets one on a FUSE file
   * system at creation), so the kernel's ask before its first write needs no round trip. */
  void Created(uint64_t ino) { Record(ino, kAnySecurity, Epoch()); }

  /** JS found `name` of `ino` absent, having asked at `epoch`. */
  void Record(uint64_t ino, const std::string& name, uint64_t epoch) {
    uint32_t ttl = ttlMs_.load(std::memory_order_relaxed);
    if (ttl == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (epoch != epoch_.load(std::memory_order_acquire)) return;
    if (entries_ >= kMaxEntries) {
      byIno_.clear();
      entries_ = 0;
    }
    int64_t expiry = NowMs() + ttl;
    auto& list = byIno_[ino];
    for (auto& e : list) {
      if (e.first == name) {
        e.second = expiry;
        return;
      }
    }
    list.emplace_back(name, expiry);
    entries_++;
  }

  /** An xattr of `ino` changes here: forget what was known of it. */
  void Changed(uint64_t ino) {
    std::lock_guard<std::mutex> lock(mu_);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    Drop(ino);
  }

  void Forget(uint64_t ino) {
    std::lock_guard<std::mutex> lock(mu_);
    Drop(ino);
  }

  size_t Entries() {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }

  uint64_t Hits() const { return hits_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kMaxEntries = 65536;
  static constexpr char kSecurity[] = "security.";
  // Stands for every security.* name (no real name is empty).
  static constexpr const char* kAnySecurity = "";

  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  void Drop(uint64_t ino) {
    auto it = byIno_.find(ino);
    if (it == byIno_.end()) return;
    entries_ -= it->second.size();
    byIno_.erase(it);
  }

  std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<std::pair<std::string, int64_t>>> byIno_;
  size_t entries_ = 0;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint32_t> ttlMs_{0};
  std::atomic<uint64_t> hits_{0};
};
