// Attributes and names as JS last answered them, for the kernel's next asks once its own cache
// lapses (a stat of a file looked at more than a second ago, the next walk of a path): answered
// here on the FUSE threads, without a trip through the event loop and the metadata engine.
//
// An answer is kept only while nothing can have changed it, tracked per inode and per name
// rather than for the whole table: a tar unpacking into one directory must not throw away what
// is known about every other file. Every mark takes the next number of one sequence and stamps
// the keys it names (an inode, or a directory and a name; keys share stamps by hash, which only
// costs misses). A record carries the sequence number at which its answer was asked for, and is
// given out only while every key it depends on, and the whole table, is stamped at or below it.
//
// Who marks what:
// - this mount's requests that may change something mark their keys when they arrive and again
//   when they are answered (Touch, below), with what JS found their commits changed; one whose
//   target neither could name (an unlink of a name held by no valid entry) marks every inode;
// - JS marks the keys of the volume's change log as it reads them: another client's change with
//   a fresh number, one of this mount's own with the number taken right after it committed, so
//   that what was recorded since survives;
// - JS marks the whole table when it cannot tell what changed (the log was pruned or too long).
// Answers go to the kernel with their timeout shortened by how late JS may see another client's
// change (its polling period); when JS has not confirmed within that time, nothing is answered
// here. FORGET drops an inode; the table is cleared when it reaches its cap or after a mark of
// the whole table.
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

/** The keys one request may change: inodes (attributes) and names (directory, name). */
struct Touch {
  bool all = false;       // anything may have changed
  bool anyInode = false;  // some inode nobody could name may have changed (names did not)
  bool unknownTarget = false;  // a name's inode the cache could not name: JS names it when answered
  int inos = 0;
  uint64_t ino[4] = {0, 0, 0, 0};
  std::vector<uint64_t> more;  // inodes past the first four
  int names = 0;
  uint64_t parent[2] = {0, 0};
  std::string name[2];
  std::vector<std::pair<uint64_t, std::string>> moreNames;  // names past the first two

  void Ino(uint64_t i) {
    if (i == 0) return;
    if (inos < 4) ino[inos++] = i;
    else more.push_back(i);
  }
  void Name(uint64_t p, const std::string& n) {
    if (names < 2) { parent[names] = p; name[names] = n; names++; }
    else moreNames.emplace_back(p, n);
  }
  bool Empty() const { return !all && !anyInode && !unknownTarget && inos == 0 && names == 0; }
  /** `o`'s inodes and names too. */
  void Add(const Touch& o) {
    for (int i = 0; i < o.inos; i++) Ino(o.ino[i]);
    for (uint64_t i : o.more) Ino(i);
    for (int i = 0; i < o.names; i++) Name(o.parent[i], o.name[i]);
    for (const auto& [p, n] : o.moreNames) Name(p, n);
  }
};

class AttrCache {
 public:
  /** What an entry lookup found: a valid record naming an inode, one saying there is none, or nothing usable. */
  enum class Found { kInode, kAbsent, kUnknown };

  /** On when slackMs >= 0 (the most a mark may lag another client's change); off when < 0. */
  void Configure(int64_t slackMs) {
    std::lock_guard<std::mutex> lock(mu_);
    slackMs_ = slackMs;
    Clear();
    all_ = ++seq_;
  }

  /** The sequence number a read asks at (recorded with its answer). */
  uint64_t Ask() {
    std::lock_guard<std::mutex> lock(mu_);
    return seq_;
  }

  /** The next number: everything asked so far is below it (taken right after a commit, so that
   * a record asked before the commit is below the number its keys are later marked with). */
  uint64_t Next() {
    std::lock_guard<std::mutex> lock(mu_);
    return ++seq_;
  }

  /** Anything may have changed: nothing recorded so far may be given out. */
  void MarkAll() {
    std::lock_guard<std::mutex> lock(mu_);
    all_ = ++seq_;
    wholeMarks_.fetch_add(1, std::memory_order_relaxed);
  }

