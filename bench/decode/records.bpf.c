// The decode benchmark's object, parsed for its BTF and never loaded: a ring buffer `events`, the two
// record structs its records are decoded as, and an opensnoop-like program (the parser wants one).
#include "bpf_defs.h"

#define TASK_COMM_LEN 16
#define NAME_MAX 255

/* 64 bytes: a time, ids, a result, a command and three counters. */
struct small_event {
	__u64 ts;
	__u32 pid;
	__u32 tid;
	int ret;
	__u32 flags;
	char comm[TASK_COMM_LEN];
	__u64 ino;
	__u64 offset;
	__u64 bytes;
};

/* 296 bytes: opensnoop's record without its callers, mostly the file name. */
struct open_event {
	__u64 ts;
	__u32 pid;
	__u32 uid;
	int ret;
	int flags;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Keep both structs in the BTF (a local variable's type is not in it), as the tools' objects do. */
struct small_event *unused_small __attribute__((unused));
struct open_event *unused_open __attribute__((unused));

static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user_str;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)BPF_FUNC_ktime_get_ns;

SEC("tracepoint/syscalls/sys_enter_openat")
int open_entry(struct syscall_enter_args *ctx)
{
	struct open_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = 0;
	e->ret = 0;
	e->flags = ctx->args[2];
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->fname, sizeof(e->fname), (void *)ctx->args[1]);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
