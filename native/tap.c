// walnut_tap: a Linux TAP device for Node as an N-API addon (C, napi_* only, NAPI_VERSION 8).
// open() → /dev/net/tun + TUNSETIFF (+ TUNSETVNETHDRSZ) + TUNSETOFFLOAD. A libuv poll watcher reads frames
// into a JS-owned slab until EAGAIN or maxBatch and makes ONE JS call per batch; write() sends a frame now
// and copies it into a bounded queue only when the kernel says EAGAIN. Used by src/link/tap.ts (TapDevice).
// Why batching: one read() per frame is the floor (a TAP fd has no recvmmsg); see docs/measurements.md "The TAP path".

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include <node_api.h>
#include <uv.h>

#define VNET_HDR_BYTES 12 /* struct virtio_net_hdr_mrg_rxbuf: the size the TAP's reader and writer agree on */
#define TXQ_MAX_FRAMES 512u
#define TXQ_MAX_BYTES (8u << 20) /* 512 vnet super-frames would be 32 MiB: bound the bytes as well */
#define MIN_STRIDE 64u

typedef struct {
  uint8_t *data; /* malloc'd copy of the frame */
  uint32_t length;
} txq_slot_t;

typedef struct tap_s {
  napi_env env;
  int fd;            /* -1 once closed */
  bool is_closed;    /* close() ran (or the env is tearing down); every entry point checks it */
  bool has_vnet_hdr; /* frames in both directions start with a 12-byte virtio-net header */
  bool is_failed;    /* the interface went away under us (POLLERR/EBADFD): never poll it again */
  bool is_hook_registered;
  uv_poll_t *poll; /* NULL once closed; freed in its close callback, which may run after the tap_t is freed */
  int poll_events; /* events the watcher is started with; 0 = stopped (an idle poll keeps no loop alive) */
  char name[IFNAMSIZ];

  /* Reading. The refs pin the slab, the lengths and the callback while the watcher may write into them. */
  bool is_reading;
  napi_ref self_ref; /* strong while reading: a reading TAP lives like a listening socket until closed */
  napi_ref slab_ref, lengths_ref, on_batch_ref;
  uint32_t stride, max_batch;
  napi_async_context async_ctx; /* of the current reading session; NULL when not reading */
  napi_async_context ctx_in_call; /* the context onBatch is running under, else NULL */
  bool is_ctx_destroy_pending;    /* stopReading/close ran inside onBatch: destroy ctx_in_call afterwards */
  bool is_free_pending;           /* the finalizer ran inside onBatch: free after it returns */

  /* Frames that met EAGAIN, oldest first; a ring bounded by TXQ_MAX_FRAMES and TXQ_MAX_BYTES, allocated on
     first use (a TAP write practically never says EAGAIN) and freed at close. */
  txq_slot_t *txq;
  uint32_t txq_head, txq_count;
  size_t txq_bytes;

  uint64_t rx_frames, rx_batches, rx_errors, tx_frames, tx_queued, tx_dropped, tx_errors;
} tap_t;

/* ---------------------------------------------------------------------------------------------------------- */
/* Errors: JS Errors whose code is the errno name and whose message says what to do about it. */

static void set_error_props(napi_env env, napi_value error, int err, const char *syscall) {
  napi_value v;
  if (napi_create_int32(env, -err, &v) == napi_ok) napi_set_named_property(env, error, "errno", v);
  if (syscall != NULL && napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, error, "syscall", v);
}

static const char *errno_name(int err) {
  switch (err) {
    case EBADFD: return "EBADFD"; /* libuv has no name for it */
    default: return uv_err_name(-err);
  }
}

