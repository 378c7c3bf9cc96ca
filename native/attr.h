// Conversions between JS values and the structs libfuse speaks. All run on the JS thread and throw
// TypeError on malformed input, before any request id is consumed.
#pragma once

#include <napi.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>

#include "attr_cache.h"

namespace strata_fuse {

// A non-negative integer given as a JS number or BigInt.
uint64_t ToU64(const Napi::Value& v, const char* what);
// Seconds as a JS number; timeouts may be fractional.
double ToSeconds(const Napi::Value& v, const char* what);

// attr: {ino, mode, nlink, uid, gid, rdev?, size, blocks?, blksize?, atimeNs, mtimeNs, ctimeNs}
void StatFromJs(const Napi::Value& v, struct stat* st);
// info[first..first+2] = (inos, parents, names), as JS names changed keys; `usage` for the error.
Touch KeysFromJs(const Napi::CallbackInfo& info, size_t first, const char* usage);
// statfs: {bsize, frsize, blocks, bfree, bavail, files, ffree, namemax}
void StatvfsFromJs(const Napi::Value& v, struct statvfs* sv);
// setattr's changed fields: {mode?, uid?, gid?, size?, atimeNs?|atimeNow?, mtimeNs?|mtimeNow?, ctimeNs?}
Napi::Object SetattrToJs(Napi::Env env, const struct stat& st, int toSet);

}  // namespace strata_fuse
