/*
 * dirgate's GSSAPI initiator: the few MIT krb5 calls a SASL GSSAPI bind
 * (RFC 4752) with a security layer needs, over N-API.
 *
 * Why our own and not the npm `kerberos` package (docs/kerberos-lab.md):
 * - its wrap() always wraps a "no layer" reply instead of the data, so no
 *   security layer is possible with it;
 * - it takes its keytab and ticket cache from the process environment,
 *   shared by every connection. Here each client has its own credentials:
 *   gss_acquire_cred_from() with a MEMORY: keytab filled from the sealed
 *   keytab's keys (no keytab file ever exists) and a MEMORY: ticket cache
 *   that is destroyed with the client (nothing written to /tmp).
 *
 * The one process-wide setting is the krb5.conf (KDCs per realm), which
 * MIT reads whenever it makes a context: configure() points KRB5_CONFIG at
 * the data folder's file once, before any client exists, on the main
 * thread (setenv while the thread pool reads the environment would race).
 *
 * Only step() talks to the network (AS and TGS exchanges with the KDC): it
 * runs on libuv's thread pool. wrap and unwrap are CPU work on one message
 * and run on the calling thread. A client is used by one JS caller at a
 * time; release() during a step() is deferred until that step ends.
 */
#define NAPI_VERSION 8
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(env, call)                                                    \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error((env), "DIRGATE_GSSAPI", "N-API call failed: " #call); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

static unsigned long next_id = 0;

typedef struct {
  krb5_context kctx;
  krb5_keytab keytab;
  char keytab_name[64];
  char ccache_name[64];
  gss_name_t client_name;
  gss_name_t target_name;
  gss_cred_id_t cred;
  gss_ctx_id_t ctx;
  OM_uint32 flags;
  int complete;
  int busy;
  int released;
} client_t;

/* Lets go of everything the client holds; the struct itself stays (the JS external points at it) until finalized. */
static void teardown_client(client_t *c) {
  OM_uint32 minor;
  if (c->ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &c->ctx, GSS_C_NO_BUFFER);
  if (c->cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &c->cred);
  if (c->client_name != GSS_C_NO_NAME) gss_release_name(&minor, &c->client_name);
  if (c->target_name != GSS_C_NO_NAME) gss_release_name(&minor, &c->target_name);
  if (c->kctx != NULL) {
    /* The MEMORY: ticket cache lives in the library until destroyed: without this every run would leave its tickets behind. */
    krb5_ccache cc;
    if (c->ccache_name[0] != '\0' && krb5_cc_resolve(c->kctx, c->ccache_name, &cc) == 0) krb5_cc_destroy(c->kctx, cc);
    /* Closing the last handle of a MEMORY: keytab frees its keys. */
    if (c->keytab != NULL) krb5_kt_close(c->kctx, c->keytab);
    krb5_free_context(c->kctx);
  }
  memset(c, 0, sizeof(*c));
  c->released = 1;
}

static void finalize_client(napi_env env, void *data, void *hint) {
  client_t *c = (client_t *)data;
  /* Only reached when JS holds no reference; a step in flight holds one (see step()). */
  if (!c->released) teardown_client(c);
  free(c);
}

/* Error text of one status (major or minor), all its messages joined. */
static void status_text(OM_uint32 code, int type, gss_OID mech, char *out, size_t size) {
  OM_uint32 minor, context = 0;
  size_t used = 0;
  out[0] = '\0';
  do {
    gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
    if (GSS_ERROR(gss_display_status(&minor, code, type, mech, &context, &text))) break;
    int n = snprintf(out + used, size - used, "%s%.*s", used ? "; " : "", (int)text.length, (const char *)text.value);
    gss_release_buffer(&minor, &text);
    if (n < 0 || (size_t)n >= size - used) break;
    used += (size_t)n;
  } while (context != 0);
}

/* A JS Error with `major`, `minor` (the krb5 error code, e.g. KRB5KDC_ERR_PREAUTH_FAILED), `majorText`, `minorText`. */
static napi_value gss_error(napi_env env, const char *call, OM_uint32 major, OM_uint32 minor) {
  char major_text[512], minor_text[512], message[1200];
  status_text(major, GSS_C_GSS_CODE, GSS_C_NO_OID, major_text, sizeof major_text);
  status_text(minor, GSS_C_MECH_CODE, (gss_OID)gss_mech_krb5, minor_text, sizeof minor_text);
  snprintf(message, sizeof message, "%s: %s%s%s", call, major_text, minor_text[0] ? ": " : "", minor_text);
  napi_value msg, err, v;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_create_uint32(env, major, &v);
  napi_set_named_property(env, err, "major", v);
  napi_create_int32(env, (int32_t)minor, &v);
  napi_set_named_property(env, err, "minor", v);
  napi_create_string_utf8(env, major_text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "majorText", v);
  napi_create_string_utf8(env, minor_text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "minorText", v);
  napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "call", v);
  return err;
}

