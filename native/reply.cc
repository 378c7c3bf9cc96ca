// JS thread -> kernel. Each reply method checks the request id against the pending table, converts
// its arguments, and only then removes the id and calls fuse_reply_*, which writes to /dev/fuse
// synchronously (libfuse allows any thread). Returns what libfuse returned: 0 or -errno (for
// example -ENOENT when the caller was interrupted and the kernel forgot the request).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "attr.h"
#include "data_pool.h"
#include "session.h"

namespace strata_fuse {

namespace {

constexpr unsigned kDataThreads = 4;

[[noreturn]] void ThrowCode(Napi::Env env, const std::string& msg, const char* code) {
  Napi::Error err = Napi::Error::New(env, "strata fuse: " + msg);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

Napi::Number Result(Napi::Env env, int rc) { return Napi::Number::New(env, rc); }

void FileInfoFromJs(const Napi::CallbackInfo& info, size_t fhIndex, fuse_file_info* fi) {
  *fi = {};
  fi->fh = ToU64(info[fhIndex], "fh");
  if (info.Length() > fhIndex + 1 && info[fhIndex + 1].IsObject()) {
    Napi::Object o = info[fhIndex + 1].As<Napi::Object>();
    fi->direct_io = o.Get("directIo").ToBoolean().Value();
    fi->keep_cache = o.Get("keepCache").ToBoolean().Value();
    fi->nonseekable = o.Get("nonSeekable").ToBoolean().Value();
    fi->cache_readdir = o.Get("cacheReaddir").ToBoolean().Value();
    fi->noflush = o.Get("noFlush").ToBoolean().Value();
  }
}

void EntryFromJs(const Napi::CallbackInfo& info, size_t attrIndex, fuse_entry_param* e) {
  *e = {};
  StatFromJs(info[attrIndex], &e->attr);
  e->ino = e->attr.st_ino;
  Napi::Value gen = info[attrIndex].As<Napi::Object>().Get("generation");
  if (!gen.IsUndefined()) e->generation = ToU64(gen, "attr.generation");
  e->entry_timeout = ToSeconds(info[attrIndex + 1], "entryTimeout");
  e->attr_timeout = ToSeconds(info[attrIndex + 2], "attrTimeout");
}

// The bytes of a Buffer / Uint8Array, without copying.
void BytesOf(const Napi::Value& v, const uint8_t** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(v.Env(), "strata fuse: data must be a Buffer or Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  *data = a.Data();
  *len = a.ByteLength();
}

}  // namespace

const Pending& FuseSession::Find(const Napi::CallbackInfo& info, uint32_t kind, const char* method) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    throw Napi::TypeError::New(env, std::string("strata fuse: ") + method + ": req must be a request id");
  uint64_t id = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  Core* c = core_.get();
  auto it = c->table.find(id);
  if (it == c->table.end()) {
    if (c->finalized)
      ThrowCode(env, std::string(method) + ": the session is closed (request " + std::to_string(id) +
                         " was failed with EIO at unmount)", "ERR_FUSE_SESSION_CLOSED");
    ThrowCode(env, std::string(method) + ": request " + std::to_string(id) +
                       " is unknown or was already answered", "ERR_FUSE_UNKNOWN_REQUEST");
  }
  if (!(AllowedReplies(it->second.op) & kind))
    ThrowCode(env, std::string(method) + " cannot answer a " + OpName(it->second.op) + " request",
              "ERR_FUSE_WRONG_REPLY");
  return it->second;
}

fuse_req_t FuseSession::Consume(const Napi::CallbackInfo& info, const Touch* carried, uint64_t* recordAt) {
  auto it = core_->table.find(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  fuse_req_t req = it->second.req;
  // A change is done (or failed) now: what was asked meanwhile may predate it.
  Pending& p = it->second;
  if (recordAt) *recordAt = 0;
  if (p.changedKnown) {
    p.touch.Add(p.changed);
  } else if (p.touch.unknownTarget) {
    p.touch.anyInode = true;
  }
  if (!p.touch.Empty()) {
    Touch sets[2];
    int n = 0;
    if (carried) sets[n++] = *carried;
    if (p.hasAlso) sets[n++].Ino(static_cast<uint64_t>(p.also.st_ino));
    bool alone[2] = {false, false};
    uint64_t at = core_->attrCache.Answered(p.touch, p.arrived, sets, n, alone);
    if (recordAt && carried && alone[0]) *recordAt = at;
    if (p.hasAlso && alone[n - 1]) core_->attrCache.RecordAttr(at, p.also, p.alsoTimeout);
  }
  core_->table.erase(it);
  return req;
}

namespace {

// The keys an answer naming (parent, name) carries.
Touch NameKey(uint64_t parent, const std::string& name) {
  Touch t;
  t.Name(parent, name);
  return t;
}

Touch InoKey(uint64_t ino) {
  Touch t;
  t.Ino(ino);
  return t;
}

bool MakesName(Op op) { return op == Op::Create || op == Op::Mknod || op == Op::Mkdir || op == Op::Symlink; }

}  // namespace

Napi::Value FuseSession::AlsoAttr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Find(info, ~0u, "alsoAttr");
  if (info.Length() < 3 || !info[1].IsObject()) throw Napi::TypeError::New(env, "strata fuse: alsoAttr(req, attr, attrTimeout)");
  Pending& p = core_->table.find(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()))->second;
  StatFromJs(info[1], &p.also);
  p.alsoTimeout = ToSeconds(info[2], "attrTimeout");
  p.hasAlso = p.alsoTimeout > 0;
  return env.Undefined();
}

Napi::Value FuseSession::AlsoChanged(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Find(info, ~0u, "alsoChanged");
  Touch changed = KeysFromJs(info, 1, "alsoChanged(req, inos, parents, names)");
  Pending& p = core_->table.find(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()))->second;
  p.changed.Add(changed);
  p.changedKnown = true;
  return env.Undefined();
}