/* Throws Error(message) with .code = errno name, .errno = -err, .syscall. Returns NULL for `return throw_…`. */
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *message) {
  napi_value code, msg, error;
  if (napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok) {
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  set_error_props(env, error, err, syscall);
  napi_throw(env, error);
  return NULL;
}

/* What opening /dev/net/tun or TUNSETIFF failing means, phrased for the person running walnut. */
static napi_value throw_open_error(napi_env env, int err, const char *syscall, const char *name) {
  char what[IFNAMSIZ + 16];
  char message[512];
  if (name[0] != '\0') snprintf(what, sizeof what, "TAP %s", name);
  else snprintf(what, sizeof what, "a new TAP");
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
      if (strcmp(syscall, "open") == 0) {
        snprintf(message, sizeof message,
                 "/dev/net/tun is missing: load the tun module (modprobe tun) or run in a container with the tun "
                 "device (--device /dev/net/tun)");
        break;
      }
      snprintf(message, sizeof message, "%s: %s failed (%s): is the tun module loaded? (modprobe tun)", what,
               syscall, strerror(err));
      break;
    case EPERM:
    case EACCES:
      snprintf(message, sizeof message,
               "%s: creating or attaching a TAP needs CAP_NET_ADMIN: run as root (sudo) or grant the capability "
               "(setcap cap_net_admin+ep on the node binary)",
               what);
      break;
    case EBUSY:
      snprintf(message, sizeof message,
               "%s is in use by another process (or another open handle): pick another --tap name or stop that "
               "process",
               what);
      break;
    case EINVAL:
      if (strcmp(syscall, "ioctl(TUNSETIFF)") == 0) {
        snprintf(message, sizeof message,
                 "%s cannot be attached: an interface of that name exists but is not a single-queue TAP (a TUN, a "
                 "veth, a multi-queue TAP…): pick another --tap name or remove it (ip link del %s)",
                 what, name);
        break;
      }
      snprintf(message, sizeof message,
               "%s: the kernel refused %s (EINVAL): it does not support the virtio-net header offloads; run "
               "without the vnet header",
               what, syscall);
      break;
    case EMFILE:
    case ENFILE:
      snprintf(message, sizeof message, "%s: %s failed: too many open files: raise the limit (ulimit -n)", what,
               syscall);
      break;
    default:
      snprintf(message, sizeof message, "%s: %s failed: %s", what, syscall, strerror(err));
      break;
  }
  return throw_errno(env, err, syscall, message);
}

static napi_value throw_closed(napi_env env, const char *method) {
  char message[128];
  snprintf(message, sizeof message, "TAP handle is closed: %s() needs an open handle", method);
  return throw_errno(env, EBADF, NULL, message);
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Argument helpers (programmer errors are TypeError/RangeError). */

static bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *count) {
  bool is_typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  if (napi_get_typedarray_info(env, v, &type, count, data, NULL, NULL) != napi_ok) return false;
  if (type != want) return false;
  if (*data == NULL && *count != 0) return false; /* detached */
  return true;
}

static bool get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static tap_t *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *self) {
  napi_value this_arg;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &this_arg, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, this_arg, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not a TAP handle");
    return NULL;
  }
  if (self != NULL) *self = this_arg;
  return (tap_t *)data;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* The poll watcher and the transmit queue. */

static void on_poll(uv_poll_t *handle, int status, int events);

static void on_poll_closed(uv_handle_t *handle) {
  free(handle);
}

/* Starts, changes or stops the watcher to match what we wait for: readable while reading, writable while
   frames are queued. A stopped uv_poll_t does not keep the loop alive. */
static void update_poll(tap_t *t) {
  if (t->poll == NULL || t->is_failed) return;
  int want = (t->is_reading ? UV_READABLE : 0) | (t->txq_count > 0 ? UV_WRITABLE : 0);
  if (want == t->poll_events) return;
  if (want == 0) {
    uv_poll_stop(t->poll);
  } else if (uv_poll_start(t->poll, want, on_poll) != 0) {
    t->rx_errors++;
    want = 0;
  }
  t->poll_events = want;
}

static void txq_pop(tap_t *t) {
  txq_slot_t *slot = &t->txq[t->txq_head];
  t->txq_bytes -= slot->length;
  free(slot->data);
  slot->data = NULL;
  t->txq_head = (t->txq_head + 1) % TXQ_MAX_FRAMES;
  t->txq_count--;
}