static napi_value kerberos_error(napi_env env, krb5_context kctx, const char *call, krb5_error_code code) {
  const char *text = kctx ? krb5_get_error_message(kctx, code) : "krb5_init_context failed";
  char message[800];
  snprintf(message, sizeof message, "%s: %s", call, text);
  if (kctx) krb5_free_error_message(kctx, text);
  napi_value msg, err, v;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_create_int32(env, (int32_t)code, &v);
  napi_set_named_property(env, err, "minor", v);
  napi_create_uint32(env, 0, &v);
  napi_set_named_property(env, err, "major", v);
  napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "call", v);
  return err;
}

static char *get_string(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *s = malloc(length + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, value, s, length + 1, &length);
  return s;
}

static char *get_named_string(napi_env env, napi_value object, const char *name) {
  napi_value v;
  if (napi_get_named_property(env, object, name, &v) != napi_ok) return NULL;
  return get_string(env, v);
}

static int get_named_int(napi_env env, napi_value object, const char *name, int64_t *out) {
  napi_value v;
  if (napi_get_named_property(env, object, name, &v) != napi_ok) return 0;
  return napi_get_value_int64(env, v, out) == napi_ok;
}

static client_t *unwrap_client(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "not a GSSAPI client");
    return NULL;
  }
  client_t *c = (client_t *)data;
  if (c->released) {
    napi_throw_error(env, "DIRGATE_GSSAPI", "the GSSAPI client was released");
    return NULL;
  }
  return c;
}

/* configure(krb5ConfPath): the process's Kerberos configuration, set once before any client. */
static napi_value configure(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = argc == 1 ? get_string(env, argv[0]) : NULL;
  if (path == NULL) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "configure(path) takes the krb5.conf path");
    return NULL;
  }
  setenv("KRB5_CONFIG", path, 1);
  /* Nothing of the process's defaults: no /tmp/krb5cc_UID, no /etc/krb5.keytab, no replay cache files. */
  setenv("KRB5CCNAME", "MEMORY:dirgate-default", 1);
  setenv("KRB5_KTNAME", "MEMORY:dirgate-none", 1);
  setenv("KRB5_CLIENT_KTNAME", "MEMORY:dirgate-none", 1);
  setenv("KRB5RCACHENAME", "none:", 1);
  unsetenv("KRB5_TRACE");
  free(path);
  return NULL;
}

/*
 * createClient({ principal, target, flags, entries: [{ principal, kvno, enctype, key, timestamp }] })
 * principal: the client as MIT spells it (svc@REALM); target: the service principal (ldap/host@REALM).
 * No network: the tickets are got by the first step().
 */
