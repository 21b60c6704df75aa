// The system calls load-kp-bpf needs and nothing else: check arguments, make one call, throw errno.
// Streaming lives here only where memory ordering or waiting demands it: mmap'd ring reads with
// acquire/release, fd readiness on the event loop, and writes that never block.
#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <map>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <uv.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

Napi::TypeError ArgError(Napi::Env env, const char* fn, const char* what) {
  return Napi::TypeError::New(env, std::string(fn) + ": " + what);
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what, int64_t min, int64_t max) {
  if (i >= info.Length() || !info[i].IsNumber()) throw ArgError(info.Env(), fn, what);
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    throw ArgError(info.Env(), fn, what);
  }
  return static_cast<int64_t>(d);
}

Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
  if (i >= info.Length() || !info[i].IsBuffer()) throw ArgError(info.Env(), fn, what);
  return info[i].As<Napi::Buffer<uint8_t>>();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
  if (i >= info.Length() || !info[i].IsString()) throw ArgError(info.Env(), fn, what);
  return info[i].As<Napi::String>().Utf8Value();
}

// Kernel attribute structs carry user pointers as __u64; JavaScript cannot know a Buffer's
// address, so the caller names the 8-byte fields to fill: [[offset, buffer], ...] in the
// attribute buffer itself, or [offset, buffer, container] in another buffer the attribute
// points to (an info struct's own pointer fields).
void FillPointers(const Napi::CallbackInfo& info, size_t i, const char* fn, Napi::Buffer<uint8_t> attr) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError(info.Env(), fn, "pointers must be an array of [offset, Buffer(, container)]");
  Napi::Array pointers = info[i].As<Napi::Array>();
  for (uint32_t p = 0; p < pointers.Length(); p++) {
    Napi::Value entry = pointers.Get(p);
    uint32_t length = entry.IsArray() ? entry.As<Napi::Array>().Length() : 0;
    if (length != 2 && length != 3) throw ArgError(info.Env(), fn, "pointer entry must be [offset, Buffer] or [offset, Buffer, container]");
    Napi::Array fields = entry.As<Napi::Array>();
    Napi::Value offsetValue = fields.Get(uint32_t{0});
    Napi::Value target = fields.Get(uint32_t{1});
    if (!offsetValue.IsNumber() || !target.IsBuffer()) throw ArgError(info.Env(), fn, "pointer entry must be [offset, Buffer(, container)]");
    Napi::Buffer<uint8_t> container = attr;
    if (length == 3) {
      Napi::Value c = fields.Get(uint32_t{2});
      if (!c.IsBuffer()) throw ArgError(info.Env(), fn, "pointer container must be a Buffer");
      container = c.As<Napi::Buffer<uint8_t>>();
    }
    double offset = offsetValue.As<Napi::Number>().DoubleValue();
    if (offset < 0 || offset != static_cast<double>(static_cast<uint32_t>(offset)) || offset + 8 > container.Length() ||
        static_cast<uint32_t>(offset) % 8 != 0) {
      throw ArgError(info.Env(), fn, "pointer offset outside its container or not 8-byte aligned");
    }
    uint64_t address = reinterpret_cast<uintptr_t>(target.As<Napi::Buffer<uint8_t>>().Data());
    std::memcpy(container.Data() + static_cast<uint32_t>(offset), &address, sizeof address);
  }
}

// bpf(cmd, attr, pointers) -> the syscall's non-negative result (an fd or 0).
Napi::Value Bpf(const Napi::CallbackInfo& info) {
  int cmd = static_cast<int>(IntArg(info, 0, "bpf", "cmd must be a non-negative integer", 0, INT32_MAX));
  Napi::Buffer<uint8_t> attr = BufferArg(info, 1, "bpf", "attr must be a Buffer");
  FillPointers(info, 2, "bpf", attr);
  long result = syscall(__NR_bpf, cmd, attr.Data(), attr.Length());
  if (result < 0) throw ErrnoError(info.Env(), errno, "bpf");
  return Napi::Number::New(info.Env(), static_cast<double>(result));
}