/* Frames still queued at close are dropped (and counted). */
static void txq_clear(tap_t *t) {
  while (t->txq_count > 0) {
    txq_pop(t);
    t->tx_dropped++;
  }
  free(t->txq);
  t->txq = NULL;
}

static int txq_push(tap_t *t, const uint8_t *frame, uint32_t length) {
  if (t->txq_count == TXQ_MAX_FRAMES || t->txq_bytes + length > TXQ_MAX_BYTES) {
    t->tx_dropped++;
    return -1;
  }
  if (t->txq == NULL) t->txq = calloc(TXQ_MAX_FRAMES, sizeof *t->txq);
  uint8_t *copy = t->txq != NULL ? malloc(length > 0 ? length : 1) : NULL;
  if (copy == NULL) {
    t->tx_dropped++;
    return -1;
  }
  memcpy(copy, frame, length);
  txq_slot_t *slot = &t->txq[(t->txq_head + t->txq_count) % TXQ_MAX_FRAMES];
  slot->data = copy;
  slot->length = length;
  t->txq_count++;
  t->txq_bytes += length;
  t->tx_queued++;
  update_poll(t);
  return 0;
}

static bool is_transient(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

/* One frame: 1 sent, 0 queued for POLLOUT, -1 dropped (closed, queue full, or the kernel rejected it). A TAP
   write() takes the whole frame or fails; the queue keeps frame order, so nothing overtakes queued frames. */
static int tap_send(tap_t *t, const uint8_t *frame, uint32_t length) {
  if (t->is_closed) {
    t->tx_dropped++;
    return -1;
  }
  if (t->txq_count == 0) {
    for (;;) {
      ssize_t n = write(t->fd, frame, length);
      if (n >= 0) {
        t->tx_frames++;
        return 1;
      }
      if (errno == EINTR) continue;
      if (is_transient(errno)) break;
      t->tx_errors++;
      return -1;
    }
  }
  return txq_push(t, frame, length);
}

static void flush_txq(tap_t *t) {
  while (t->txq_count > 0) {
    txq_slot_t *slot = &t->txq[t->txq_head];
    ssize_t n = write(t->fd, slot->data, slot->length);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (is_transient(errno)) return;
      t->tx_errors++;
    } else {
      t->tx_frames++;
    }
    txq_pop(t);
  }
}

/* Drops what pins the reading session. Inside onBatch the async context is still in use by
   napi_make_callback, so its destruction waits until the call returns. */
static void stop_reading(tap_t *t, bool may_call_napi) {
  if (!t->is_reading) return;
  t->is_reading = false;
  if (may_call_napi) {
    napi_env env = t->env;
    napi_delete_reference(env, t->slab_ref);
    napi_delete_reference(env, t->lengths_ref);
    napi_delete_reference(env, t->on_batch_ref);
    napi_delete_reference(env, t->self_ref);
    if (t->async_ctx != NULL) {
      if (t->async_ctx == t->ctx_in_call) t->is_ctx_destroy_pending = true;
      else napi_async_destroy(env, t->async_ctx);
    }
  }
  t->slab_ref = t->lengths_ref = t->on_batch_ref = t->self_ref = NULL;
  t->async_ctx = NULL;
  update_poll(t);
}

/* Stops the watcher and closes the fd. Idempotent. Without napi (env teardown) the refs are left to Node. */
static void tap_close(tap_t *t, bool may_call_napi) {
  if (t->is_closed) return;
  stop_reading(t, may_call_napi);
  t->is_closed = true;
  if (t->poll != NULL) {
    t->poll->data = NULL;
    /* uv_close stops the watcher (epoll DEL) before we close the fd, as libuv requires. */
    uv_close((uv_handle_t *)t->poll, on_poll_closed);
    t->poll = NULL;
  }
  t->poll_events = 0;
  if (t->fd >= 0) {
    close(t->fd);
    t->fd = -1;
  }
  txq_clear(t);
}