static napi_value create_client(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], entries, result;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "createClient(options)");
    return NULL;
  }
  client_t *c = calloc(1, sizeof(client_t));
  if (c == NULL) {
    napi_throw_error(env, "DIRGATE_GSSAPI", "out of memory");
    return NULL;
  }
  char *principal = get_named_string(env, argv[0], "principal");
  char *target = get_named_string(env, argv[0], "target");
  int64_t flags = 0;
  get_named_int(env, argv[0], "flags", &flags);
  c->flags = (OM_uint32)flags;
  napi_value error = NULL;
  krb5_error_code kerr;
  OM_uint32 major, minor;
  unsigned long id = __atomic_add_fetch(&next_id, 1, __ATOMIC_SEQ_CST);
  snprintf(c->keytab_name, sizeof c->keytab_name, "MEMORY:dirgate-kt-%d-%lu", (int)getpid(), id);
  snprintf(c->ccache_name, sizeof c->ccache_name, "MEMORY:dirgate-cc-%d-%lu", (int)getpid(), id);

  if (principal == NULL || target == NULL) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "createClient needs principal and target");
    goto fail;
  }
  if ((kerr = krb5_init_context(&c->kctx)) != 0) {
    error = kerberos_error(env, NULL, "krb5_init_context", kerr);
    c->kctx = NULL;
    goto fail;
  }
  if ((kerr = krb5_kt_resolve(c->kctx, c->keytab_name, &c->keytab)) != 0) {
    error = kerberos_error(env, c->kctx, "krb5_kt_resolve", kerr);
    goto fail;
  }
  uint32_t count = 0;
  if (napi_get_named_property(env, argv[0], "entries", &entries) != napi_ok ||
      napi_get_array_length(env, entries, &count) != napi_ok) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "createClient needs entries");
    goto fail;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value entry, key;
    int64_t kvno = 0, enctype = 0, timestamp = 0;
    void *key_bytes = NULL;
    size_t key_length = 0;
    napi_get_element(env, entries, i, &entry);
    char *name = get_named_string(env, entry, "principal");
    if (name == NULL || !get_named_int(env, entry, "kvno", &kvno) || !get_named_int(env, entry, "enctype", &enctype) ||
        !get_named_int(env, entry, "timestamp", &timestamp) ||
        napi_get_named_property(env, entry, "key", &key) != napi_ok ||
        napi_get_buffer_info(env, key, &key_bytes, &key_length) != napi_ok) {
      free(name);
      napi_throw_type_error(env, "DIRGATE_GSSAPI", "a keytab entry needs principal, kvno, enctype, timestamp, key");
      goto fail;
    }
    krb5_keytab_entry kt_entry;
    memset(&kt_entry, 0, sizeof kt_entry);
    kerr = krb5_parse_name(c->kctx, name, &kt_entry.principal);
    free(name);
    if (kerr != 0) {
      error = kerberos_error(env, c->kctx, "krb5_parse_name", kerr);
      goto fail;
    }
    kt_entry.vno = (krb5_kvno)kvno;
    kt_entry.timestamp = (krb5_timestamp)timestamp;
    kt_entry.key.magic = KV5M_KEYBLOCK;
    kt_entry.key.enctype = (krb5_enctype)enctype;
    kt_entry.key.length = (unsigned int)key_length;
    kt_entry.key.contents = (krb5_octet *)key_bytes;
    kerr = krb5_kt_add_entry(c->kctx, c->keytab, &kt_entry); /* copies the key */
    krb5_free_principal(c->kctx, kt_entry.principal);
    if (kerr != 0) {
      error = kerberos_error(env, c->kctx, "krb5_kt_add_entry", kerr);
      goto fail;
    }
  }

  gss_buffer_desc buffer;
  buffer.value = principal;
  buffer.length = strlen(principal);
  major = gss_import_name(&minor, &buffer, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, &c->client_name);
  if (GSS_ERROR(major)) {
    error = gss_error(env, "gss_import_name", major, minor);
    goto fail;
  }
  buffer.value = target;
  buffer.length = strlen(target);
  major = gss_import_name(&minor, &buffer, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, &c->target_name);
  if (GSS_ERROR(major)) {
    error = gss_error(env, "gss_import_name", major, minor);
    goto fail;
  }
  free(principal);
  free(target);
  CHECK(env, napi_create_external(env, c, finalize_client, NULL, &result));
  return result;

fail:
  free(principal);
  free(target);
  teardown_client(c);
  free(c);
  if (error != NULL) napi_throw(env, error);
  return NULL;
}

typedef struct {
  client_t *client;
  napi_ref client_ref;
  napi_deferred deferred;
  napi_async_work work;
  gss_buffer_desc input;
  gss_buffer_desc output;
  OM_uint32 major;
  OM_uint32 minor;
  const char *failed_call;
} step_t;

static void step_execute(napi_env env, void *data) {
  step_t *s = (step_t *)data;
  client_t *c = s->client;
  s->output.length = 0;
  s->output.value = NULL;
  if (c->cred == GSS_C_NO_CREDENTIAL) {
    gss_key_value_element_desc elements[2] = {
        {"client_keytab", c->keytab_name},
        {"ccache", c->ccache_name},
    };
    gss_key_value_set_desc store = {2, elements};
    gss_OID_desc krb5_oid = *(gss_OID)gss_mech_krb5;
    gss_OID_set_desc mechs = {1, &krb5_oid};
    s->major = gss_acquire_cred_from(&s->minor, c->client_name, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE, &store,
                                     &c->cred, NULL, NULL);
    if (GSS_ERROR(s->major)) {
      s->failed_call = "gss_acquire_cred_from";
      c->cred = GSS_C_NO_CREDENTIAL;
      return;
    }
  }
  OM_uint32 ret_flags = 0;
  s->major = gss_init_sec_context(&s->minor, c->cred, &c->ctx, c->target_name, (gss_OID)gss_mech_krb5, c->flags, 0,
                                  GSS_C_NO_CHANNEL_BINDINGS, s->input.length ? &s->input : GSS_C_NO_BUFFER, NULL,
                                  &s->output, &ret_flags, NULL);
  if (GSS_ERROR(s->major)) s->failed_call = "gss_init_sec_context";
  else c->complete = s->major == GSS_S_COMPLETE;
}

