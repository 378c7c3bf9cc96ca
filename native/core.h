// Shared state of one mounted FUSE session. FUSE threads, the loop thread and the JS thread all
// see a Core; which fields each may touch is written next to them.
#pragma once

#include <fuse_lowlevel.h>
#include <napi.h>

#include "absent_xattrs.h"
#include "attr_cache.h"
#include "write_slots.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace strata_fuse {

enum class Op : uint8_t {
  Lookup, Getattr, Setattr, Readlink, Mknod, Mkdir, Unlink, Rmdir, Symlink, Rename, Link,
  Open, Read, Write, Flush, Release, Fsync, Opendir, Readdir, Releasedir, Statfs,
  Setxattr, Getxattr, Listxattr, Removexattr, Access, Create, Getlk, Setlk, Flock, Fallocate,
  Count,
  // Control messages from native threads; never handed to the JS handler.
  LoopExit, DetachDone,
};

const char* OpName(Op op);

// Which reply methods may answer which op: a wrong reply kind would be sent with the wrong
// payload size and the kernel would fail the syscall with EIO, so misuse throws in JS instead.
enum ReplyKind : uint32_t {
  kErr = 1u << 0, kOk = 1u << 1, kEntry = 1u << 2, kAttr = 1u << 3, kReadlink = 1u << 4,
  kOpen = 1u << 5, kCreate = 1u << 6, kWrite = 1u << 7, kBuf = 1u << 8, kData = 1u << 9,
  kReaddir = 1u << 10, kStatfs = 1u << 11, kXattr = 1u << 12, kLock = 1u << 13,
};
uint32_t AllowedReplies(Op op);

// One request travelling from a FUSE thread to the JS thread. Owned by whoever holds it.
struct Msg {
  Op op;
  fuse_req_t req = nullptr;
  uint32_t uid = 0, gid = 0, pid = 0;
  uint64_t ino = 0;       // ino, or parent for name ops
  uint64_t fh = 0;
  bool hasFh = false;
  uint64_t off = 0;       // read/write/readdir/fallocate offset
  uint64_t size = 0;      // read/readdir/getxattr/listxattr size, fallocate length
  uint64_t epoch = 0;     // getxattr: AbsentXattrs epoch when asked; getattr/lookup: AttrCache's Ask()
  uint64_t u2 = 0;        // newparent (rename/link), rdev (mknod), lock owner (flush/release/locks)
  // getlk/setlk: the lock as the kernel sent it (l_len 0 = to the end of the file).
  int16_t lkType = 0;
  int64_t lkStart = 0, lkLen = 0;
  uint32_t lkPid = 0;
  bool lkSleep = false;   // setlk: F_SETLKW; release: FUSE_RELEASE_FLOCK_UNLOCK
  uint32_t mode = 0;      // mode, access mask, setxattr flags
  int32_t flags = 0;      // open flags, rename flags, datasync, fallocate mode
  int toSet = 0;          // setattr: FUSE_SET_ATTR_* bits
  struct stat st {};      // setattr values
  std::string name, name2;
  char* data = nullptr;   // write payload / xattr value (malloc'd; ownership may move to a Buffer)
  size_t dataLen = 0;
  WriteSlotHold slot;     // write: the payload is in this slot instead of `data` (moves to Pending)
  int err = 0;            // DetachDone: errno of the detach, 0 on success
  Touch touch;            // what it may change (Core::ChangesOf), marked when it arrived...
  uint64_t arrived = 0;   // ...with this number
  ~Msg();
};

// What the JS side must still answer: the request and the limits the kernel set for it.
struct Pending {
  fuse_req_t req;
  Op op;
  uint32_t size;
  uint64_t epoch;    // getattr/lookup: AttrCache's Ask() when the kernel asked
  uint64_t parent;   // the request's inode; for lookup, create, mknod, mkdir, symlink the directory of `name`
  std::string name;
  Touch touch;       // what it may change, marked when it arrived with `arrived`: marked again
  uint64_t arrived;  // when answered
  int32_t openFlags; // open/create: the flags asked for
  // A directory's attributes after this change (FuseSession::AlsoAttr), recorded with the answer
  // if nothing else changed it meanwhile.
  bool hasAlso = false;
  struct stat also {};
  double alsoTimeout = 0;
  // The inodes the change touched, as JS found them (FuseSession::AlsoChanged); marked when
  // answered. A change whose target the cache could not name marks every inode without them.
  bool changedKnown = false;
  Touch changed;
  WriteSlotHold slot;  // write: the slot its payload is in, free again once this is answered
};

