/*
 * malloc-trim.node: a Node-API addon with one function, `mallocTrim()`, which calls glibc's
 * malloc_trim(0) and returns whether memory went back to the system. A long-running server that
 * moved a lot of bytes (a registry after a push) keeps the freed but fragmented malloc heap
 * resident otherwise: 11.7 MiB of the registry's peak in bench/registry. Loaded, when built, by
 * src/common/release-memory.ts; built by native/build.sh when Node.js's headers are installed.
 */
#include <malloc.h>
#include <node_api.h>

static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  if (napi_get_boolean(env, malloc_trim(0) != 0, &out) != napi_ok) return NULL;
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "mallocTrim", NAPI_AUTO_LENGTH, trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "mallocTrim", fn) != napi_ok) return NULL;
  return exports;
}
