// Module entry: exports { FuseSession, fuseVersion }.
#include <dlfcn.h>
#include <napi.h>

#include "session.h"

namespace {

// Node unloads an addon when the last environment that loaded it goes away (a worker thread
// ending). FUSE threads of a session that was never unmounted may still be running our code
// then, so the library pins itself for the life of the process.
void PinLibrary() {
  static bool pinned = false;
  if (pinned) return;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&PinLibrary), &info) && info.dli_fname)
    pinned = dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE) != nullptr;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  PinLibrary();
  strata_fuse::InstallFuseLog();
  exports.Set("FuseSession", strata_fuse::FuseSession::Define(env));
  exports.Set("fuseVersion", Napi::String::New(env, fuse_pkgversion()));
  return exports;
}

}  // namespace

NODE_API_MODULE(strata_fuse, Init)