struct Core;
void CallJs(Napi::Env env, Napi::Function unused, Core* core, Msg* msg);
using Tsfn = Napi::TypedThreadSafeFunction<Core, Msg, CallJs>;

class DataPool;

// Env teardown flips `closing` under the exclusive lock; every thread that touches the TSFN
// holds the shared lock, so nobody calls into a TSFN that Node is about to delete.
struct Gate {
  std::shared_mutex mu;
  bool closing = false;
};

struct Core : std::enable_shared_from_this<Core> {
  // Fixed before the loop starts; read by FUSE threads.
  fuse_session* se = nullptr;
  std::string mountpoint;
  unsigned maxRead = 512 * 1024;
  bool writeback = false;
  Tsfn tsfn;

  // Shared with threads that may outlive their use of the Core (the detach helper).
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();

  // FORGETs are counted, not kept: nothing in the core holds per-inode state for the kernel's
  // lookups (a list of them, never drained, grew with every inode the kernel ever dropped).
  std::atomic<uint64_t> forgetRequests{0};
  std::atomic<uint64_t> lookupsForgotten{0};
  std::atomic<uint64_t> writesWithoutSlot{0};  // FUSE threads: payloads copied into own memory
  AbsentXattrs absentXattrs;
  AttrCache attrCache;

  // FUSE threads: the inodes and names a request may change, for what getattr and lookup answer
  // (the AttrCache marks them when it arrives and when it is answered). A flush or fsync through
  // a handle opened read-only, and a release, touch nothing here: JS names what they commit.
  // An unlink or rename whose target the AttrCache cannot name leaves it to JS to name.
  Touch ChangesOf(const Msg* m);
  // JS thread: a handle was opened with these flags.
  void Opened(uint64_t fh, int32_t flags);

  // Created with the session, before any FUSE thread runs; the slab view is JS thread only.
  // Declared before `table`: the slots must outlive the holds in it. Finalize gives slots back
  // while JS may still hold views of them; nothing takes them again, as the FUSE loop has ended,
  // and the ArrayBuffer keeps the slab mapped.
  std::shared_ptr<WriteSlots> writeSlots;
  Napi::Reference<Napi::ArrayBuffer> writeSlab;

  std::thread loop;
  std::unique_ptr<DataPool> dataPool;  // created on the JS thread on first replyData

  std::mutex fhMu;
  std::unordered_set<uint64_t> writableFhs;  // handles open for writing (fhMu)

  // ---- JS thread only ----
  std::unordered_map<uint64_t, Pending> table;
  uint64_t nextId = 1;
  Napi::FunctionReference handler, onError, onExit;
  Napi::ObjectReference self;  // keeps the wrapper alive while mounted
  Napi::ObjectReference opNames;  // array of op name strings (strings cannot be referenced directly)
  std::vector<Napi::Promise::Deferred> unmountWaiters;
  bool unmountRequested = false;
  bool loopExited = false;
  bool finalized = false;
  int loopResult = 0;
  std::shared_ptr<Core>* keepAlive = nullptr;  // the TSFN finalizer's reference

  ~Core();

  // FUSE/native threads: hand a message to the JS thread, or answer EIO when JS is gone.
  void Dispatch(Msg* msg);
  // JS thread.
  void OnLoopExit(Napi::Env env, int result);
  void OnDetachDone(Napi::Env env, int err);
  void Finalize(Napi::Env env);
  void StartDetach(bool force);
  void StartLoop();
};

// The fuse_lowlevel_ops every session uses (dispatch.cc).
extern const fuse_lowlevel_ops kOps;

// libfuse's log, captured while a session is being set up so a failed mount can say why.
void InstallFuseLog();
void BeginFuseLogCapture();
std::string EndFuseLogCapture();

// Detach the mount from the namespace (lazy: open files keep being served). Returns 0 or errno.
// timeoutMs < 0 waits for fusermount3 (non-root) as long as it takes.
int DetachMount(const std::string& mountpoint, bool force, int timeoutMs);

}  // namespace strata_fuse