Napi::Value FuseSession::ReplyErr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Pending& p = Find(info, kErr, "replyErr");
  if (info.Length() < 2 || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "strata fuse: replyErr(req, errno): errno must be a number");
  int err = info[1].As<Napi::Number>().Int32Value();
  // Accept -ENOENT as well as ENOENT: both conventions are common in JS code.
  if (err < 0) err = -err;
  if (err > 4095) throw Napi::RangeError::New(env, "strata fuse: replyErr: errno out of range");
  // errno 0 is success without payload; for an op that owes data the kernel would fail the call.
  if (err == 0 && !(AllowedReplies(p.op) & kOk))
    ThrowCode(env, std::string("replyErr(req, 0) cannot answer a ") + OpName(p.op) + " request",
              "ERR_FUSE_WRONG_REPLY");
  if (p.op == Op::Lookup && err == ENOENT) {
    fuse_entry_param none{};
    core_->attrCache.RecordEntry(p.epoch, p.parent, p.name, none);
  }
  return Result(env, fuse_reply_err(Consume(info), err));
}

Napi::Value FuseSession::ReplyNone(const Napi::CallbackInfo& info) {
  // Success without data. FORGET, the one op libfuse answers with no reply at all, never reaches
  // JS, so "none" here always means "errno 0". A flush or fsync may carry the file's attributes
  // as they are now (info[1], timeout info[2]), for the AttrCache.
  const Pending& p = Find(info, kOk, "replyNone");
  if ((p.op == Op::Flush || p.op == Op::Fsync) && info.Length() > 2 && info[1].IsObject()) {
    struct stat st;
    StatFromJs(info[1], &st);
    double timeout = ToSeconds(info[2], "attrTimeout");
    Touch key = InoKey(p.parent);
    uint64_t at = 0;
    fuse_req_t req = Consume(info, &key, &at);
    if (at != 0 && static_cast<uint64_t>(st.st_ino) == key.ino[0]) core_->attrCache.RecordAttr(at, st, timeout);
    return Result(info.Env(), fuse_reply_err(req, 0));
  }
  return Result(info.Env(), fuse_reply_err(Consume(info), 0));
}

Napi::Value FuseSession::ReplyEntry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Pending& p = Find(info, kEntry, "replyEntry");
  fuse_entry_param e;
  if (info[1].IsNull() || info[1].IsUndefined()) {
    // ino 0: a negative entry the kernel may cache for entryTimeout.
    if (p.op != Op::Lookup)
      throw Napi::TypeError::New(env, "strata fuse: replyEntry: only lookup may get a negative entry");
    e = {};
    e.entry_timeout = ToSeconds(info[2], "entryTimeout");
  } else {
    EntryFromJs(info, 1, &e);
    if (p.op == Op::Lookup) core_->attrCache.RecordEntry(p.epoch, p.parent, p.name, e);
    if (MakesName(p.op)) {
      Op op = p.op;
      uint64_t arrived = p.arrived;
      uint64_t parent = p.parent;
      std::string name = p.name;
      Touch key = NameKey(parent, name);
      uint64_t at = 0;
      fuse_req_t req = Consume(info, &key, &at);
      if (at != 0) core_->attrCache.RecordEntry(at, parent, name, e);
      // Empty as of the mkdir's arrival, when it did not exist: any name marked in it since
      // (another client's create seen meanwhile) is not taken for absent.
      if (at != 0 && op == Op::Mkdir) core_->attrCache.RecordEmptyDir(arrived, e.ino);
      return Result(env, fuse_reply_entry(req, &e));
    }
  }
  return Result(env, fuse_reply_entry(Consume(info), &e));
}

