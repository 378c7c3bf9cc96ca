// FUSE threads -> JS thread. Each low-level callback copies what it needs out of libfuse's buffers
// into a Msg and queues it on the session's one thread-safe function; the FUSE thread never waits
// for JS. On the JS thread the request gets an id in the pending table (JS never sees a
// fuse_req_t) and the handler is called as handler(op, id, ctx, ...args).
#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "attr.h"
#include "core.h"

namespace strata_fuse {

namespace {

const char* const kOpNames[] = {
  "lookup", "getattr", "setattr", "readlink", "mknod", "mkdir", "unlink", "rmdir", "symlink",
  "rename", "link", "open", "read", "write", "flush", "release", "fsync", "opendir", "readdir",
  "releasedir", "statfs", "setxattr", "getxattr", "listxattr", "removexattr", "access", "create",
  "getlk", "setlk", "flock", "fallocate",
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<size_t>(Op::Count),
              "every op needs a name");

Core* CoreOf(fuse_req_t req) { return static_cast<Core*>(fuse_req_userdata(req)); }

Msg* NewMsg(fuse_req_t req, Op op, fuse_ino_t ino) {
  Msg* m = new Msg;
  m->op = op;
  m->req = req;
  m->ino = ino;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  m->uid = ctx->uid;
  m->gid = ctx->gid;
  m->pid = static_cast<uint32_t>(ctx->pid);
  return m;
}

void SetFh(Msg* m, const fuse_file_info* fi) {
  if (fi) { m->fh = fi->fh; m->hasFh = true; }
}

// A copy the JS thread can adopt as a Buffer without copying again.
bool CopyData(Msg* m, const char* src, size_t len) {
  m->dataLen = len;
  if (len == 0) return true;
  m->data = static_cast<char*>(std::malloc(len));
  if (!m->data) return false;
  std::memcpy(m->data, src, len);
  return true;
}

void Send(Msg* m) {
  Core* core = CoreOf(m->req);
  m->touch = core->ChangesOf(m);
  if (!m->touch.Empty()) m->arrived = core->attrCache.Mark(m->touch);
  core->Dispatch(m);
}

// ---- low-level callbacks (FUSE threads) ----

void OpInit(void* userdata, fuse_conn_info* conn) {
  Core* core = static_cast<Core*>(userdata);
  // Must equal the -o max_read the session was created with, or libfuse aborts the session.
  conn->max_read = core->maxRead;
  conn->max_write = 1024 * 1024;
  unsigned want = FUSE_CAP_ASYNC_READ | FUSE_CAP_ASYNC_DIO;
#ifdef FUSE_CAP_BIG_WRITES
  want |= FUSE_CAP_BIG_WRITES;
#endif
  // replyData splices from the caller's fd straight into /dev/fuse (needs max_read <= 512 KiB,
  // see the notes); without it libfuse reads into a heap buffer first.
  want |= FUSE_CAP_SPLICE_WRITE;
  if (core->writeback) want |= FUSE_CAP_WRITEBACK_CACHE;
  // Read-ahead reaches us as background requests, of which the kernel keeps at most 12 in flight by
  // default: with 512 KiB reads, 6 MiB for every stream together, and each request waits for the
  // JS thread in turn. Measured with fio (1 MiB reads, this VM): 12 gave 1,480 MiB/s from block
  // memory and 1,500 with 4 jobs; 48 to 96 gave 1,750-2,000 and 1,700-2,000.
  // Writes under the writeback cache and asynchronous direct I/O are background requests too.
  conn->max_background = WriteSlots::kSlots;
  conn->congestion_threshold = WriteSlots::kSlots * 3 / 4;
  // Asking for a capability the kernel lacks makes libfuse abort the session.
  conn->want |= want & conn->capable;
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Core* core = CoreOf(req);
  core->absentXattrs.Forget(ino);
  core->attrCache.Forget(ino);
  core->forgetRequests.fetch_add(1, std::memory_order_relaxed);
  core->lookupsForgotten.fetch_add(nlookup, std::memory_order_relaxed);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Core* core = CoreOf(req);
  uint64_t n = 0;
  for (size_t i = 0; i < count; i++) {
    n += forgets[i].nlookup;
    core->absentXattrs.Forget(forgets[i].ino);
    core->attrCache.Forget(forgets[i].ino);
  }
  core->forgetRequests.fetch_add(count, std::memory_order_relaxed);
  core->lookupsForgotten.fetch_add(n, std::memory_order_relaxed);
  fuse_reply_none(req);
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Core* core = CoreOf(req);
  uint64_t epoch = core->attrCache.Ask();
  fuse_entry_param e;
  switch (core->attrCache.Entry(parent, name, &e)) {
    case AttrCache::Found::kInode: fuse_reply_entry(req, &e); return;
    case AttrCache::Found::kAbsent: fuse_reply_err(req, ENOENT); return;
    case AttrCache::Found::kUnknown: break;
  }
  Msg* m = NewMsg(req, Op::Lookup, parent);
  m->name = name;
  m->epoch = epoch;
  Send(m);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Core* core = CoreOf(req);
  uint64_t epoch = core->attrCache.Ask();
  struct stat st;
  double timeout;
  if (core->attrCache.Attr(ino, &st, &timeout)) {
    fuse_reply_attr(req, &st, timeout);
    return;
  }
  Msg* m = NewMsg(req, Op::Getattr, ino);
  SetFh(m, fi);
  m->epoch = epoch;
  Send(m);
}

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int toSet, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Setattr, ino);
  m->st = *attr;
  m->toSet = toSet;
  SetFh(m, fi);
  Send(m);
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) { Send(NewMsg(req, Op::Readlink, ino)); }

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Msg* m = NewMsg(req, Op::Mknod, parent);
  m->name = name;
  m->mode = mode;
  m->u2 = rdev;
  Send(m);
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Msg* m = NewMsg(req, Op::Mkdir, parent);
  m->name = name;
  m->mode = mode;
  Send(m);
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Msg* m = NewMsg(req, Op::Unlink, parent);
  m->name = name;
  Send(m);
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Msg* m = NewMsg(req, Op::Rmdir, parent);
  m->name = name;
  Send(m);
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Msg* m = NewMsg(req, Op::Symlink, parent);
  m->name = link;  // target first, as in symlink(2)
  m->name2 = name;
  Send(m);
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Msg* m = NewMsg(req, Op::Rename, parent);
  m->name = name;
  m->u2 = newparent;
  m->name2 = newname;
  m->flags = static_cast<int32_t>(flags);
  Send(m);
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Msg* m = NewMsg(req, Op::Link, ino);
  m->u2 = newparent;
  m->name = newname;
  Send(m);
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Open, ino);
  m->flags = fi->flags;
  Send(m);
}

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Read, ino);
  SetFh(m, fi);
  m->size = size;
  m->off = static_cast<uint64_t>(off);
  Send(m);
}