// perfEventOpen(attr, pointers, pid, cpu, groupFd, flags) -> fd.
Napi::Value PerfEventOpen(const Napi::CallbackInfo& info) {
  Napi::Buffer<uint8_t> attr = BufferArg(info, 0, "perfEventOpen", "attr must be a Buffer");
  FillPointers(info, 1, "perfEventOpen", attr);
  int pid = static_cast<int>(IntArg(info, 2, "perfEventOpen", "pid must be an integer", -1, INT32_MAX));
  int cpu = static_cast<int>(IntArg(info, 3, "perfEventOpen", "cpu must be an integer", -1, INT32_MAX));
  int groupFd = static_cast<int>(IntArg(info, 4, "perfEventOpen", "groupFd must be an integer", -1, INT32_MAX));
  unsigned long flags = static_cast<unsigned long>(IntArg(info, 5, "perfEventOpen", "flags must be an integer", 0, UINT32_MAX));
  long fd = syscall(__NR_perf_event_open, attr.Data(), pid, cpu, groupFd, flags);
  if (fd < 0) throw ErrnoError(info.Env(), errno, "perf_event_open");
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
}

// ioctl(fd, request, arg) with an integer argument -> the call's result.
Napi::Value Ioctl(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntArg(info, 0, "ioctl", "fd must be a non-negative integer", 0, INT32_MAX));
  unsigned long request = static_cast<unsigned long>(IntArg(info, 1, "ioctl", "request must be an integer", 0, UINT32_MAX));
  unsigned long arg = static_cast<unsigned long>(IntArg(info, 2, "ioctl", "arg must be a non-negative integer", 0, UINT32_MAX));
  int result = ioctl(fd, request, arg);
  if (result < 0) throw ErrnoError(info.Env(), errno, "ioctl");
  return Napi::Number::New(info.Env(), result);
}

// close(fd).
Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntArg(info, 0, "close", "fd must be a non-negative integer", 0, INT32_MAX));
  if (close(fd) < 0) throw ErrnoError(info.Env(), errno, "close");
  return info.Env().Undefined();
}

// dupFd(fd, min) -> a close-on-exec copy of fd numbered at least min.
Napi::Value DupFd(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntArg(info, 0, "dupFd", "fd must be a non-negative integer", 0, INT32_MAX));
  int min = static_cast<int>(IntArg(info, 1, "dupFd", "min must be a non-negative integer", 0, INT32_MAX));
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, min);
  if (copy < 0) throw ErrnoError(info.Env(), errno, "fcntl");
  return Napi::Number::New(info.Env(), copy);
}

// pageSize() -> the system's page size (mmap offsets and ring sizes are in pages).
Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sysconf(_SC_PAGESIZE)));
}

// getrlimit(resource) -> [soft, hard]; RLIM_INFINITY is -1.
Napi::Value GetRlimit(const Napi::CallbackInfo& info) {
  int resource = static_cast<int>(IntArg(info, 0, "getrlimit", "resource must be a non-negative integer", 0, 64));
  struct rlimit limit;
  if (getrlimit(resource, &limit) < 0) throw ErrnoError(info.Env(), errno, "getrlimit");
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  auto value = [&](rlim_t v) { return Napi::Number::New(info.Env(), v == RLIM_INFINITY ? -1.0 : static_cast<double>(v)); };
  result.Set(uint32_t{0}, value(limit.rlim_cur));
  result.Set(uint32_t{1}, value(limit.rlim_max));
  return result;
}