Napi::Value FuseSession::ReplyLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Find(info, kLock, "replyLock");
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, "strata fuse: replyLock: lock must be {type, start, len, pid}");
  Napi::Object o = info[1].As<Napi::Object>();
  struct flock lk {};
  lk.l_type = static_cast<short>(o.Get("type").ToNumber().Int32Value());
  lk.l_whence = SEEK_SET;
  lk.l_start = static_cast<off_t>(o.Get("start").ToNumber().Int64Value());
  lk.l_len = static_cast<off_t>(o.Get("len").ToNumber().Int64Value());
  lk.l_pid = static_cast<pid_t>(o.Get("pid").ToNumber().Int32Value());
  return Result(env, fuse_reply_lock(Consume(info), &lk));
}

Napi::Value FuseSession::Interrupted(const Napi::CallbackInfo& info) {
  // A request whose caller was interrupted (a signal during a blocking lock wait) should end.
  const Pending& p = Find(info, ~0u, "interrupted");
  return Napi::Boolean::New(info.Env(), fuse_req_interrupted(p.req) != 0);
}

Napi::Value FuseSession::ReplyAttr(const Napi::CallbackInfo& info) {
  const Pending& p = Find(info, kAttr, "replyAttr");
  struct stat st;
  StatFromJs(info[1], &st);
  double timeout = ToSeconds(info[2], "attrTimeout");
  if (p.op == Op::Getattr) core_->attrCache.RecordAttr(p.epoch, st, timeout);
  if (p.op == Op::Setattr) {
    Touch key = InoKey(p.parent);
    uint64_t at = 0;
    fuse_req_t req = Consume(info, &key, &at);
    if (at != 0 && static_cast<uint64_t>(st.st_ino) == key.ino[0]) core_->attrCache.RecordAttr(at, st, timeout);
    return Result(info.Env(), fuse_reply_attr(req, &st, timeout));
  }
  return Result(info.Env(), fuse_reply_attr(Consume(info), &st, timeout));
}

Napi::Value FuseSession::ReplyReadlink(const Napi::CallbackInfo& info) {
  Find(info, kReadlink, "replyReadlink");
  if (!info[1].IsString())
    throw Napi::TypeError::New(info.Env(), "strata fuse: replyReadlink: target must be a string");
  std::string target = info[1].As<Napi::String>().Utf8Value();
  return Result(info.Env(), fuse_reply_readlink(Consume(info), target.c_str()));
}

Napi::Value FuseSession::ReplyOpen(const Napi::CallbackInfo& info) {
  const Pending& p = Find(info, kOpen, "replyOpen");
  fuse_file_info fi;
  FileInfoFromJs(info, 1, &fi);
  if (p.op == Op::Open) core_->Opened(fi.fh, p.openFlags);
  return Result(info.Env(), fuse_reply_open(Consume(info), &fi));
}

Napi::Value FuseSession::ReplyCreate(const Napi::CallbackInfo& info) {
  const Pending& p = Find(info, kCreate, "replyCreate");
  fuse_entry_param e;
  EntryFromJs(info, 1, &e);
  fuse_file_info fi;
  FileInfoFromJs(info, 4, &fi);
  core_->Opened(fi.fh, p.openFlags);
  bool created = info.Length() > 5 && info[5].IsObject() && info[5].As<Napi::Object>().Get("created").ToBoolean().Value();
  if (created) core_->absentXattrs.Created(e.ino);
  uint64_t parent = p.parent;
  std::string name = p.name;
  Touch key = NameKey(parent, name);
  uint64_t at = 0;
  fuse_req_t req = Consume(info, &key, &at);
  // An existing file opened this way may be written through another handle meanwhile.
  if (at != 0 && created) core_->attrCache.RecordEntry(at, parent, name, e);
  return Result(info.Env(), fuse_reply_create(req, &e, &fi));
}