void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Write, ino);
  SetFh(m, fi);
  m->off = static_cast<uint64_t>(off);
  // libfuse reuses `buf` as soon as we return, and we return before JS runs: this is the one copy.
  Core* core = CoreOf(req);
  int slot = core->writeSlots && size <= WriteSlots::kSlotBytes ? core->writeSlots->Take() : -1;
  if (slot >= 0) {
    m->slot = WriteSlotHold(core->writeSlots.get(), slot);
    m->dataLen = size;
    std::memcpy(core->writeSlots->At(slot), buf, size);
    Send(m);
    return;
  }
  core->writesWithoutSlot.fetch_add(1, std::memory_order_relaxed);
  if (!CopyData(m, buf, size)) {
    delete m;
    fuse_reply_err(req, ENOMEM);
    return;
  }
  Send(m);
}

void OpFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Flush, ino);
  SetFh(m, fi);
  m->u2 = fi->lock_owner;
  Send(m);
}

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Release, ino);
  SetFh(m, fi);
  m->flags = fi->flags;
  m->u2 = fi->lock_owner;
  m->lkSleep = fi->flock_release != 0;
  Send(m);
}

void CopyLock(Msg* m, const struct flock* lock) {
  m->lkType = lock->l_type;
  m->lkStart = lock->l_start;
  m->lkLen = lock->l_len;
  m->lkPid = static_cast<uint32_t>(lock->l_pid);
}

void OpGetlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock) {
  Msg* m = NewMsg(req, Op::Getlk, ino);
  SetFh(m, fi);
  m->u2 = fi->lock_owner;
  CopyLock(m, lock);
  Send(m);
}

void OpSetlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock, int sleep) {
  Msg* m = NewMsg(req, Op::Setlk, ino);
  SetFh(m, fi);
  m->u2 = fi->lock_owner;
  CopyLock(m, lock);
  m->lkSleep = sleep != 0;
  Send(m);
}

void OpFlock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, int op) {
  Msg* m = NewMsg(req, Op::Flock, ino);
  SetFh(m, fi);
  m->u2 = fi->lock_owner;
  m->flags = op;
  Send(m);
}

void OpFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Fallocate, ino);
  SetFh(m, fi);
  m->flags = mode;
  m->off = static_cast<uint64_t>(offset);
  m->size = static_cast<uint64_t>(length);
  Send(m);
}

void OpFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Fsync, ino);
  SetFh(m, fi);
  m->flags = datasync;
  Send(m);
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Opendir, ino);
  m->flags = fi->flags;
  Send(m);
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Readdir, ino);
  SetFh(m, fi);
  m->size = size;
  m->off = static_cast<uint64_t>(off);
  Send(m);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Releasedir, ino);
  SetFh(m, fi);
  Send(m);
}

void OpStatfs(fuse_req_t req, fuse_ino_t ino) { Send(NewMsg(req, Op::Statfs, ino)); }

void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  CoreOf(req)->absentXattrs.Changed(ino);
  Msg* m = NewMsg(req, Op::Setxattr, ino);
  m->name = name;
  m->flags = flags;
  if (!CopyData(m, value, size)) {
    delete m;
    fuse_reply_err(req, ENOMEM);
    return;
  }
  Send(m);
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Core* core = CoreOf(req);
  if (core->absentXattrs.Known(ino, name)) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  Msg* m = NewMsg(req, Op::Getxattr, ino);
  m->name = name;
  m->size = size;
  m->epoch = core->absentXattrs.Epoch();
  Send(m);
}

void OpListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Msg* m = NewMsg(req, Op::Listxattr, ino);
  m->size = size;
  Send(m);
}

void OpRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  CoreOf(req)->absentXattrs.Changed(ino);
  Msg* m = NewMsg(req, Op::Removexattr, ino);
  m->name = name;
  Send(m);
}

void OpAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  Msg* m = NewMsg(req, Op::Access, ino);
  m->mode = static_cast<uint32_t>(mask);
  Send(m);
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Msg* m = NewMsg(req, Op::Create, parent);
  m->name = name;
  m->mode = mode;
  m->flags = fi->flags;
  Send(m);
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof ops);
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.setattr = OpSetattr;
  ops.readlink = OpReadlink;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.releasedir = OpReleasedir;
  ops.statfs = OpStatfs;
  ops.setxattr = OpSetxattr;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.removexattr = OpRemovexattr;
  ops.access = OpAccess;
  ops.create = OpCreate;
  // With getlk/setlk/flock set, libfuse asks the kernel for FUSE_POSIX_LOCKS and FLOCK_LOCKS:
  // locks then live in the volume's metadata, seen by every mount and SDK client.
  ops.getlk = OpGetlk;
  ops.setlk = OpSetlk;
  ops.flock = OpFlock;
  ops.fallocate = OpFallocate;
  // fsyncdir/... stay NULL: libfuse answers ENOSYS itself.
  return ops;
}

// JS number for a 64-bit value: inode numbers and offsets stay below 2^53 by construction.
inline Napi::Number Num(Napi::Env env, uint64_t v) {
  return Napi::Number::New(env, static_cast<double>(v));
}

Napi::Value FhOrNull(Napi::Env env, const Msg* m) {
  return m->hasFh ? Napi::Value(Num(env, m->fh)) : env.Null();
}

// Moves the payload into a Buffer; on runtimes that forbid external buffers it is copied.
Napi::Value TakeData(Napi::Env env, Msg* m) {
  if (m->dataLen == 0) return Napi::Buffer<char>::New(env, 0);
  char* data = m->data;
  m->data = nullptr;
  return Napi::Buffer<char>::NewOrCopy(env, data, m->dataLen,
                                       [](Napi::Env, char* p) { std::free(p); });
}