// setrlimit(resource, soft, hard); -1 is RLIM_INFINITY.
Napi::Value SetRlimit(const Napi::CallbackInfo& info) {
  int resource = static_cast<int>(IntArg(info, 0, "setrlimit", "resource must be a non-negative integer", 0, 64));
  int64_t soft = IntArg(info, 1, "setrlimit", "soft must be an integer, -1 for unlimited", -1, INT64_MAX);
  int64_t hard = IntArg(info, 2, "setrlimit", "hard must be an integer, -1 for unlimited", -1, INT64_MAX);
  struct rlimit limit;
  limit.rlim_cur = soft < 0 ? RLIM_INFINITY : static_cast<rlim_t>(soft);
  limit.rlim_max = hard < 0 ? RLIM_INFINITY : static_cast<rlim_t>(hard);
  if (setrlimit(resource, &limit) < 0) throw ErrnoError(info.Env(), errno, "setrlimit");
  return info.Env().Undefined();
}

// mount(source, target, fstype): used for bpffs and tracefs, which take no options.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string source = StringArg(info, 0, "mount", "source must be a string");
  std::string target = StringArg(info, 1, "mount", "target must be a string");
  std::string fstype = StringArg(info, 2, "mount", "fstype must be a string");
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), 0, nullptr) < 0) throw ErrnoError(info.Env(), errno, "mount");
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// Memory maps of perf and BPF ring buffers, as external ArrayBuffers.

struct Mapping {
  void* address;
  size_t length;
  bool mapped;
};
// A tree, not a hash table: a hash table's bucket arrays call libstdc++'s GLIBCXX_3.4.29, newer
// than the prebuilt addons may need (scripts/prebuild.sh).
std::map<void*, Mapping*> mappings;

void FinalizeMapping(Napi::Env, void*, Mapping* mapping) {
  if (mapping->mapped) munmap(mapping->address, mapping->length);
  mappings.erase(mapping->address);
  delete mapping;
}

// mmap(fd, length, offset, writable) -> ArrayBuffer over the shared mapping.
Napi::Value Mmap(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntArg(info, 0, "mmap", "fd must be a non-negative integer", 0, INT32_MAX));
  size_t length = static_cast<size_t>(IntArg(info, 1, "mmap", "length must be a positive integer", 1, INT64_MAX));
  off_t offset = static_cast<off_t>(IntArg(info, 2, "mmap", "offset must be a non-negative integer", 0, INT64_MAX));
  if (info.Length() < 4 || !info[3].IsBoolean()) throw ArgError(info.Env(), "mmap", "writable must be a boolean");
  int prot = PROT_READ | (info[3].As<Napi::Boolean>().Value() ? PROT_WRITE : 0);
  void* address = mmap(nullptr, length, prot, MAP_SHARED, fd, offset);
  if (address == MAP_FAILED) throw ErrnoError(info.Env(), errno, "mmap");
  Mapping* mapping = new Mapping{address, length, true};
  mappings[address] = mapping;
  return Napi::ArrayBuffer::New(info.Env(), address, length, FinalizeMapping, mapping);
}

// munmap(arrayBuffer): unmaps a buffer from mmap() and detaches it, so no access outlives the mapping.
Napi::Value Munmap(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw ArgError(info.Env(), "munmap", "argument must be an ArrayBuffer from mmap");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.IsDetached()) return info.Env().Undefined();
  auto found = mappings.find(buffer.Data());
  if (found == mappings.end() || !found->second->mapped) throw ArgError(info.Env(), "munmap", "argument must be an ArrayBuffer from mmap");
  Mapping* mapping = found->second;
  if (munmap(mapping->address, mapping->length) < 0) throw ErrnoError(info.Env(), errno, "munmap");
  mapping->mapped = false;
  buffer.Detach();
  return info.Env().Undefined();
}

Napi::ArrayBuffer MappedArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (i >= info.Length() || !info[i].IsArrayBuffer()) throw ArgError(info.Env(), fn, "expected an ArrayBuffer from mmap");
  Napi::ArrayBuffer buffer = info[i].As<Napi::ArrayBuffer>();
  if (buffer.IsDetached()) throw ArgError(info.Env(), fn, "the mapping was unmapped");
  return buffer;
}