static void step_complete(napi_env env, napi_status status, void *data) {
  step_t *s = (step_t *)data;
  client_t *c = s->client;
  OM_uint32 minor;
  c->busy = 0;
  if (s->failed_call != NULL) {
    napi_reject_deferred(env, s->deferred, gss_error(env, s->failed_call, s->major, s->minor));
  } else {
    napi_value result, token, complete;
    napi_create_object(env, &result);
    if (s->output.length > 0) {
      napi_create_buffer_copy(env, s->output.length, s->output.value, NULL, &token);
    } else {
      napi_get_null(env, &token);
    }
    napi_get_boolean(env, c->complete, &complete);
    napi_set_named_property(env, result, "token", token);
    napi_set_named_property(env, result, "complete", complete);
    napi_resolve_deferred(env, s->deferred, result);
  }
  gss_release_buffer(&minor, &s->output);
  free(s->input.value);
  if (c->released) teardown_client(c); /* release() was called during the step */
  napi_delete_reference(env, s->client_ref);
  napi_delete_async_work(env, s->work);
  free(s);
}

/* step(client, token | null): Promise<{ token: Buffer | null, complete: boolean }> */
static napi_value step(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], promise, name;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 2) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "step(client, token)");
    return NULL;
  }
  client_t *c = unwrap_client(env, argv[0]);
  if (c == NULL) return NULL;
  if (c->busy) {
    napi_throw_error(env, "DIRGATE_GSSAPI", "a step of this client is already running");
    return NULL;
  }
  step_t *s = calloc(1, sizeof(step_t));
  if (s == NULL) {
    napi_throw_error(env, "DIRGATE_GSSAPI", "out of memory");
    return NULL;
  }
  s->client = c;
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  if (is_buffer) {
    void *bytes;
    size_t length;
    napi_get_buffer_info(env, argv[1], &bytes, &length);
    if (length > 0) {
      s->input.value = malloc(length);
      if (s->input.value == NULL) {
        free(s);
        napi_throw_error(env, "DIRGATE_GSSAPI", "out of memory");
        return NULL;
      }
      memcpy(s->input.value, bytes, length);
      s->input.length = length;
    }
  }
  CHECK(env, napi_create_reference(env, argv[0], 1, &s->client_ref));
  CHECK(env, napi_create_promise(env, &s->deferred, &promise));
  CHECK(env, napi_create_string_utf8(env, "dirgate.gssapi.step", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_async_work(env, NULL, name, step_execute, step_complete, s, &s->work));
  c->busy = 1;
  CHECK(env, napi_queue_async_work(env, s->work));
  return promise;
}

/* wrap(client, data, confidential): Buffer (one gss_wrap token) */
static napi_value wrap(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  client_t *c = argc == 3 ? unwrap_client(env, argv[0]) : NULL;
  if (c == NULL) return NULL;
  void *bytes;
  size_t length;
  bool conf = false;
  if (napi_get_buffer_info(env, argv[1], &bytes, &length) != napi_ok || napi_get_value_bool(env, argv[2], &conf) != napi_ok) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "wrap(client, buffer, boolean)");
    return NULL;
  }
  if (!c->complete) {
    napi_throw_error(env, "DIRGATE_GSSAPI", "wrap before the security context is complete");
    return NULL;
  }
  gss_buffer_desc input = {length, bytes}, output = GSS_C_EMPTY_BUFFER;
  int conf_state = 0;
  OM_uint32 minor, major = gss_wrap(&minor, c->ctx, conf, GSS_C_QOP_DEFAULT, &input, &conf_state, &output);
  if (GSS_ERROR(major)) {
    napi_throw(env, gss_error(env, "gss_wrap", major, minor));
    return NULL;
  }
  if (conf && !conf_state) {
    gss_release_buffer(&minor, &output);
    napi_throw_error(env, "DIRGATE_GSSAPI", "gss_wrap: confidentiality asked for and not given");
    return NULL;
  }
  napi_status status = napi_create_buffer_copy(env, output.length, output.value, NULL, &result);
  gss_release_buffer(&minor, &output);
  CHECK(env, status);
  return result;
}