uint32_t SizeLimit(const Msg* m) {
  switch (m->op) {
    case Op::Read: case Op::Readdir: case Op::Getxattr: case Op::Listxattr:
      return static_cast<uint32_t>(m->size);
    default:
      return 0;
  }
}

void ReportHandlerError(Napi::Env env, Core* core, const Napi::Error& err, Op op) {
  try {
    Napi::String name = Napi::String::New(env, OpName(op));
    if (!core->onError.IsEmpty()) {
      core->onError.Call({err.Value(), name});
      return;
    }
    // Swallowing the error silently would hide bugs; an uncaught exception would take the
    // whole mount down. A process warning is the middle ground.
    Napi::Object process = env.Global().Get("process").As<Napi::Object>();
    Napi::Function emitWarning = process.Get("emitWarning").As<Napi::Function>();
    emitWarning.Call(process, {err.Value()});
  } catch (const Napi::Error&) {
    // An error in the error reporter has nowhere left to go.
  }
}

}  // namespace

const fuse_lowlevel_ops kOps = MakeOps();

const char* OpName(Op op) {
  size_t i = static_cast<size_t>(op);
  return i < static_cast<size_t>(Op::Count) ? kOpNames[i] : "?";
}

namespace {

// The inode `name` in `parent` names, into `t`; when the AttrCache cannot tell, JS names the
// inodes the change touched when it answers (FuseSession::AlsoChanged), or else every inode is
// marked then.
void TouchTarget(AttrCache& cache, uint64_t parent, const std::string& name, Touch* t) {
  uint64_t ino = 0;
  if (cache.Target(parent, name, &ino) == AttrCache::Found::kUnknown) t->unknownTarget = true;
  else t->Ino(ino);
}

}  // namespace

Touch Core::ChangesOf(const Msg* m) {
  Touch t;
  switch (m->op) {
    case Op::Lookup: case Op::Getattr: case Op::Readlink: case Op::Read: case Op::Opendir:
    case Op::Readdir: case Op::Releasedir: case Op::Statfs: case Op::Getxattr: case Op::Listxattr:
    case Op::Access: case Op::Getlk: case Op::Setlk: case Op::Flock:
      return t;
    case Op::Open:
      if (m->flags & O_TRUNC) t.Ino(m->ino);
      return t;
    case Op::Flush: case Op::Fsync: {
      std::lock_guard<std::mutex> lock(fhMu);
      if (writableFhs.count(m->fh) != 0) t.Ino(m->ino);
      return t;
    }
    case Op::Release: {
      // What a release commits (after its early answer) is marked by JS when it happens.
      std::lock_guard<std::mutex> lock(fhMu);
      writableFhs.erase(m->fh);
      return t;
    }
    case Op::Setattr: case Op::Write: case Op::Fallocate: case Op::Setxattr: case Op::Removexattr:
      t.Ino(m->ino);
      return t;
    case Op::Create:
      // The name may be an existing file (no LOOKUP came first), opened and perhaps truncated.
      t.Ino(m->ino);
      t.Name(m->ino, m->name);
      TouchTarget(attrCache, m->ino, m->name, &t);
      return t;
    case Op::Mknod: case Op::Mkdir: case Op::Symlink:
      t.Ino(m->ino);
      t.Name(m->ino, m->op == Op::Symlink ? m->name2 : m->name);  // symlink: name is the target
      return t;
    case Op::Link:  // ino -> (newparent, name)
      t.Ino(m->ino);
      t.Ino(m->u2);
      t.Name(m->u2, m->name);
      return t;
    case Op::Unlink: case Op::Rmdir:
      t.Ino(m->ino);
      t.Name(m->ino, m->name);
      TouchTarget(attrCache, m->ino, m->name, &t);
      return t;
    case Op::Rename:  // (parent, name) -> (newparent, name2): the moved inode and any it replaces
      t.Ino(m->ino);
      t.Ino(m->u2);
      t.Name(m->ino, m->name);
      t.Name(m->u2, m->name2);
      TouchTarget(attrCache, m->ino, m->name, &t);
      TouchTarget(attrCache, m->u2, m->name2, &t);
      return t;
    default:
      t.all = true;
      return t;
  }
}

