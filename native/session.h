// The JS class FuseSession: one mounted file system served by libfuse's multi-threaded loop.
#pragma once

#include <napi.h>

#include <memory>

#include "core.h"

namespace strata_fuse {

class FuseSession : public Napi::ObjectWrap<FuseSession> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit FuseSession(const Napi::CallbackInfo& info);
  ~FuseSession() override;

 private:
  // session.cc: lifecycle
  static Napi::Value Available(const Napi::CallbackInfo& info);
  Napi::Value Unmount(const Napi::CallbackInfo& info);
  Napi::Value DetachSync(const Napi::CallbackInfo& info);
  Napi::Value NativeState(const Napi::CallbackInfo& info);
  Napi::Value XattrAbsent(const Napi::CallbackInfo& info);
  Napi::Value SetAbsentXattrTtl(const Napi::CallbackInfo& info);
  Napi::Value SetAttrCache(const Napi::CallbackInfo& info);
  Napi::Value AttrCacheChanged(const Napi::CallbackInfo& info);
  Napi::Value AttrCacheCurrent(const Napi::CallbackInfo& info);
  Napi::Value AttrCacheChecking(const Napi::CallbackInfo& info);
  Napi::Value AttrCacheSeq(const Napi::CallbackInfo& info);
  Napi::Value AlsoAttr(const Napi::CallbackInfo& info);
  Napi::Value AlsoChanged(const Napi::CallbackInfo& info);
  Napi::Value AttrCacheMark(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value GetMounted(const Napi::CallbackInfo& info);
  Napi::Value GetMountpoint(const Napi::CallbackInfo& info);
  Napi::Value GetPending(const Napi::CallbackInfo& info);

  // reply.cc: answers, called by the JS handler with the request id it was given
  Napi::Value ReplyErr(const Napi::CallbackInfo& info);
  Napi::Value ReplyNone(const Napi::CallbackInfo& info);
  Napi::Value ReplyEntry(const Napi::CallbackInfo& info);
  Napi::Value ReplyAttr(const Napi::CallbackInfo& info);
  Napi::Value ReplyLock(const Napi::CallbackInfo& info);
  Napi::Value Interrupted(const Napi::CallbackInfo& info);
  Napi::Value ReplyReadlink(const Napi::CallbackInfo& info);
  Napi::Value ReplyOpen(const Napi::CallbackInfo& info);
  Napi::Value ReplyCreate(const Napi::CallbackInfo& info);
  Napi::Value ReplyWrite(const Napi::CallbackInfo& info);
  Napi::Value ReplyBuf(const Napi::CallbackInfo& info);
  Napi::Value ReplyData(const Napi::CallbackInfo& info);
  Napi::Value ReplyReaddir(const Napi::CallbackInfo& info);
  Napi::Value ReplyStatfs(const Napi::CallbackInfo& info);
  Napi::Value ReplyXattr(const Napi::CallbackInfo& info);

  // The pending request `info[0]` names, checked against the reply kind; not yet removed, so a
  // reply whose arguments fail to convert leaves the request answerable.
  const Pending& Find(const Napi::CallbackInfo& info, uint32_t kind, const char* method);
  // Removes it; the caller must answer the returned request right away. A change is marked
  // answered in the AttrCache; when `carried` names the keys the answer's own attributes or name
  // depend on, *recordAt gets the number to record them at (0: they must not be recorded).
  fuse_req_t Consume(const Napi::CallbackInfo& info, const Touch* carried = nullptr, uint64_t* recordAt = nullptr);

  std::shared_ptr<Core> core_;
};

}  // namespace strata_fuse