// perfRingRead(mapping, headOffset, tailOffset, dataOffset, dataSize, out) -> bytes copied.
// Copies whole records (struct perf_event_header + body) from the ring of a perf event mmap into
// out, in order, unwrapping them; reads data_head with acquire and stores data_tail with release,
// as the perf ABI requires. Returns minus a record's size when out cannot hold even that one.
Napi::Value PerfRingRead(const Napi::CallbackInfo& info) {
  const char* fn = "perfRingRead";
  Napi::ArrayBuffer mapping = MappedArg(info, 0, fn);
  size_t headOffset = static_cast<size_t>(IntArg(info, 1, fn, "headOffset", 0, INT32_MAX));
  size_t tailOffset = static_cast<size_t>(IntArg(info, 2, fn, "tailOffset", 0, INT32_MAX));
  size_t dataOffset = static_cast<size_t>(IntArg(info, 3, fn, "dataOffset", 0, INT64_MAX));
  uint64_t dataSize = static_cast<uint64_t>(IntArg(info, 4, fn, "dataSize", 1, INT64_MAX));
  Napi::Buffer<uint8_t> out = BufferArg(info, 5, fn, "out must be a Buffer");
  if ((dataSize & (dataSize - 1)) != 0 || dataOffset + dataSize > mapping.ByteLength() || headOffset + 8 > dataOffset || tailOffset + 8 > dataOffset) {
    throw ArgError(info.Env(), fn, "the ring's layout does not fit the mapping");
  }
  uint8_t* base = static_cast<uint8_t*>(mapping.Data());
  uint64_t* headPtr = reinterpret_cast<uint64_t*>(base + headOffset);
  uint64_t* tailPtr = reinterpret_cast<uint64_t*>(base + tailOffset);
  const uint8_t* data = base + dataOffset;
  uint64_t head = __atomic_load_n(headPtr, __ATOMIC_ACQUIRE);
  uint64_t tail = __atomic_load_n(tailPtr, __ATOMIC_RELAXED);
  uint8_t* dst = out.Data();
  size_t capacity = out.Length();
  size_t copied = 0;
  auto copyOut = [&](uint64_t from, size_t n, uint8_t* to) {
    size_t at = static_cast<size_t>(from & (dataSize - 1));
    size_t first = std::min(n, static_cast<size_t>(dataSize - at));
    std::memcpy(to, data + at, first);
    if (first < n) std::memcpy(to + first, data, n - first);
  };
  double result = 0;
  while (tail < head) {
    uint8_t header[8];
    copyOut(tail, 8, header);
    uint16_t size;
    std::memcpy(&size, header + 6, sizeof size);
    if (size < 8 || size > head - tail) break;  // a torn record: stop, the rest comes next time
    if (copied + size > capacity) {
      if (copied == 0) result = -static_cast<double>(size);
      break;
    }
    copyOut(tail, size, dst + copied);
    copied += size;
    tail += size;
  }
  __atomic_store_n(tailPtr, tail, __ATOMIC_RELEASE);
  return Napi::Number::New(info.Env(), result < 0 ? result : static_cast<double>(copied));
}