void Core::Opened(uint64_t fh, int32_t flags) {
  if ((flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC)) return;
  std::lock_guard<std::mutex> lock(fhMu);
  writableFhs.insert(fh);
}

uint32_t AllowedReplies(Op op) {
  switch (op) {
    case Op::Lookup: case Op::Mknod: case Op::Mkdir: case Op::Symlink: case Op::Link:
      return kErr | kEntry;
    case Op::Getattr: case Op::Setattr:
      return kErr | kAttr;
    case Op::Readlink:
      return kErr | kReadlink;
    case Op::Open: case Op::Opendir:
      return kErr | kOpen;
    case Op::Create:
      return kErr | kCreate;
    case Op::Read:
      return kErr | kBuf | kData;
    case Op::Write:
      return kErr | kWrite;
    case Op::Readdir:
      return kErr | kReaddir | kBuf;
    case Op::Statfs:
      return kErr | kStatfs;
    case Op::Getxattr: case Op::Listxattr:
      return kErr | kBuf | kXattr;
    case Op::Unlink: case Op::Rmdir: case Op::Rename: case Op::Flush: case Op::Release:
    case Op::Fsync: case Op::Releasedir: case Op::Setxattr: case Op::Removexattr: case Op::Access:
    case Op::Setlk: case Op::Flock: case Op::Fallocate:
      return kErr | kOk;
    case Op::Getlk:
      return kErr | kLock;
    default:
      return kErr;
  }
}

Msg::~Msg() { std::free(data); }

void Core::Dispatch(Msg* m) {
  std::shared_lock<std::shared_mutex> lock(gate->mu);
  if (!gate->closing && tsfn.NonBlockingCall(m) == napi_ok) return;
  lock.unlock();
  if (m->req) fuse_reply_err(m->req, EIO);
  delete m;
}

