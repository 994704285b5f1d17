/*
 * malloc-trim.node: a Node-API addon with two functions for long-running servers' malloc heap.
 * `mallocTrim()` calls glibc's malloc_trim(0) and returns whether memory went back to the
 * system: a server that moved a lot of bytes (a registry after a push) keeps the freed but
 * fragmented malloc heap resident otherwise (11.7 MiB of the registry's peak in bench/registry).
 * `mallocArenaMax(n)` sets mallopt(M_ARENA_MAX, n): glibc gives each thread that allocates its
 * own arena (V8's compiler and GC threads, libuv's pool), each keeping its own fragments; pierd
 * with 50 containers held 7 MiB in them. Loaded, when built, by src/common/release-memory.ts;
 * built by native/build.sh when Node.js's headers are installed.
 */
#include <malloc.h>
#include <node_api.h>

static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  if (napi_get_boolean(env, malloc_trim(0) != 0, &out) != napi_ok) return NULL;
  return out;
}

static napi_value arena_max(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, out;
  int32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, arg, &n) != napi_ok || n < 1) {
    napi_throw_range_error(env, NULL, "mallocArenaMax: the number of arenas must be an integer of at least 1");
    return NULL;
  }
  if (napi_get_boolean(env, mallopt(M_ARENA_MAX, n) == 1, &out) != napi_ok) return NULL;
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "mallocTrim", NAPI_AUTO_LENGTH, trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "mallocTrim", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "mallocArenaMax", NAPI_AUTO_LENGTH, arena_max, NULL, &fn) != napi_ok)
    return NULL;
  if (napi_set_named_property(env, exports, "mallocArenaMax", fn) != napi_ok) return NULL;
  return exports;
}
