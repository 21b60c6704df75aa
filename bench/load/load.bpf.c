// The load benchmark's object: libbpf-style CO-RE (vmlinux.h from the 6.1 kernel, libbpf's headers),
// six programs of the kinds this host attaches (tracepoints, tp_btf, raw tracepoint) and eight maps.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 min_pid = 0;
__u64 events_dropped = 0;

struct exec_event {
	__u32 pid;
	__u32 ppid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[16]);
	__type(value, __u64);
} opens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} read_sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} switches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wakeups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} parents SEC(".maps");

static __always_inline void bump(void *map, __u32 key)
{
	__u64 *slot = bpf_map_lookup_elem(map, &key);

	if (slot)
		__sync_fetch_and_add(slot, 1);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int count_opens(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	char comm[16] = {};
	__u64 one = 1, *count;

	BPF_CORE_READ_STR_INTO(&comm, task, comm);
	count = bpf_map_lookup_elem(&opens, &comm);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&opens, &comm, &one, BPF_NOEXIST);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int read_size(struct trace_event_raw_sys_exit *ctx)
{
	long ret = BPF_CORE_READ(ctx, ret);
	__u32 bucket = 0;

	while (ret > 0 && bucket < 63) {
		ret >>= 1;
		bucket++;
	}
	bump(&read_sizes, bucket);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *e;
	__u32 pid = BPF_CORE_READ(task, tgid);

	if (pid < min_pid)
		return 0;
	e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&events_dropped, 1);
		return 0;
	}
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	bump(&switches, 0);
	return 0;
}

SEC("raw_tracepoint/sched_wakeup")
int on_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	bump(&wakeups, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int note_parent(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 pid = BPF_CORE_READ(task, tgid);
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);

	bpf_map_update_elem(&parents, &pid, &ppid, BPF_ANY);
	return 0;
}
