// Session lifecycle: create and mount, run libfuse's multi-threaded loop on a native thread,
// detach, and tear down once the loop has announced its exit. The JS thread never joins a loop
// that might still be blocked.
#include "session.h"

#include "attr.h"

#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "data_pool.h"

extern char** environ;

namespace strata_fuse {

namespace {

// ---- libfuse log capture ----

std::mutex gLogMu;
bool gCapturing = false;
std::string gCaptured;

void LogFunc(enum fuse_log_level level, const char* fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  {
    std::lock_guard<std::mutex> lock(gLogMu);
    if (gCapturing) {
      if (level <= FUSE_LOG_ERR) gCaptured += buf;
      return;
    }
  }
  if (level <= FUSE_LOG_NOTICE) fputs(buf, stderr);
}

// ---- small helpers ----

[[noreturn]] void Throw(Napi::Env env, const std::string& msg, const char* code) {
  Napi::Error err = Napi::Error::New(env, "strata fuse: " + msg);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

// Threads created with every signal blocked: Node owns signal handling, and a signal landing
// on a FUSE thread would be lost to it.
template <typename F>
std::thread SpawnBlocked(F&& fn) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  std::thread t(std::forward<F>(fn));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

bool InPath(const char* exe) {
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string full = p.substr(start, end - start) + "/" + exe;
    if (access(full.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// The max_read value among fuse args ("-o a,max_read=N" or "-omax_read=N"), 0 when absent.
unsigned FindMaxRead(const std::vector<std::string>& args) {
  unsigned found = 0;
  for (const std::string& a : args) {
    std::string s = a.rfind("-o", 0) == 0 ? a.substr(2) : a;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find(',', start);
      if (end == std::string::npos) end = s.size();
      std::string opt = s.substr(start, end - start);
      if (opt.rfind("max_read=", 0) == 0) found = static_cast<unsigned>(std::strtoul(opt.c_str() + 9, nullptr, 10));
      start = end + 1;
    }
  }
  return found;
}

void EnvCleanup(void* arg) {
  Core* core = static_cast<Core*>(arg);
  {
    std::unique_lock<std::shared_mutex> lock(core->gate->mu);
    core->gate->closing = true;
  }
  if (core->finalized) return;
  // FUSE threads live on until the process is gone; they must never see a freed Core.
  new std::shared_ptr<Core>(core->shared_from_this());
  // Leave no stale (ENOTCONN) mount behind, and abort (root) what is in flight: nothing will
  // answer it any more.
  DetachMount(core->mountpoint, true, 2000);
  fuse_session_exit(core->se);
}

void TsfnFinalize(Napi::Env, std::shared_ptr<Core>* keepAlive, Core*) { delete keepAlive; }

}  // namespace

void InstallFuseLog() { fuse_set_log_func(LogFunc); }

void BeginFuseLogCapture() {
  std::lock_guard<std::mutex> lock(gLogMu);
  gCapturing = true;
  gCaptured.clear();
}

std::string EndFuseLogCapture() {
  std::lock_guard<std::mutex> lock(gLogMu);
  gCapturing = false;
  std::string s = gCaptured;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int DetachMount(const std::string& mountpoint, bool force, int timeoutMs) {
  if (geteuid() == 0) {
    // MNT_FORCE makes the kernel abort the FUSE connection (umount_begin) before detaching.
    int flags = MNT_DETACH | (force ? MNT_FORCE : 0);
    return umount2(mountpoint.c_str(), flags) == 0 ? 0 : errno;
  }
  const char* argv[] = {"fusermount3", "-u", "-q", "-z", "--", mountpoint.c_str(), nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv), environ);
  if (rc != 0) return rc;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, timeoutMs < 0 ? 0 : WNOHANG);
    if (r == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : EPERM;
    if (r < 0 && errno != EINTR) return errno;
    if (timeoutMs >= 0 && std::chrono::steady_clock::now() >= deadline) return ETIMEDOUT;
    usleep(10000);
  }
}

Core::~Core() = default;

void Core::StartLoop() {
  Core* core = this;
  std::shared_ptr<Gate> g = gate;
  loop = SpawnBlocked([core, g] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    fuse_loop_cfg_set_idle_threads(cfg, 10);
    int rc = fuse_session_loop_mt(core->se, cfg);
    fuse_loop_cfg_destroy(cfg);
    // Every FUSE worker has been joined by now, so this message queues behind every request.
    Msg* m = new Msg;
    m->op = Op::LoopExit;
    m->err = rc;
    std::shared_lock<std::shared_mutex> lock(g->mu);
    if (g->closing || core->tsfn.NonBlockingCall(m) != napi_ok) delete m;
  });
}

void Core::StartDetach(bool force) {
  // The helper's own hold on the TSFN: it may post after Finalize released the session's hold.
  tsfn.Acquire();
  std::shared_ptr<Gate> g = gate;
  Tsfn fn = tsfn;
  std::string mp = mountpoint;
  SpawnBlocked([g, fn, mp, force]() mutable {
    Msg* m = new Msg;
    m->op = Op::DetachDone;
    m->err = DetachMount(mp, force, -1);
    std::shared_lock<std::shared_mutex> lock(g->mu);
    if (g->closing) { delete m; return; }  // Node is deleting the TSFN: touch nothing
    if (fn.NonBlockingCall(m) != napi_ok) delete m;
    fn.Release();
  }).detach();
}

void Core::OnDetachDone(Napi::Env env, int err) {
  if (finalized || err == 0 || err == EINVAL || err == ENOENT) return;
  // EINVAL/ENOENT: no longer attached (someone else detached it); the loop ends at last close.
  unmountRequested = false;
  std::vector<Napi::Promise::Deferred> waiters;
  waiters.swap(unmountWaiters);
  for (auto& d : waiters) {
    Napi::Error e = Napi::Error::New(env, "strata fuse: cannot unmount " + mountpoint + ": " + std::strerror(err));
    e.Set("code", Napi::String::New(env, "ERR_FUSE_UNMOUNT"));
    e.Set("errno", Napi::Number::New(env, err));
    d.Reject(e.Value());
  }
}

void Core::OnLoopExit(Napi::Env env, int result) {
  loopExited = true;
  loopResult = result;
  Finalize(env);
}

void Core::Finalize(Napi::Env env) {
  if (finalized) return;
  finalized = true;
  // Requests JS still holds can no longer reach a process; answering frees libfuse's records.
  for (auto& entry : table) fuse_reply_err(entry.second.req, EIO);
  table.clear();
  dataPool.reset();  // sends what is queued, joins its threads
  if (loop.joinable()) loop.join();  // already past its last statement
  fuse_session_unmount(se);  // no-op if the kernel already dropped the connection
  fuse_session_destroy(se);
  se = nullptr;
  napi_remove_env_cleanup_hook(env, EnvCleanup, this);
  tsfn.Release();

  std::vector<Napi::Promise::Deferred> waiters;
  waiters.swap(unmountWaiters);
  for (auto& d : waiters) d.Resolve(env.Undefined());
  if (!onExit.IsEmpty()) {
    try {
      onExit.Call({Napi::Number::New(env, loopResult)});
    } catch (const Napi::Error& e) {
      e.ThrowAsJavaScriptException();
    }
  }
  self.Reset();
}

// ---- the JS class ----

Napi::Function FuseSession::Define(Napi::Env env) {
  return DefineClass(env, "FuseSession", {
    StaticMethod<&FuseSession::Available>("available"),
    InstanceMethod<&FuseSession::Unmount>("unmount"),
    InstanceMethod<&FuseSession::DetachSync>("detachSync"),
    InstanceMethod<&FuseSession::NativeState>("nativeState"),
    InstanceMethod<&FuseSession::XattrAbsent>("xattrAbsent"),
    InstanceMethod<&FuseSession::SetAbsentXattrTtl>("setAbsentXattrTtl"),
    InstanceMethod<&FuseSession::SetAttrCache>("setAttrCache"),
    InstanceMethod<&FuseSession::AttrCacheChanged>("attrCacheChanged"),
    InstanceMethod<&FuseSession::AttrCacheCurrent>("attrCacheCurrent"),
    InstanceMethod<&FuseSession::AttrCacheChecking>("attrCacheChecking"),
    InstanceMethod<&FuseSession::AttrCacheSeq>("attrCacheSeq"),
    InstanceMethod<&FuseSession::AttrCacheMark>("attrCacheMark"),
    InstanceMethod<&FuseSession::AlsoAttr>("alsoAttr"),
    InstanceMethod<&FuseSession::AlsoChanged>("alsoChanged"),
    InstanceMethod<&FuseSession::Ref>("ref"),
    InstanceMethod<&FuseSession::Unref>("unref"),
    InstanceAccessor<&FuseSession::GetMounted>("mounted"),
    InstanceAccessor<&FuseSession::GetMountpoint>("mountpoint"),
    InstanceAccessor<&FuseSession::GetPending>("pending"),
    InstanceMethod<&FuseSession::ReplyErr>("replyErr"),
    InstanceMethod<&FuseSession::ReplyNone>("replyNone"),
    InstanceMethod<&FuseSession::ReplyEntry>("replyEntry"),
    InstanceMethod<&FuseSession::ReplyAttr>("replyAttr"),
    InstanceMethod<&FuseSession::ReplyLock>("replyLock"),
    InstanceMethod<&FuseSession::Interrupted>("interrupted"),
    InstanceMethod<&FuseSession::ReplyReadlink>("replyReadlink"),
    InstanceMethod<&FuseSession::ReplyOpen>("replyOpen"),
    InstanceMethod<&FuseSession::ReplyCreate>("replyCreate"),
    InstanceMethod<&FuseSession::ReplyWrite>("replyWrite"),
    InstanceMethod<&FuseSession::ReplyBuf>("replyBuf"),
    InstanceMethod<&FuseSession::ReplyData>("replyData"),
    InstanceMethod<&FuseSession::ReplyReaddir>("replyReaddir"),
    InstanceMethod<&FuseSession::ReplyStatfs>("replyStatfs"),
    InstanceMethod<&FuseSession::ReplyXattr>("replyXattr"),
  });
}

FuseSession::FuseSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FuseSession>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsFunction())
    throw Napi::TypeError::New(env, "strata fuse: new FuseSession(mountpoint, options[], handler, opts?)");