// ringbufRead(consumer, producer, dataOffset, dataSize, out, headerSize, busyBit, discardBit)
//   -> [bytes copied, records discarded].
// Reads committed records of a BPF ring buffer in order: producer_pos and each length word with
// acquire, consumer_pos with release after each record, as the kernel's ring buffer ABI requires.
// Stops at a record still being written (busy bit). Skips discarded ones. Each record goes to out
// as a u32 length, 4 bytes of padding and the data padded to 8 bytes. The data area is mapped
// twice in a row by the kernel, so a record is contiguous even where it wraps.
Napi::Value RingbufRead(const Napi::CallbackInfo& info) {
  const char* fn = "ringbufRead";
  Napi::ArrayBuffer consumer = MappedArg(info, 0, fn);
  Napi::ArrayBuffer producer = MappedArg(info, 1, fn);
  size_t dataOffset = static_cast<size_t>(IntArg(info, 2, fn, "dataOffset", 8, INT64_MAX));
  uint64_t dataSize = static_cast<uint64_t>(IntArg(info, 3, fn, "dataSize", 1, INT64_MAX));
  Napi::Buffer<uint8_t> out = BufferArg(info, 4, fn, "out must be a Buffer");
  uint32_t headerSize = static_cast<uint32_t>(IntArg(info, 5, fn, "headerSize", 8, 64));
  uint32_t busyBit = static_cast<uint32_t>(IntArg(info, 6, fn, "busyBit", 1, UINT32_MAX));
  uint32_t discardBit = static_cast<uint32_t>(IntArg(info, 7, fn, "discardBit", 1, UINT32_MAX));
  if ((dataSize & (dataSize - 1)) != 0 || consumer.ByteLength() < 8 || dataOffset + 2 * dataSize > producer.ByteLength()) {
    throw ArgError(info.Env(), fn, "the ring's layout does not fit the mappings");
  }
  uint64_t* consumerPos = static_cast<uint64_t*>(consumer.Data());
  uint64_t* producerPos = static_cast<uint64_t*>(producer.Data());
  const uint8_t* data = static_cast<uint8_t*>(producer.Data()) + dataOffset;
  uint8_t* dst = out.Data();
  size_t capacity = out.Length();
  size_t copied = 0;
  double discarded = 0;
  uint64_t cons = __atomic_load_n(consumerPos, __ATOMIC_ACQUIRE);
  bool full = false;
  for (;;) {
    uint64_t prod = __atomic_load_n(producerPos, __ATOMIC_ACQUIRE);
    bool progress = false;
    while (cons < prod) {
      const uint32_t* lenPtr = reinterpret_cast<const uint32_t*>(data + (cons & (dataSize - 1)));
      uint32_t len = __atomic_load_n(lenPtr, __ATOMIC_ACQUIRE);
      if (len & busyBit) break;
      uint32_t size = len & ~(busyBit | discardBit);
      size_t recordBytes = (static_cast<size_t>(size) + headerSize + 7) & ~static_cast<size_t>(7);
      if (!(len & discardBit)) {
        size_t outBytes = 8 + ((static_cast<size_t>(size) + 7) & ~static_cast<size_t>(7));
        if (copied + outBytes > capacity) {
          full = true;
          break;
        }
        std::memcpy(dst + copied, &size, 4);
        std::memset(dst + copied + 4, 0, 4);
        std::memcpy(dst + copied + 8, reinterpret_cast<const uint8_t*>(lenPtr) + headerSize, size);
        copied += outBytes;
      } else {
        discarded++;
      }
      cons += recordBytes;
      __atomic_store_n(consumerPos, cons, __ATOMIC_RELEASE);
      progress = true;
    }
    if (full || !progress) break;
  }
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(uint32_t{0}, Napi::Number::New(info.Env(), static_cast<double>(copied)));
  result.Set(uint32_t{1}, Napi::Number::New(info.Env(), discarded));
  return result;
}

// ---------------------------------------------------------------------------------------------
// Readiness of an fd on Node's event loop (libuv poll), and writes that never block.