/* Reads up to max_batch frames into the slab, then one onBatch(count). Must be called from the loop. */
static void read_batch(tap_t *t) {
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value self, slab, lengths, on_batch;
  void *slab_data = NULL, *lengths_data = NULL;
  size_t slab_bytes = 0, lengths_count = 0;
  if (napi_get_reference_value(env, t->self_ref, &self) != napi_ok ||
      napi_get_reference_value(env, t->slab_ref, &slab) != napi_ok ||
      napi_get_reference_value(env, t->lengths_ref, &lengths) != napi_ok ||
      napi_get_reference_value(env, t->on_batch_ref, &on_batch) != napi_ok) {
    goto out;
  }
  /* Re-read the pointers every batch: a detached (transferred) slab must stop reading, not be written. */
  if (!get_typed(env, slab, napi_uint8_array, &slab_data, &slab_bytes) ||
      !get_typed(env, lengths, napi_uint32_array, &lengths_data, &lengths_count) ||
      slab_bytes < (size_t)t->stride * t->max_batch || lengths_count < t->max_batch) {
    t->rx_errors++;
    stop_reading(t, true);
    goto out;
  }
  uint8_t *base = slab_data;
  uint32_t *frame_lengths = lengths_data;
  uint32_t count = 0;
  while (count < t->max_batch) {
    ssize_t n = read(t->fd, base + (size_t)count * t->stride, t->stride);
    if (n >= 0) {
      /* The kernel returns the whole frame's length even when it copied only `stride` bytes: drop those. */
      if ((size_t)n > t->stride) {
        t->rx_errors++;
        continue;
      }
      frame_lengths[count++] = (uint32_t)n;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    t->rx_errors++;
    /* EBADFD: the interface was deleted (its namespace went away). Polling it again would spin. */
    if (errno == EBADFD || errno == EIO || errno == ENXIO || errno == ENODEV) {
      t->is_failed = true;
      if (t->poll != NULL) uv_poll_stop(t->poll);
      t->poll_events = 0;
    }
    break;
  }
  if (count > 0) {
    t->rx_frames += count;
    t->rx_batches++;
    napi_value argv[1], result;
    napi_create_uint32(env, count, &argv[0]);
    napi_async_context ctx = t->async_ctx;
    t->ctx_in_call = ctx;
    /* The receiver must be an object (undefined is a fatal TypeError): the handle itself. */
    napi_status status = napi_make_callback(env, ctx, self, on_batch, 1, argv, &result);
    t->ctx_in_call = NULL;
    if (t->is_ctx_destroy_pending) {
      t->is_ctx_destroy_pending = false;
      napi_async_destroy(env, ctx);
    }
    if (status != napi_ok) {
      /* onBatch threw: we are not under any JS frame, so report it as uncaught (process 'uncaughtException'). */
      bool is_pending = false;
      napi_value exception;
      if (napi_is_exception_pending(env, &is_pending) == napi_ok && is_pending &&
          napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
        napi_fatal_exception(env, exception);
      }
    }
  }
out:
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  tap_t *t = handle->data;
  if (t == NULL || t->is_closed) return;
  if (status < 0) {
    /* libuv has already stopped the watcher (POLLERR): the interface was deleted under us. */
    t->is_failed = true;
    t->poll_events = 0;
    t->rx_errors++;
    return;
  }
  if (events & UV_WRITABLE) flush_txq(t);
  if ((events & UV_READABLE) && t->is_reading) {
    read_batch(t);
    if (t->is_free_pending) { /* the finalizer ran during onBatch and left the freeing to us */
      free(t);
      return;
    }
  }
  if (!t->is_closed) update_poll(t); /* level-triggered: a batch cut at max_batch resumes next iteration */
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Lifetime: close() is the normal end; the finalizer and the env cleanup hook catch the rest. */

static void on_env_teardown(void *arg) {
  tap_t *t = arg;
  t->is_hook_registered = false;
  tap_close(t, false); /* napi is going away; close the fd and the watcher only */
}

static void tap_finalize(napi_env env, void *data, void *hint) {
  tap_t *t = data;
  tap_close(t, true);
  if (t->is_hook_registered) {
    napi_remove_env_cleanup_hook(env, on_env_teardown, t);
    t->is_hook_registered = false;
  }
  if (t->ctx_in_call != NULL) t->is_free_pending = true;
  else free(t);
}

/* ---------------------------------------------------------------------------------------------------------- */
/* JS methods. */

/* new TapHandle(name: string, options: { vnetHdr: boolean }) — exported also as open(name, options). */
static napi_value tap_constructor(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;

  char name[IFNAMSIZ] = {0};
  size_t name_len = 0;
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type != napi_string) {
    napi_throw_type_error(env, NULL, "open(name, options): name must be a string (\"\" lets the kernel pick)");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &name_len) != napi_ok) return NULL;
  if (name_len >= IFNAMSIZ) {
    char message[256];
    char shown[48];
    size_t shown_len = 0;
    napi_get_value_string_utf8(env, argv[0], shown, sizeof shown, &shown_len);
    snprintf(message, sizeof message,
             "TAP name '%s%s' is %zu bytes long: Linux interface names are at most %d bytes: pick a shorter --tap "
             "name",
             shown, name_len >= sizeof shown ? "…" : "", name_len, IFNAMSIZ - 1);
    return throw_errno(env, EINVAL, NULL, message);
  }
  napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len);
  /* The kernel's dev_valid_name(): say why here rather than relay a bare EINVAL. */
  bool is_valid = strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && strlen(name) == name_len;
  for (size_t i = 0; i < name_len && is_valid; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) is_valid = false;
  }
  if (!is_valid) {
    char message[256];
    snprintf(message, sizeof message,
             "TAP name '%s' is not a valid interface name (no '/', ':', spaces or control characters, not '.' or "
             "'..'): pick another --tap name",
             name);
    return throw_errno(env, EINVAL, NULL, message);
  }

  bool has_vnet_hdr = false;
  if (argc >= 2) {
    napi_typeof(env, argv[1], &type);
    if (type == napi_object) {
      napi_value v;
      if (napi_get_named_property(env, argv[1], "vnetHdr", &v) != napi_ok) return NULL;
      napi_typeof(env, v, &type);
      if (type == napi_boolean) {
        napi_get_value_bool(env, v, &has_vnet_hdr);
      } else if (type != napi_undefined) {
        napi_throw_type_error(env, NULL, "open(name, options): options.vnetHdr must be a boolean");
        return NULL;
      }
    } else if (type != napi_undefined) {
      napi_throw_type_error(env, NULL, "open(name, options): options must be an object");
      return NULL;
    }
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_open_error(env, errno, "open", name);

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (has_vnet_hdr ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, name_len); /* "" → the kernel picks tap%d; an existing persistent TAP is attached */
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_open_error(env, err, "ioctl(TUNSETIFF)", name);
  }
  char real_name[IFNAMSIZ];
  memcpy(real_name, ifr.ifr_name, IFNAMSIZ);
  real_name[IFNAMSIZ - 1] = '\0';

  if (has_vnet_hdr) {
    int hdr_bytes = VNET_HDR_BYTES;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_bytes) < 0) {
      int err = errno;
      close(fd);
      return throw_open_error(env, err, "ioctl(TUNSETVNETHDRSZ)", real_name);
    }
  }
  /* Always explicit: offloads stay set on a persistent TAP, and a reader without the vnet header would then
     get truncated 64 KiB super-frames. */
  /* Checksum and TCPv4 segmentation: the stack has no IPv6, so TSO6 super-frames would only be dropped. */
  unsigned int offloads = has_vnet_hdr ? (TUN_F_CSUM | TUN_F_TSO4) : 0;
  if (ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
    int err = errno;
    close(fd);
    return throw_open_error(env, err, "ioctl(TUNSETOFFLOAD)", real_name);
  }

  tap_t *t = calloc(1, sizeof *t);
  uv_poll_t *poll = malloc(sizeof *poll);
  uv_loop_t *loop = NULL;
  int uv_status = UV_ENOMEM;
  if (t != NULL && poll != NULL && napi_get_uv_event_loop(env, &loop) == napi_ok)
    uv_status = uv_poll_init(loop, poll, fd);
  if (uv_status != 0) {
    free(t);
    free(poll);
    close(fd);
    return throw_errno(env, -uv_status, "uv_poll_init", "TAP: could not set up the event-loop watcher");
  }
  t->env = env;
  t->fd = fd;
  t->has_vnet_hdr = has_vnet_hdr;
  t->poll = poll;
  poll->data = t;
  memcpy(t->name, real_name, IFNAMSIZ);

  if (napi_wrap(env, self, t, tap_finalize, NULL, NULL) != napi_ok) {
    tap_close(t, false);
    free(t);
    napi_throw_error(env, NULL, "TAP: napi_wrap failed");
    return NULL;
  }
  if (napi_add_env_cleanup_hook(env, on_env_teardown, t) == napi_ok) t->is_hook_registered = true;

  napi_value name_value, vnet_value;
  napi_create_string_utf8(env, real_name, NAPI_AUTO_LENGTH, &name_value);
  napi_get_boolean(env, has_vnet_hdr, &vnet_value);
  napi_property_descriptor props[] = {
      {"name", NULL, NULL, NULL, NULL, name_value, napi_enumerable, NULL},
      {"vnetHdr", NULL, NULL, NULL, NULL, vnet_value, napi_enumerable, NULL},
  };
  napi_define_properties(env, self, sizeof props / sizeof props[0], props);
  return self;
}