  auto core = std::make_shared<Core>();
  core->mountpoint = info[0].As<Napi::String>().Utf8Value();

  std::vector<std::string> args{"strata"};
  Napi::Array list = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "strata fuse: options must be strings");
    args.push_back(v.As<Napi::String>().Utf8Value());
  }

  unsigned wantMaxRead = 0;
  if (info.Length() > 3 && info[3].IsObject()) {
    Napi::Object o = info[3].As<Napi::Object>();
    core->writeback = o.Get("writebackCache").ToBoolean().Value();
    Napi::Value mr = o.Get("maxRead");
    if (mr.IsNumber()) wantMaxRead = mr.As<Napi::Number>().Uint32Value();
    Napi::Value oe = o.Get("onError");
    if (oe.IsFunction()) core->onError = Napi::Persistent(oe.As<Napi::Function>());
    Napi::Value ox = o.Get("onExit");
    if (ox.IsFunction()) core->onExit = Napi::Persistent(ox.As<Napi::Function>());
  }
  unsigned argMaxRead = FindMaxRead(args);
  if (argMaxRead && wantMaxRead && argMaxRead != wantMaxRead)
    throw Napi::RangeError::New(env, "strata fuse: maxRead disagrees with -o max_read");
  if (argMaxRead) {
    core->maxRead = argMaxRead;
  } else {
    if (wantMaxRead) core->maxRead = wantMaxRead;
    // The kernel only caps READ sizes when told at mount time; init() must then say the same.
    args.push_back("-o");
    args.push_back("max_read=" + std::to_string(core->maxRead));
  }

  // Everything that may throw on the JS side happens before the mount exists.
  Napi::Array names = Napi::Array::New(env, static_cast<size_t>(Op::Count));
  for (uint32_t i = 0; i < static_cast<uint32_t>(Op::Count); i++)
    names.Set(i, Napi::String::New(env, OpName(static_cast<Op>(i))));
  core->opNames = Napi::Persistent(names.As<Napi::Object>());
  core->handler = Napi::Persistent(info[2].As<Napi::Function>());

  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(args.size()), argv.data());

  BeginFuseLogCapture();
  core->se = fuse_session_new(&fargs, &kOps, sizeof kOps, core.get());
  fuse_opt_free_args(&fargs);
  if (!core->se) Throw(env, "cannot create a FUSE session: " + EndFuseLogCapture(), "ERR_FUSE_SESSION");
  if (fuse_session_mount(core->se, core->mountpoint.c_str()) != 0) {
    std::string why = EndFuseLogCapture();
    fuse_session_destroy(core->se);
    core->se = nullptr;
    Throw(env, "cannot mount at " + core->mountpoint + (why.empty() ? "" : ": " + why), "ERR_FUSE_MOUNT");
  }
  EndFuseLogCapture();

  // The slab JS sees write payloads through. JS views keep it mapped after the session is gone.
  auto slots = std::make_shared<WriteSlots>();
  if (slots->base()) {
    auto* hold = new std::shared_ptr<WriteSlots>(slots);
    try {
      Napi::ArrayBuffer slab = Napi::ArrayBuffer::New(
          env, slots->base(), WriteSlots::kBytes,
          [](Napi::Env, void*, std::shared_ptr<WriteSlots>* h) { delete h; }, hold);
      core->writeSlab = Napi::Persistent(slab);
      core->writeSlots = slots;
    } catch (const Napi::Error&) {
      // A runtime that forbids external memory (V8 sandbox): every payload gets its own Buffer.
      delete hold;
    }
  }

  bool haveTsfn = false;
  try {
    // Unbounded queue: a FUSE thread must never block or fail on a full queue.
    core->keepAlive = new std::shared_ptr<Core>(core);
    core->tsfn = Tsfn::New(env, "strata-fuse", 0, 1, core.get(), TsfnFinalize, core->keepAlive);
    haveTsfn = true;
    core->StartLoop();
  } catch (const std::exception& e) {
    // Nothing is served yet: take the mount down again rather than leave it hanging.
    if (haveTsfn) core->tsfn.Release();
    else delete core->keepAlive;
    fuse_session_unmount(core->se);
    fuse_session_destroy(core->se);
    core->se = nullptr;
    Throw(env, std::string("cannot start the FUSE loop: ") + e.what(), "ERR_FUSE_SESSION");
  }
  napi_add_env_cleanup_hook(env, EnvCleanup, core.get());
  core->self = Napi::Persistent(info.This().As<Napi::Object>());
  core_ = core;
}