class FdWatch : public Napi::ObjectWrap<FdWatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatch", {InstanceMethod("stop", &FdWatch::Stop)});
  }

  // new FdWatch(fd, callback): calls callback() on the event loop whenever fd is readable.
  explicit FdWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatch>(info) {
    int fd = static_cast<int>(IntArg(info, 0, "FdWatch", "fd must be a non-negative integer", 0, INT32_MAX));
    if (info.Length() < 2 || !info[1].IsFunction()) throw ArgError(info.Env(), "FdWatch", "callback must be a function");
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(info.Env(), "FdWatch");
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(info.Env(), &loop);
    handle_ = new uv_poll_t;
    handle_->data = this;
    int err = uv_poll_init(loop, handle_, fd);
    if (err == 0) err = uv_poll_start(handle_, UV_READABLE, OnReady);
    if (err != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(handle_), OnClosed);
      handle_ = nullptr;
      throw ErrnoError(info.Env(), -err, "uv_poll");
    }
    Ref();  // alive while watching, even if JS drops it
  }

  ~FdWatch() override { StopWatching(); }

 private:
  static void OnReady(uv_poll_t* handle, int status, int) {
    FdWatch* self = static_cast<FdWatch*>(handle->data);
    if (self == nullptr) return;
    Napi::Env env = self->callback_.Env();
    Napi::HandleScope scope(env);
    Napi::Value error = status < 0 ? Napi::Number::New(env, -status) : env.Undefined();
    self->callback_.MakeCallback(env.Global(), {error}, *self->context_);
  }

  static void OnClosed(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

  void StopWatching() {
    if (handle_ == nullptr) return;
    uv_poll_stop(handle_);
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), OnClosed);
    handle_ = nullptr;
    Unref();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopWatching();
    return info.Env().Undefined();
  }

  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

// writeReady(fd, buffer, offset, length, chunk) -> bytes written.
// Writes while poll() says the fd takes data, at most `chunk` bytes at a time (PIPE_BUF for pipes,
// which then cannot block); returns at once when it does not. Never blocks on a stuck reader.
Napi::Value WriteReady(const Napi::CallbackInfo& info) {
  const char* fn = "writeReady";
  int fd = static_cast<int>(IntArg(info, 0, fn, "fd must be a non-negative integer", 0, INT32_MAX));
  Napi::Buffer<uint8_t> buffer = BufferArg(info, 1, fn, "buffer must be a Buffer");
  size_t offset = static_cast<size_t>(IntArg(info, 2, fn, "offset", 0, INT64_MAX));
  size_t length = static_cast<size_t>(IntArg(info, 3, fn, "length", 0, INT64_MAX));
  size_t chunk = static_cast<size_t>(IntArg(info, 4, fn, "chunk must be positive", 1, INT64_MAX));
  if (offset + length > buffer.Length()) throw ArgError(info.Env(), fn, "offset and length outside the buffer");
  size_t written = 0;
  while (written < length) {
    struct pollfd p = {fd, POLLOUT, 0};
    int ready = poll(&p, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw ErrnoError(info.Env(), errno, "poll");
    if (ready == 0) break;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
      if (written > 0) break;
      throw ErrnoError(info.Env(), (p.revents & POLLNVAL) ? EBADF : EPIPE, "write");
    }
    ssize_t n = write(fd, buffer.Data() + offset + written, std::min(chunk, length - written));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      if (written > 0) break;
      throw ErrnoError(info.Env(), errno, "write");
    }
    written += static_cast<size_t>(n);
  }
  return Napi::Number::New(info.Env(), static_cast<double>(written));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bpf", Napi::Function::New(env, Bpf, "bpf"));
  exports.Set("perfEventOpen", Napi::Function::New(env, PerfEventOpen, "perfEventOpen"));
  exports.Set("ioctl", Napi::Function::New(env, Ioctl, "ioctl"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("dupFd", Napi::Function::New(env, DupFd, "dupFd"));
  exports.Set("pageSize", Napi::Function::New(env, PageSize, "pageSize"));
  exports.Set("getrlimit", Napi::Function::New(env, GetRlimit, "getrlimit"));
  exports.Set("setrlimit", Napi::Function::New(env, SetRlimit, "setrlimit"));
  exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
  exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
  exports.Set("perfRingRead", Napi::Function::New(env, PerfRingRead, "perfRingRead"));
  exports.Set("ringbufRead", Napi::Function::New(env, RingbufRead, "ringbufRead"));
  exports.Set("FdWatch", FdWatch::Define(env));
  exports.Set("writeReady", Napi::Function::New(env, WriteReady, "writeReady"));
  return exports;
}

}  // namespace

NODE_API_MODULE(load_kp_bpf, Init)
