// The system calls load-kp-bpf needs and nothing else: check arguments, make one call, throw errno.
#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <fcntl.h>
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bpf", Napi::Function::New(env, Bpf, "bpf"));
  exports.Set("perfEventOpen", Napi::Function::New(env, PerfEventOpen, "perfEventOpen"));
  exports.Set("ioctl", Napi::Function::New(env, Ioctl, "ioctl"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("dupFd", Napi::Function::New(env, DupFd, "dupFd"));
  exports.Set("getrlimit", Napi::Function::New(env, GetRlimit, "getrlimit"));
  exports.Set("setrlimit", Napi::Function::New(env, SetRlimit, "setrlimit"));
  return exports;
}

}  // namespace

NODE_API_MODULE(load_kp_bpf, Init)