FuseSession::~FuseSession() {
  // Only reachable unfinalized at env teardown (`self` holds us while mounted): leak the Core,
  // FUSE threads may still be running until the process exits.
  if (core_ && !core_->finalized && core_->se) new std::shared_ptr<Core>(core_);
}

Napi::Value FuseSession::Available(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  std::string reason;
  if (access("/dev/fuse", F_OK) != 0) {
    reason = "/dev/fuse missing: load the fuse kernel module (modprobe fuse) or run the container with --device /dev/fuse";
  } else {
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) reason = std::string("/dev/fuse cannot be opened (") + std::strerror(errno) + "): run the container with --device /dev/fuse and --cap-add SYS_ADMIN";
    else close(fd);
  }
  if (reason.empty() && geteuid() != 0 && !InPath("fusermount3"))
    reason = "fusermount3 missing (needed to mount without root): apt-get install fuse3";
  r.Set("ok", Napi::Boolean::New(env, reason.empty()));
  if (!reason.empty()) r.Set("reason", Napi::String::New(env, reason));
  return r;
}

Napi::Value FuseSession::Unmount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Core* c = core_.get();
  Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
  if (c->finalized) {
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  bool force = info.Length() > 0 && info[0].IsObject() &&
               info[0].As<Napi::Object>().Get("force").ToBoolean().Value();
  c->unmountWaiters.push_back(d);
  if (!c->unmountRequested || force) {
    c->unmountRequested = true;
    c->StartDetach(force);
  }
  return d.Promise();
}

