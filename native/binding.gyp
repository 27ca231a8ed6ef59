{
  "targets": [
    {
      "target_name": "walnut_tap",
      "sources": ["tap.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
