// Module entry: exports { FuseSession, fuseVersion }.
#include <napi.h>

#include "session.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  strata_fuse::InstallFuseLog();
  exports.Set("FuseSession", strata_fuse::FuseSession::Define(env));
  exports.Set("fuseVersion", Napi::String::New(env, fuse_pkgversion()));
  return exports;
}

}  // namespace

NODE_API_MODULE(strata_fuse, Init)
