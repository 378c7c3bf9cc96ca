// Attributes and names as JS last answered them, for the kernel's next asks once its own cache
// lapses (a stat of a file looked at more than a second ago, the next walk of a path): answered
// here on the FUSE thread, without a trip through the event loop and the metadata engine.
//
// An answer is kept only while nothing can have changed it. One epoch covers the whole table:
// every request of this mount that may change anything moves it when it arrives and again when
// it is answered, and so does JS when the volume's version shows another client's change. What
// was recorded at an older epoch is never given out, and an answer JS computed while the epoch
// moved is not recorded. Answers go to the kernel with their timeout shortened by how stale the
// epoch may be (JS's polling period), so another client's change still shows within the timeout;
// when JS has not confirmed the epoch within that time, nothing is answered here.
// FORGET drops an inode; records of older epochs are dropped when a new epoch records, and the
// table is cleared when it reaches its cap.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

class AttrCache {
 public:
  /** On when slackMs >= 0 (the most the epoch may lag another client's change); off when < 0. */
  void Configure(int64_t slackMs) {
    std::lock_guard<std::mutex> lock(mu_);
    slackMs_ = slackMs;
    Clear();
    epoch_.fetch_add(1, std::memory_order_acq_rel);
  }

  uint64_t Epoch() const { return epoch_.load(std::memory_order_acquire); }

  /** Something may have changed: nothing recorded so far may be given out. */
  void Bump() { epoch_.fetch_add(1, std::memory_order_acq_rel); }

  /** JS has just checked that no other client changed anything unseen. Without a check within
   * the slack (JS stalled, the metadata engine slow or gone) nothing is answered here. */
  void Confirm() { confirmedMs_.store(NowMs(), std::memory_order_release); }

  /** A getattr or lookup asked at `epoch` was answered with `st`. */
  void RecordAttr(uint64_t epoch, const struct stat& st, double timeout) {
    if (timeout <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (slackMs_ < 0 || epoch != Epoch()) return;
    Room(epoch);
    AttrRec& rec = attrs_[st.st_ino];
    rec.st = st;
    rec.timeout = timeout;
    rec.epoch = epoch;
  }

  /** A lookup of `name` in `parent` asked at `epoch` was answered with `e`. */
  void RecordEntry(uint64_t epoch, uint64_t parent, const std::string& name, const fuse_entry_param& e) {
    if (e.entry_timeout <= 0 || e.attr_timeout <= 0 || e.ino == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (slackMs_ < 0 || epoch != Epoch()) return;
    Room(epoch);
    AttrRec& rec = attrs_[e.ino];
    rec.st = e.attr;
    rec.timeout = e.attr_timeout;
    rec.epoch = epoch;
    Key key{parent, name};
    auto [it, added] = entries_.insert_or_assign(key, EntryRec{e.ino, e.generation, e.entry_timeout, epoch});
    (void)it;
    if (added) rec.names.push_back(std::move(key));
  }

  /** The attributes of `ino`, if known at the current epoch. */
  bool Attr(uint64_t ino, struct stat* st, double* timeout) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Current()) return false;
    auto it = attrs_.find(ino);
    if (it == attrs_.end() || it->second.epoch != Epoch()) return false;
    *st = it->second.st;
    *timeout = Shortened(it->second.timeout);
    attrHits_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /** The entry `name` in `parent`, if it and its inode's attributes are known at the current epoch. */
  bool Entry(uint64_t parent, const char* name, fuse_entry_param* e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Current()) return false;
    uint64_t now = Epoch();
    auto it = entries_.find(Key{parent, name});
    if (it == entries_.end() || it->second.epoch != now) return false;
    auto at = attrs_.find(it->second.ino);
    if (at == attrs_.end() || at->second.epoch != now) return false;
    *e = {};
    e->ino = it->second.ino;
    e->generation = it->second.generation;
    e->attr = at->second.st;
    e->attr_timeout = Shortened(at->second.timeout);
    e->entry_timeout = Shortened(it->second.timeout);
    entryHits_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /** The kernel dropped `ino`: so does the table, with the names that led to it. */
  void Forget(uint64_t ino) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = attrs_.find(ino);
    if (it == attrs_.end()) return;
    for (const Key& k : it->second.names) {
      auto e = entries_.find(k);
      if (e != entries_.end() && e->second.ino == ino) entries_.erase(e);
    }
    attrs_.erase(it);
  }

  size_t Size() {
    std::lock_guard<std::mutex> lock(mu_);
    return attrs_.size() + entries_.size();
  }
  uint64_t AttrHits() const { return attrHits_.load(std::memory_order_relaxed); }
  uint64_t EntryHits() const { return entryHits_.load(std::memory_order_relaxed); }

 private:
  // Each record holds a struct stat and, for names, the name twice (key and the inode's list):
  // at most some tens of MiB.
  static constexpr size_t kMaxRecords = 1 << 16;

  struct Key {
    uint64_t parent;
    std::string name;
    bool operator==(const Key& o) const { return parent == o.parent && name == o.name; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<std::string>()(k.name) * 31 + std::hash<uint64_t>()(k.parent); }
  };
  struct AttrRec {
    struct stat st {};
    double timeout = 0;
    uint64_t epoch = 0;
    std::vector<Key> names;  // entries recorded for this inode (dropped with it)
  };
  struct EntryRec {
    uint64_t ino;
    uint64_t generation;
    double timeout;
    uint64_t epoch;
  };

  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  bool Current() const {
    return slackMs_ >= 0 && NowMs() - confirmedMs_.load(std::memory_order_acquire) <= slackMs_;
  }

  double Shortened(double timeout) const {
    double t = timeout - static_cast<double>(slackMs_) / 1000.0;
    return t > 0 ? t : 0;
  }

  // Records of older epochs are never given out again: the first record of a new epoch drops them.
  void Room(uint64_t epoch) {
    if (filled_ != epoch || attrs_.size() + entries_.size() >= kMaxRecords) Clear();
    filled_ = epoch;
  }

  void Clear() {
    attrs_.clear();
    entries_.clear();
  }

  std::mutex mu_;
  int64_t slackMs_ = -1;
  uint64_t filled_ = 0;
  std::unordered_map<uint64_t, AttrRec> attrs_;
  std::unordered_map<Key, EntryRec, KeyHash> entries_;
  std::atomic<uint64_t> epoch_{1};
  std::atomic<int64_t> confirmedMs_{0};
  std::atomic<uint64_t> attrHits_{0};
  std::atomic<uint64_t> entryHits_{0};
};