void CallJs(Napi::Env env, Napi::Function, Core* core, Msg* m) {
  std::unique_ptr<Msg> owned(m);
  if (static_cast<napi_env>(env) == nullptr) {
    // The environment is being torn down and is draining the queue: nobody will answer.
    if (m->req) fuse_reply_err(m->req, EIO);
    return;
  }
  if (m->op == Op::LoopExit) { core->OnLoopExit(env, m->err); return; }
  if (m->op == Op::DetachDone) { core->OnDetachDone(env, m->err); return; }
  if (core->finalized) {  // cannot happen: LoopExit is queued after every request; kept as a guard
    fuse_reply_err(m->req, EIO);
    return;
  }

  uint64_t id = core->nextId++;
  bool named = m->op == Op::Lookup || m->op == Op::Create || m->op == Op::Mknod || m->op == Op::Mkdir || m->op == Op::Symlink;
  Pending& pending = core->table.emplace(id, Pending{m->req, m->op, SizeLimit(m), m->epoch, m->ino, !named ? std::string() : m->op == Op::Symlink ? m->name2 : m->name,
                              std::move(m->touch), m->arrived, m->flags}).first->second;

  try {
    Napi::Object ctx = Napi::Object::New(env);
    ctx.Set("uid", Napi::Number::New(env, m->uid));
    ctx.Set("gid", Napi::Number::New(env, m->gid));
    ctx.Set("pid", Napi::Number::New(env, m->pid));

    std::vector<napi_value> args;
    args.reserve(9);
    args.push_back(core->opNames.Value().Get(static_cast<uint32_t>(m->op)));
    args.push_back(Num(env, id));
    args.push_back(ctx);
    auto str = [&](const std::string& s) { return Napi::String::New(env, s); };
    auto n = [&](uint64_t v) { return Num(env, v); };
    switch (m->op) {
      case Op::Lookup: case Op::Unlink: case Op::Rmdir:
        args.insert(args.end(), {n(m->ino), str(m->name)});
        break;
      case Op::Getattr:
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m)});
        break;
      case Op::Setattr:
        args.insert(args.end(), {n(m->ino), SetattrToJs(env, m->st, m->toSet), FhOrNull(env, m)});
        break;
      case Op::Readlink: case Op::Statfs:
        args.push_back(n(m->ino));
        break;
      case Op::Mknod:
        args.insert(args.end(), {n(m->ino), str(m->name), n(m->mode), n(m->u2)});
        break;
      case Op::Mkdir:
        args.insert(args.end(), {n(m->ino), str(m->name), n(m->mode)});
        break;
      case Op::Symlink:
        args.insert(args.end(), {str(m->name), n(m->ino), str(m->name2)});
        break;
      case Op::Rename:
        args.insert(args.end(), {n(m->ino), str(m->name), n(m->u2), str(m->name2),
                                 Napi::Number::New(env, m->flags)});
        break;
      case Op::Link:
        args.insert(args.end(), {n(m->ino), n(m->u2), str(m->name)});
        break;
      case Op::Open: case Op::Opendir:
        args.insert(args.end(), {n(m->ino), Napi::Number::New(env, m->flags)});
        break;
      case Op::Read: case Op::Readdir:
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m), n(m->size), n(m->off)});
        break;
      case Op::Write: {
        Napi::Value data;
        if (m->slot.slot() >= 0) {
          // A view, valid until the request is answered: then the slot takes another payload.
          size_t at = static_cast<size_t>(m->slot.slot()) * WriteSlots::kSlotBytes;
          data = Napi::Uint8Array::New(env, m->dataLen, core->writeSlab.Value(), at);
          pending.slot = std::move(m->slot);
        } else {
          data = TakeData(env, m);
        }
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m), data, n(m->off)});
        break;
      }
      case Op::Flush:
        // Lock owners are opaque 64-bit cookies; a decimal string keeps every bit.
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m), str(std::to_string(m->u2))});
        break;
      case Op::Release:
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m), Napi::Number::New(env, m->flags),
                                 str(std::to_string(m->u2)), Napi::Boolean::New(env, m->lkSleep)});
        break;
      case Op::Getlk: case Op::Setlk: {
        Napi::Object lk = Napi::Object::New(env);
        lk.Set("type", Napi::Number::New(env, m->lkType));
        lk.Set("start", Napi::Number::New(env, static_cast<double>(m->lkStart)));
        lk.Set("len", Napi::Number::New(env, static_cast<double>(m->lkLen)));
        lk.Set("pid", Napi::Number::New(env, m->lkPid));
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m), str(std::to_string(m->u2)), lk,
                                 Napi::Boolean::New(env, m->lkSleep)});
        break;
      }
      case Op::Flock:
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m), str(std::to_string(m->u2)),
                                 Napi::Number::New(env, m->flags)});
        break;
      case Op::Fsync:
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m), Napi::Boolean::New(env, m->flags != 0)});
        break;
      case Op::Fallocate:
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m), Napi::Number::New(env, m->flags), n(m->off),
                                 n(m->size)});
        break;
      case Op::Releasedir:
        args.insert(args.end(), {n(m->ino), FhOrNull(env, m)});
        break;
      case Op::Setxattr:
        args.insert(args.end(), {n(m->ino), str(m->name), TakeData(env, m),
                                 Napi::Number::New(env, m->flags)});
        break;
      case Op::Getxattr:
        args.insert(args.end(), {n(m->ino), str(m->name), n(m->size), n(m->epoch)});
        break;
      case Op::Listxattr:
        args.insert(args.end(), {n(m->ino), n(m->size)});
        break;
      case Op::Removexattr:
        args.insert(args.end(), {n(m->ino), str(m->name)});
        break;
      case Op::Access:
        args.insert(args.end(), {n(m->ino), n(m->mode)});
        break;
      case Op::Create:
        args.insert(args.end(), {n(m->ino), str(m->name), n(m->mode), Napi::Number::New(env, m->flags)});
        break;
      default:
        break;
    }
    core->handler.Call(args);
  } catch (const Napi::Error& err) {
    auto it = core->table.find(id);
    if (it != core->table.end()) {
      fuse_req_t req = it->second.req;
      core->table.erase(it);
      fuse_reply_err(req, EIO);
    }
    ReportHandlerError(env, core, err, m->op);
  }
}

}  // namespace strata_fuse