/* startReading(slab: Uint8Array, lengths: Uint32Array, stride, maxBatch, onBatch(count)) */
static napi_value m_start_reading(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], self;
  tap_t *t = unwrap_this(env, info, &argc, argv, &self);
  if (t == NULL) return NULL;
  if (t->is_closed) return throw_closed(env, "startReading");
  void *slab_data, *lengths_data;
  size_t slab_bytes, lengths_count;
  uint32_t stride, max_batch;
  napi_valuetype type = napi_undefined;
  if (argc < 5 || !get_typed(env, argv[0], napi_uint8_array, &slab_data, &slab_bytes) ||
      !get_typed(env, argv[1], napi_uint32_array, &lengths_data, &lengths_count) || !get_u32(env, argv[2], &stride) ||
      !get_u32(env, argv[3], &max_batch) || napi_typeof(env, argv[4], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL,
                          "startReading(slab: Uint8Array, lengths: Uint32Array, stride: number, maxBatch: number, "
                          "onBatch: (count) => void)");
    return NULL;
  }
  if (stride < MIN_STRIDE || max_batch == 0 || (uint64_t)stride * max_batch > slab_bytes ||
      lengths_count < max_batch) {
    napi_throw_range_error(env, NULL,
                           "startReading: need stride >= 64, maxBatch >= 1, slab.length >= stride * maxBatch and "
                           "lengths.length >= maxBatch");
    return NULL;
  }
  stop_reading(t, true);
  napi_value resource, resource_name;
  if (napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "walnut:TapRead", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, resource, resource_name, &t->async_ctx) != napi_ok) {
    t->async_ctx = NULL;
    return NULL;
  }
  napi_create_reference(env, argv[0], 1, &t->slab_ref);
  napi_create_reference(env, argv[1], 1, &t->lengths_ref);
  napi_create_reference(env, argv[4], 1, &t->on_batch_ref);
  napi_create_reference(env, self, 1, &t->self_ref);
  t->stride = stride;
  t->max_batch = max_batch;
  t->is_reading = true;
  update_poll(t);
  return NULL;
}