  /** Stamp `t`'s keys with the next number (or all); returns it. */
  uint64_t Mark(const Touch& t) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t at = ++seq_;
    StampLocked(t, at);
    return at;
  }

  /** Stamp `t`'s keys with `at` where they are stamped lower: records asked before `at` (a
   * commit JS saw) are no longer given out; records asked since stay. at 0: the next number. */
  void MarkAt(const Touch& t, uint64_t at) {
    std::lock_guard<std::mutex> lock(mu_);
    if (at == 0 || at > seq_) at = ++seq_;
    StampLocked(t, at);
  }

  /** A change marked at `arrived` is answered: mark its keys again, and return the number they
   * are stamped with now. alone[i] says whether carried[i] (keys an answer's own attributes or
   * name depend on, all among `t`'s) was marked by nothing else in between; when not, that answer
   * may not be their state now and must not be recorded. */
  uint64_t Answered(const Touch& t, uint64_t arrived, const Touch* carried, int n, bool* alone) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int c = 0; c < n; c++) {
      bool ok = !t.all && !t.anyInode && all_ <= arrived && anyInode_ <= arrived;
      for (int i = 0; i < carried[c].inos && ok; i++) ok = stamps_[InoSlot(carried[c].ino[i])] == arrived;
      for (int i = 0; i < carried[c].names && ok; i++) ok = stamps_[NameSlot(carried[c].parent[i], carried[c].name[i])] == arrived;
      alone[c] = ok;
    }
    uint64_t at = ++seq_;
    StampLocked(t, at);
    return at;
  }

  /** JS has just checked that no other client changed anything unmarked. Without a check within
   * the slack (JS stalled, the metadata engine slow or gone) nothing is answered here. */
  void Confirm() { confirmedMs_.store(checkingMs_.load(std::memory_order_acquire), std::memory_order_release); }

  /** JS starts a check: a Confirm() that follows counts from now, not from when the check ended
   * (another client's change committed while it ran may not be in it). */
  void Checking() { checkingMs_.store(NowMs(), std::memory_order_release); }

  /** A getattr asked at `asked` was answered with `st`. */
  void RecordAttr(uint64_t asked, const struct stat& st, double timeout) {
    if (timeout <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (slackMs_ < 0 || !FreshInoLocked(asked, st.st_ino)) return;
    Room();
    PutAttrLocked(asked, st, timeout);
  }

  /** A lookup of `name` in `parent` asked at `asked` was answered with `e` (ino 0: no such name). */
  void RecordEntry(uint64_t asked, uint64_t parent, const std::string& name, const fuse_entry_param& e) {
    if (e.ino != 0 && (e.entry_timeout <= 0 || e.attr_timeout <= 0)) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (slackMs_ < 0 || !FreshNameLocked(asked, parent, name)) return;
    if (e.ino != 0 && !FreshInoLocked(asked, e.ino)) return;
    Room();
    if (e.ino != 0) PutAttrLocked(asked, e.attr, e.attr_timeout);
    Key key{parent, name};
    auto [it, added] = entries_.insert_or_assign(key, EntryRec{e.ino, e.generation, e.entry_timeout, asked});
    (void)it;
    if (added && e.ino != 0) attrs_[e.ino].names.push_back(std::move(key));
  }

  /** Directory `ino` was made empty here, answered at `at`: a name in it that nothing has marked
   * since is absent (a tar unpacking into new directories asks for every name before creating it). */
  void RecordEmptyDir(uint64_t at, uint64_t ino) {
    std::lock_guard<std::mutex> lock(mu_);
    if (slackMs_ < 0 || all_ > at) return;
    Room();
    emptyDirs_[ino] = at;
  }

  /** The attributes of `ino`, if a valid record holds them. */
  bool Attr(uint64_t ino, struct stat* st, double* timeout) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Current()) return false;
    auto it = attrs_.find(ino);
    if (it == attrs_.end() || !FreshInoLocked(it->second.asked, ino)) return false;
    *st = it->second.st;
    *timeout = Shortened(it->second.timeout);
    attrHits_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /** The entry `name` in `parent`: kInode with `e` filled when it and its inode's attributes are
   * validly held, kAbsent when a valid record says there is no such name. */
  Found Entry(uint64_t parent, const char* name, fuse_entry_param* e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Current()) return Found::kUnknown;
    Key key{parent, name};
    auto it = entries_.find(key);
    if (it == entries_.end() || !FreshNameLocked(it->second.asked, parent, key.name)) {
      if (!AbsentFromEmptyLocked(parent, key.name)) return Found::kUnknown;
      negativeHits_.fetch_add(1, std::memory_order_relaxed);
      return Found::kAbsent;
    }
    if (it->second.ino == 0) {
      negativeHits_.fetch_add(1, std::memory_order_relaxed);
      return Found::kAbsent;
    }
    auto at = attrs_.find(it->second.ino);
    if (at == attrs_.end() || !FreshInoLocked(at->second.asked, it->second.ino)) return Found::kUnknown;
    *e = {};
    e->ino = it->second.ino;
    e->generation = it->second.generation;
    e->attr = at->second.st;
    e->attr_timeout = Shortened(at->second.timeout);
    e->entry_timeout = Shortened(it->second.timeout);
    entryHits_.fetch_add(1, std::memory_order_relaxed);
    return Found::kInode;
  }

  /** Which inode `name` in `parent` names, by a valid record (kUnknown: none; the answer may
   * come from a record of a name whose inode's attributes lapsed). */
  Found Target(uint64_t parent, const std::string& name, uint64_t* ino) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(Key{parent, name});
    if (it == entries_.end() || !FreshNameLocked(it->second.asked, parent, name)) {
      *ino = 0;
      return AbsentFromEmptyLocked(parent, name) ? Found::kAbsent : Found::kUnknown;
    }
    *ino = it->second.ino;
    return it->second.ino == 0 ? Found::kAbsent : Found::kInode;
  }

  /** The kernel dropped `ino`: so does the table, with the names that led to it. */
  void Forget(uint64_t ino) {
    std::lock_guard<std::mutex> lock(mu_);
    emptyDirs_.erase(ino);
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
  uint64_t NegativeHits() const { return negativeHits_.load(std::memory_order_relaxed); }
  /** Marks of the whole table (each drops every record). */
  uint64_t WholeMarks() const { return wholeMarks_.load(std::memory_order_relaxed); }
  /** Marks of every inode's attributes (a change to an inode it could not name). */
  uint64_t InodeMarks() const { return inodeMarks_.load(std::memory_order_relaxed); }

 private:
  // Each record holds a struct stat and, for names, the name twice (key and the inode's list):
  // at most some tens of MiB.
  static constexpr size_t kMaxRecords = 1 << 16;
  // Stamps shared by hash (2 MiB): a key's record is lost to another key's mark with odds of
  // about one in kSlots per mark (at 1 << 14 a third of a directory's creates were lost so).
  static constexpr int kSlotBits = 18;
  static constexpr size_t kSlots = size_t{1} << kSlotBits;

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
    uint64_t asked = 0;
    std::vector<Key> names;  // entries recorded for this inode (dropped with it)
  };
  struct EntryRec {
    uint64_t ino;            // 0: no such name
    uint64_t generation;
    double timeout;
    uint64_t asked;
  };

  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  static size_t InoSlot(uint64_t ino) { return (ino * 0x9E3779B97F4A7C15ull) >> (64 - kSlotBits); }
  static size_t NameSlot(uint64_t parent, const std::string& name) {
    return (KeyHash()(Key{parent, name}) * 0x9E3779B97F4A7C15ull) >> (64 - kSlotBits);
  }

  void StampLocked(const Touch& t, uint64_t at) {
    if (t.all) {
      if (at > all_) all_ = at;
      wholeMarks_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (t.anyInode) {
      if (at > anyInode_) anyInode_ = at;
      inodeMarks_.fetch_add(1, std::memory_order_relaxed);
    }
    for (int i = 0; i < t.inos; i++) Raise(InoSlot(t.ino[i]), at);
    for (uint64_t i : t.more) Raise(InoSlot(i), at);
    for (int i = 0; i < t.names; i++) Raise(NameSlot(t.parent[i], t.name[i]), at);
    for (const auto& [p, n] : t.moreNames) Raise(NameSlot(p, n), at);
  }

  void Raise(size_t slot, uint64_t at) {
    if (stamps_[slot] < at) stamps_[slot] = at;
  }

  bool FreshInoLocked(uint64_t asked, uint64_t ino) const {
    return all_ <= asked && anyInode_ <= asked && stamps_[InoSlot(ino)] <= asked;
  }
  bool FreshNameLocked(uint64_t asked, uint64_t parent, const std::string& name) const {
    return all_ <= asked && stamps_[NameSlot(parent, name)] <= asked;
  }

  // A name in a directory recorded empty, not marked since: absent.
  bool AbsentFromEmptyLocked(uint64_t parent, const std::string& name) const {
    auto d = emptyDirs_.find(parent);
    return d != emptyDirs_.end() && FreshNameLocked(d->second, parent, name);
  }

  void PutAttrLocked(uint64_t asked, const struct stat& st, double timeout) {
    AttrRec& rec = attrs_[st.st_ino];
    rec.st = st;
    rec.timeout = timeout;
    rec.asked = asked;
  }

  bool Current() const {
    return slackMs_ >= 0 && NowMs() - confirmedMs_.load(std::memory_order_acquire) <= slackMs_;
  }

  double Shortened(double timeout) const {
    double t = timeout - static_cast<double>(slackMs_) / 1000.0;
    return t > 0 ? t : 0;
  }

  // Nothing recorded before a mark of the whole table is given out again: the first record
  // after one drops them all.
  void Room() {
    if (cleared_ < all_ || attrs_.size() + entries_.size() + emptyDirs_.size() >= kMaxRecords) Clear();
  }

  void Clear() {
    attrs_.clear();
    entries_.clear();
    emptyDirs_.clear();
    cleared_ = seq_;
  }

  std::mutex mu_;
  int64_t slackMs_ = -1;
  uint64_t seq_ = 1;
  uint64_t all_ = 1;          // stamp of the whole table
  uint64_t anyInode_ = 1;     // stamp of every inode's attributes (names stay)
  uint64_t cleared_ = 1;
  std::vector<uint64_t> stamps_ = std::vector<uint64_t>(kSlots, 0);
  std::unordered_map<uint64_t, AttrRec> attrs_;
  std::unordered_map<Key, EntryRec, KeyHash> entries_;
  std::unordered_map<uint64_t, uint64_t> emptyDirs_;  // directory -> number it was empty at
  std::atomic<int64_t> confirmedMs_{0};
  std::atomic<int64_t> checkingMs_{0};
  std::atomic<uint64_t> attrHits_{0};
  std::atomic<uint64_t> entryHits_{0};
  std::atomic<uint64_t> negativeHits_{0};
  std::atomic<uint64_t> wholeMarks_{0};
  std::atomic<uint64_t> inodeMarks_{0};
};