Napi::Value FuseSession::DetachSync(const Napi::CallbackInfo& info) {
  Core* c = core_.get();
  if (c->finalized) return Napi::Boolean::New(info.Env(), false);
  // For process 'exit' handlers: the loop cannot be awaited any more, but the mount must not
  // outlive the process as a stale ENOTCONN directory. Forced (root): nothing will answer from
  // here on, and a descriptor this process holds on its own mount would otherwise block its exit
  // forever in FLUSH.
  int err = DetachMount(c->mountpoint, true, 2000);
  fuse_session_exit(c->se);
  return Napi::Boolean::New(info.Env(), err == 0);
}

Napi::Value FuseSession::NativeState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("forgets", Napi::Number::New(env, static_cast<double>(core_->forgetRequests.load(std::memory_order_relaxed))));
  out.Set("lookupsForgotten", Napi::Number::New(env, static_cast<double>(core_->lookupsForgotten.load(std::memory_order_relaxed))));
  // Records the core keeps per inode and name (the attribute cache; FORGET drops an inode's).
  out.Set("inodeEntries", Napi::Number::New(env, static_cast<double>(core_->attrCache.Size())));
  out.Set("attrHits", Napi::Number::New(env, static_cast<double>(core_->attrCache.AttrHits())));
  out.Set("entryHits", Napi::Number::New(env, static_cast<double>(core_->attrCache.EntryHits())));
  out.Set("negativeHits", Napi::Number::New(env, static_cast<double>(core_->attrCache.NegativeHits())));
  out.Set("wholeMarks", Napi::Number::New(env, static_cast<double>(core_->attrCache.WholeMarks())));
  out.Set("inodeMarks", Napi::Number::New(env, static_cast<double>(core_->attrCache.InodeMarks())));
  out.Set("requestTable", Napi::Number::New(env, static_cast<double>(core_->table.size())));
  out.Set("absentXattrEntries", Napi::Number::New(env, static_cast<double>(core_->absentXattrs.Entries())));
  out.Set("absentXattrHits", Napi::Number::New(env, static_cast<double>(core_->absentXattrs.Hits())));
  out.Set("writesWithoutSlot", Napi::Number::New(env, static_cast<double>(core_->writesWithoutSlot.load(std::memory_order_relaxed))));
  return out;
}