static napi_value m_stop_reading(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap_this(env, info, &argc, NULL, NULL);
  if (t != NULL) stop_reading(t, true);
  return NULL;
}

/* write(buf: Uint8Array, offset, length): 1 sent, 0 queued, -1 dropped */
static napi_value m_write(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  tap_t *t = unwrap_this(env, info, &argc, argv, NULL);
  if (t == NULL) return NULL;
  void *data;
  size_t bytes;
  uint32_t offset, length;
  if (argc < 3 || !get_typed(env, argv[0], napi_uint8_array, &data, &bytes) || !get_u32(env, argv[1], &offset) ||
      !get_u32(env, argv[2], &length)) {
    napi_throw_type_error(env, NULL, "write(buf: Uint8Array, offset: number, length: number)");
    return NULL;
  }
  if ((uint64_t)offset + length > bytes) {
    napi_throw_range_error(env, NULL, "write: offset + length is past the end of buf");
    return NULL;
  }
  napi_create_int32(env, tap_send(t, (const uint8_t *)data + offset, length), &result);
  return result;
}

static void set_count(napi_env env, napi_value obj, const char *key, uint64_t value) {
  napi_value v;
  if (napi_create_double(env, (double)value, &v) == napi_ok) napi_set_named_property(env, obj, key, v);
}

