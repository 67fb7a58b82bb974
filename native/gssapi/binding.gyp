{
  "targets": [
    {
      "target_name": "dirgate_gssapi",
      "sources": ["gssapi.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "libraries": ["-lgssapi_krb5", "-lkrb5", "-lk5crypto", "-lcom_err"]
    }
  ]
}