Napi::Value FuseSession::ReplyWrite(const Napi::CallbackInfo& info) {
  Find(info, kWrite, "replyWrite");
  uint64_t count = ToU64(info[1], "count");
  return Result(info.Env(), fuse_reply_write(Consume(info), count));
}

Napi::Value FuseSession::ReplyBuf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Pending& p = Find(info, kBuf, "replyBuf");
  const uint8_t* data;
  size_t len;
  BytesOf(info[1], &data, &len);
  if (info.Length() > 2 && !info[2].IsUndefined()) len = std::min<size_t>(len, ToU64(info[2], "length"));
  Op op = p.op;
  uint32_t limit = p.size;
  fuse_req_t req = Consume(info);
  if (op == Op::Getxattr || op == Op::Listxattr) {
    // size 0 asks only how big the value is; a value too big for the caller's buffer is ERANGE.
    if (limit == 0) return Result(env, fuse_reply_xattr(req, len));
    if (len > limit) return Result(env, fuse_reply_err(req, ERANGE));
  }
  // The kernel rejects replies longer than it asked for; a read never returns more.
  len = std::min<size_t>(len, limit);
  // fuse_reply_buf copies into the kernel before returning: the Buffer may be reused at once.
  return Result(env, fuse_reply_buf(req, reinterpret_cast<const char*>(data), len));
}

Napi::Value FuseSession::ReplyData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Pending& p = Find(info, kData, "replyData");
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "strata fuse: replyData: fd must be a number");
  int fd = info[1].As<Napi::Number>().Int32Value();
  uint64_t offset = ToU64(info[2], "offset");
  size_t size = std::min<uint64_t>(ToU64(info[3], "size"), p.size);
  // A private descriptor: JS may close its own as soon as this returns.
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) {
    int err = errno;
    fuse_reply_err(Consume(info), err);
    return Result(env, -err);
  }
  if (!core_->dataPool) core_->dataPool.reset(new DataPool(kDataThreads));
  core_->dataPool->Submit(Consume(info), own, offset, size);
  return Result(env, 0);
}

Napi::Value FuseSession::ReplyReaddir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Pending& p = Find(info, kReaddir, "replyReaddir");
  if (!info[1].IsArray())
    throw Napi::TypeError::New(env, "strata fuse: replyReaddir: entries must be an array");
  size_t limit = p.size;
  if (info.Length() > 2 && !info[2].IsUndefined()) limit = std::min<size_t>(limit, ToU64(info[2], "size"));
  Napi::Array entries = info[1].As<Napi::Array>();
  std::vector<char> buf(limit);
  size_t used = 0;
  uint32_t added = 0;
  for (uint32_t i = 0, n = entries.Length(); i < n; i++) {
    Napi::Value v = entries.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "strata fuse: replyReaddir: entries must be objects");
    Napi::Object o = v.As<Napi::Object>();
    Napi::Value name = o.Get("name");
    if (!name.IsString()) throw Napi::TypeError::New(env, "strata fuse: replyReaddir: entry.name must be a string");
    std::string nm = name.As<Napi::String>().Utf8Value();
    struct stat st = {};
    st.st_ino = ToU64(o.Get("ino"), "entry.ino");
    st.st_mode = static_cast<mode_t>(ToU64(o.Get("mode"), "entry.mode"));
    off_t off = static_cast<off_t>(ToU64(o.Get("off"), "entry.off"));
    // fuse_add_direntry only measures when the entry does not fit, so a full buffer is detected
    // without writing past it.
    size_t need = fuse_add_direntry(p.req, buf.data() + used, limit - used, nm.c_str(), &st, off);
    if (need > limit - used) break;
    used += need;
    added++;
  }
  fuse_reply_buf(Consume(info), buf.data(), used);
  return Napi::Number::New(env, added);
}

Napi::Value FuseSession::ReplyStatfs(const Napi::CallbackInfo& info) {
  Find(info, kStatfs, "replyStatfs");
  struct statvfs sv;
  StatvfsFromJs(info[1], &sv);
  return Result(info.Env(), fuse_reply_statfs(Consume(info), &sv));
}

Napi::Value FuseSession::ReplyXattr(const Napi::CallbackInfo& info) {
  Find(info, kXattr, "replyXattr");
  uint64_t size = ToU64(info[1], "size");
  return Result(info.Env(), fuse_reply_xattr(Consume(info), size));
}

}  // namespace strata_fuse