static napi_value m_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap_this(env, info, &argc, NULL, NULL);
  if (t == NULL) return NULL;
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  set_count(env, obj, "rxFrames", t->rx_frames);
  set_count(env, obj, "rxBatches", t->rx_batches);
  set_count(env, obj, "rxErrors", t->rx_errors);
  set_count(env, obj, "txFrames", t->tx_frames);
  set_count(env, obj, "txQueued", t->tx_queued);
  set_count(env, obj, "txDropped", t->tx_dropped);
  set_count(env, obj, "txErrors", t->tx_errors);
  return obj;
}

static napi_value m_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap_this(env, info, &argc, NULL, NULL);
  if (t != NULL) tap_close(t, true);
  return NULL;
}

/* open(name, options) === new TapHandle(name, options) */
static napi_value f_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], ctor, instance;
  napi_ref *ctor_ref = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (napi_get_instance_data(env, (void **)&ctor_ref) != napi_ok || ctor_ref == NULL ||
      napi_get_reference_value(env, *ctor_ref, &ctor) != napi_ok) {
    napi_throw_error(env, NULL, "walnut_tap: module not initialised");
    return NULL;
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  for (size_t i = argc; i < 2; i++) argv[i] = undefined;
  if (napi_new_instance(env, ctor, 2, argv, &instance) != napi_ok) return NULL;
  return instance;
}

static void free_instance_data(napi_env env, void *data, void *hint) {
  napi_ref *ctor_ref = data;
  napi_delete_reference(env, *ctor_ref);
  free(ctor_ref);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"startReading", NULL, m_start_reading, NULL, NULL, NULL, napi_default_method, NULL},
      {"stopReading", NULL, m_stop_reading, NULL, NULL, NULL, napi_default_method, NULL},
      {"write", NULL, m_write, NULL, NULL, NULL, napi_default_method, NULL},
      {"stats", NULL, m_stats, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, m_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value ctor, open_fn;
  if (napi_define_class(env, "TapHandle", NAPI_AUTO_LENGTH, tap_constructor, NULL,
                        sizeof methods / sizeof methods[0], methods, &ctor) != napi_ok)
    return NULL;
  napi_ref *ctor_ref = malloc(sizeof *ctor_ref);
  if (ctor_ref == NULL || napi_create_reference(env, ctor, 1, ctor_ref) != napi_ok) {
    free(ctor_ref);
    return NULL;
  }
  napi_set_instance_data(env, ctor_ref, free_instance_data, NULL);
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, f_open, NULL, &open_fn);
  napi_value vnet_bytes;
  napi_create_uint32(env, VNET_HDR_BYTES, &vnet_bytes);
  napi_property_descriptor exports_props[] = {
      {"TapHandle", NULL, NULL, NULL, NULL, ctor, napi_enumerable, NULL},
      {"open", NULL, NULL, NULL, NULL, open_fn, napi_enumerable, NULL},
      {"VNET_HDR_BYTES", NULL, NULL, NULL, NULL, vnet_bytes, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof exports_props / sizeof exports_props[0], exports_props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
