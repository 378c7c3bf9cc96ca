{
  # Lives in native/ (not the repo root) so node-gyp's build dir is native/build/: a root-level
  # `node-gyp rebuild` would wipe build/, which also holds build/strata.wasm.
  "targets": [
    {
      "target_name": "strata_fuse",
      "sources": [
        "addon.cc",
        "session.cc",
        "dispatch.cc",
        "reply.cc",
        "data_pool.cc",
        "attr.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "FUSE_USE_VERSION=312"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["<!@(pkg-config --cflags fuse3)", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "libraries": ["<!@(pkg-config --libs fuse3)", "-ldl"]
    }
  ]
}
