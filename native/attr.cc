#include "attr.h"

#include <fuse_lowlevel.h>

#include <cmath>
#include <string>

namespace strata_fuse {

namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "strata fuse: " + msg);
}

// Nanoseconds since the epoch as a BigInt (a number is accepted too, for convenience in tests).
struct timespec ToTimespec(const Napi::Value& v, const char* what) {
  int64_t ns;
  if (v.IsBigInt()) {
    bool lossless = true;
    ns = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) Bad(v.Env(), std::string(what) + " is out of range");
  } else if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) Bad(v.Env(), std::string(what) + " must be finite");
    ns = static_cast<int64_t>(d);
  } else {
    Bad(v.Env(), std::string(what) + " must be a BigInt of nanoseconds");
  }
  struct timespec ts;
  // Floor division keeps tv_nsec in [0, 1e9) for times before 1970 as well.
  int64_t sec = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) { rem += 1000000000; sec -= 1; }
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(rem);
  return ts;
}

Napi::Value Need(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) Bad(o.Env(), std::string("attr.") + key + " is required");
  return v;
}

uint64_t Opt(const Napi::Object& o, const char* key, uint64_t dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  return ToU64(v, key);
}

}  // namespace

uint64_t ToU64(const Napi::Value& v, const char* what) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > 18446744073709549568.0 || std::floor(d) != d)
      Bad(v.Env(), std::string(what) + " must be a non-negative integer");
    return static_cast<uint64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless = true;
    uint64_t u = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) Bad(v.Env(), std::string(what) + " is out of range");
    return u;
  }
  Bad(v.Env(), std::string(what) + " must be a number");
}

double ToSeconds(const Napi::Value& v, const char* what) {
  if (v.IsUndefined()) return 0;
  if (!v.IsNumber()) Bad(v.Env(), std::string(what) + " must be a number of seconds");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || !std::isfinite(d)) Bad(v.Env(), std::string(what) + " must be >= 0");
  return d;
}

void StatFromJs(const Napi::Value& v, struct stat* st) {
  if (!v.IsObject()) Bad(v.Env(), "attr must be an object");
  Napi::Object o = v.As<Napi::Object>();
  *st = {};
  st->st_ino = ToU64(Need(o, "ino"), "attr.ino");
  st->st_mode = static_cast<mode_t>(ToU64(Need(o, "mode"), "attr.mode"));
  st->st_nlink = static_cast<nlink_t>(ToU64(Need(o, "nlink"), "attr.nlink"));
  st->st_uid = static_cast<uid_t>(ToU64(Need(o, "uid"), "attr.uid"));
  st->st_gid = static_cast<gid_t>(ToU64(Need(o, "gid"), "attr.gid"));
  st->st_rdev = static_cast<dev_t>(Opt(o, "rdev", 0));
  uint64_t size = ToU64(Need(o, "size"), "attr.size");
  st->st_size = static_cast<off_t>(size);
  // du and `ls -s` read st_blocks; default to the 512-byte units the size implies.
  st->st_blocks = static_cast<blkcnt_t>(Opt(o, "blocks", (size + 511) / 512));
  st->st_blksize = static_cast<blksize_t>(Opt(o, "blksize", 0));
  st->st_atim = ToTimespec(Need(o, "atimeNs"), "attr.atimeNs");
  st->st_mtim = ToTimespec(Need(o, "mtimeNs"), "attr.mtimeNs");
  st->st_ctim = ToTimespec(Need(o, "ctimeNs"), "attr.ctimeNs");
}

void StatvfsFromJs(const Napi::Value& v, struct statvfs* sv) {
  if (!v.IsObject()) Bad(v.Env(), "statfs must be an object");
  Napi::Object o = v.As<Napi::Object>();
  *sv = {};
  sv->f_bsize = ToU64(Need(o, "bsize"), "statfs.bsize");
  sv->f_frsize = Opt(o, "frsize", sv->f_bsize);
  sv->f_blocks = ToU64(Need(o, "blocks"), "statfs.blocks");
  sv->f_bfree = ToU64(Need(o, "bfree"), "statfs.bfree");
  sv->f_bavail = Opt(o, "bavail", sv->f_bfree);
  sv->f_files = ToU64(Need(o, "files"), "statfs.files");
  sv->f_ffree = ToU64(Need(o, "ffree"), "statfs.ffree");
  sv->f_favail = sv->f_ffree;
  sv->f_namemax = Opt(o, "namemax", 255);
}

Napi::Object SetattrToJs(Napi::Env env, const struct stat& st, int toSet) {
  Napi::Object o = Napi::Object::New(env);
  auto ns = [&](const struct timespec& ts) {
    return Napi::BigInt::New(env, static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec);
  };
  if (toSet & FUSE_SET_ATTR_MODE) o.Set("mode", Napi::Number::New(env, st.st_mode));
  if (toSet & FUSE_SET_ATTR_UID) o.Set("uid", Napi::Number::New(env, st.st_uid));
  if (toSet & FUSE_SET_ATTR_GID) o.Set("gid", Napi::Number::New(env, st.st_gid));
  if (toSet & FUSE_SET_ATTR_SIZE) o.Set("size", Napi::Number::New(env, static_cast<double>(st.st_size)));
  if (toSet & FUSE_SET_ATTR_ATIME_NOW) o.Set("atimeNow", Napi::Boolean::New(env, true));
  else if (toSet & FUSE_SET_ATTR_ATIME) o.Set("atimeNs", ns(st.st_atim));
  if (toSet & FUSE_SET_ATTR_MTIME_NOW) o.Set("mtimeNow", Napi::Boolean::New(env, true));
  else if (toSet & FUSE_SET_ATTR_MTIME) o.Set("mtimeNs", ns(st.st_mtim));
  if (toSet & FUSE_SET_ATTR_CTIME) o.Set("ctimeNs", ns(st.st_ctim));
  return o;
}

Touch KeysFromJs(const Napi::CallbackInfo& info, size_t first, const char* usage) {
  Napi::Env env = info.Env();
  if (info.Length() < first + 3 || !info[first].IsArray() || !info[first + 1].IsArray() || !info[first + 2].IsArray())
    throw Napi::TypeError::New(env, std::string("strata fuse: ") + usage);
  Napi::Array inos = info[first].As<Napi::Array>();
  Napi::Array parents = info[first + 1].As<Napi::Array>();
  Napi::Array names = info[first + 2].As<Napi::Array>();
  if (parents.Length() != names.Length())
    throw Napi::TypeError::New(env, std::string("strata fuse: ") + usage + ": parents and names differ in length");
  Touch t;
  for (uint32_t i = 0; i < inos.Length(); i++) t.Ino(static_cast<uint64_t>(inos.Get(i).ToNumber().DoubleValue()));
  for (uint32_t i = 0; i < names.Length(); i++)
    t.Name(static_cast<uint64_t>(parents.Get(i).ToNumber().DoubleValue()), names.Get(i).ToString().Utf8Value());
  return t;
}

}  // namespace strata_fuse