Napi::Value FuseSession::XattrAbsent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "strata fuse: xattrAbsent(ino, name, epoch)");
  core_->absentXattrs.Record(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()), info[1].As<Napi::String>().Utf8Value(),
                             static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value()));
  return env.Undefined();
}

Napi::Value FuseSession::SetAbsentXattrTtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "strata fuse: setAbsentXattrTtl(ms)");
  double ms = info[0].As<Napi::Number>().DoubleValue();
  core_->absentXattrs.SetTtlMs(ms <= 0 ? 0 : ms > 3600000 ? 3600000 : static_cast<uint32_t>(ms));
  return env.Undefined();
}

Napi::Value FuseSession::SetAttrCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "strata fuse: setAttrCache(slackMs): a number, < 0 for off");
  double ms = info[0].As<Napi::Number>().DoubleValue();
  core_->attrCache.Configure(ms < 0 ? -1 : ms > 3600000 ? 3600000 : static_cast<int64_t>(ms));
  return env.Undefined();
}

Napi::Value FuseSession::AttrCacheChanged(const Napi::CallbackInfo& info) {
  core_->attrCache.MarkAll();
  return info.Env().Undefined();
}

Napi::Value FuseSession::AttrCacheSeq(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(core_->attrCache.Next()));
}

Napi::Value FuseSession::AttrCacheMark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "strata fuse: attrCacheMark(at, inos, parents, names)");
  uint64_t at = static_cast<uint64_t>(std::max(0.0, info[0].As<Napi::Number>().DoubleValue()));
  Touch t = KeysFromJs(info, 1, "attrCacheMark(at, inos, parents, names)");
  if (!t.Empty()) core_->attrCache.MarkAt(t, at);
  return env.Undefined();
}

Napi::Value FuseSession::AttrCacheChecking(const Napi::CallbackInfo& info) {
  core_->attrCache.Checking();
  return info.Env().Undefined();
}

Napi::Value FuseSession::AttrCacheCurrent(const Napi::CallbackInfo& info) {
  core_->attrCache.Confirm();
  return info.Env().Undefined();
}

Napi::Value FuseSession::Ref(const Napi::CallbackInfo& info) {
  if (!core_->finalized) core_->tsfn.Ref(info.Env());
  return info.This();
}

Napi::Value FuseSession::Unref(const Napi::CallbackInfo& info) {
  if (!core_->finalized) core_->tsfn.Unref(info.Env());
  return info.This();
}

Napi::Value FuseSession::GetMounted(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !core_->finalized);
}

Napi::Value FuseSession::GetMountpoint(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), core_->mountpoint);
}

Napi::Value FuseSession::GetPending(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(core_->table.size()));
}

}  // namespace strata_fuse