/* unwrap(client, token): { data: Buffer, confidential: boolean } */
static napi_value unwrap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, data, confidential;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  client_t *c = argc == 2 ? unwrap_client(env, argv[0]) : NULL;
  if (c == NULL) return NULL;
  void *bytes;
  size_t length;
  if (napi_get_buffer_info(env, argv[1], &bytes, &length) != napi_ok) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "unwrap(client, buffer)");
    return NULL;
  }
  if (!c->complete) {
    napi_throw_error(env, "DIRGATE_GSSAPI", "unwrap before the security context is complete");
    return NULL;
  }
  gss_buffer_desc input = {length, bytes}, output = GSS_C_EMPTY_BUFFER;
  int conf_state = 0;
  OM_uint32 minor, major = gss_unwrap(&minor, c->ctx, &input, &output, &conf_state, NULL);
  if (GSS_ERROR(major)) {
    napi_throw(env, gss_error(env, "gss_unwrap", major, minor));
    return NULL;
  }
  napi_status status = napi_create_buffer_copy(env, output.length, output.value, NULL, &data);
  gss_release_buffer(&minor, &output);
  CHECK(env, status);
  CHECK(env, napi_get_boolean(env, conf_state != 0, &confidential));
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_set_named_property(env, result, "data", data));
  CHECK(env, napi_set_named_property(env, result, "confidential", confidential));
  return result;
}

/* wrapSizeLimit(client, confidential, maxToken): the largest input whose token fits in maxToken bytes. */
static napi_value wrap_size_limit(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  client_t *c = argc == 3 ? unwrap_client(env, argv[0]) : NULL;
  if (c == NULL) return NULL;
  bool conf = false;
  uint32_t max_token = 0;
  if (napi_get_value_bool(env, argv[1], &conf) != napi_ok || napi_get_value_uint32(env, argv[2], &max_token) != napi_ok) {
    napi_throw_type_error(env, "DIRGATE_GSSAPI", "wrapSizeLimit(client, boolean, number)");
    return NULL;
  }
  OM_uint32 minor, max_input = 0;
  OM_uint32 major = gss_wrap_size_limit(&minor, c->ctx, conf, GSS_C_QOP_DEFAULT, max_token, &max_input);
  if (GSS_ERROR(major)) {
    napi_throw(env, gss_error(env, "gss_wrap_size_limit", major, minor));
    return NULL;
  }
  CHECK(env, napi_create_uint32(env, max_input, &result));
  return result;
}

/* release(client): forgets its context, tickets and keys now (deferred to the end of a running step). */
static napi_value release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  if (argc != 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) return NULL;
  client_t *c = (client_t *)data;
  if (c->released) return NULL;
  if (c->busy) {
    c->released = 1; /* step_complete destroys it */
    return NULL;
  }
  teardown_client(c);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"configure", NULL, configure, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createClient", NULL, create_client, NULL, NULL, NULL, napi_enumerable, NULL},
      {"step", NULL, step, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wrap", NULL, wrap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unwrap", NULL, unwrap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wrapSizeLimit", NULL, wrap_size_limit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"release", NULL, release, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  napi_value flags, v;
  napi_create_object(env, &flags);
  napi_create_uint32(env, GSS_C_MUTUAL_FLAG, &v);
  napi_set_named_property(env, flags, "MUTUAL", v);
  napi_create_uint32(env, GSS_C_SEQUENCE_FLAG, &v);
  napi_set_named_property(env, flags, "SEQUENCE", v);
  napi_create_uint32(env, GSS_C_REPLAY_FLAG, &v);
  napi_set_named_property(env, flags, "REPLAY", v);
  napi_create_uint32(env, GSS_C_INTEG_FLAG, &v);
  napi_set_named_property(env, flags, "INTEG", v);
  napi_create_uint32(env, GSS_C_CONF_FLAG, &v);
  napi_set_named_property(env, flags, "CONF", v);
  napi_set_named_property(env, exports, "flags", flags);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
