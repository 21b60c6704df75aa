/* Definitions shared by the examples and test fixtures: tc's legacy map record, BTF map macros, helpers. */
#ifndef LOAD_KP_BPF_EXAMPLES_H
#define LOAD_KP_BPF_EXAMPLES_H

#include <linux/types.h>
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

/* iproute2 tc's struct bpf_elf_map: the record of the legacy "maps" section. */
struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

/* libbpf's BTF-defined map fields, for maps in SEC(".maps") (build with -g). */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define LIBBPF_PIN_BY_NAME 1

#define PIN_NONE      0 /* not pinned */
#define PIN_OBJECT_NS 1 /* /sys/fs/bpf/<name> */
#define PIN_GLOBAL_NS 2 /* /sys/fs/bpf/tc/globals/<name> */

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) =
	(void *)BPF_FUNC_map_update_elem;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)BPF_FUNC_probe_read_kernel;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)BPF_FUNC_get_current_comm;
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)BPF_FUNC_trace_printk;
static long (*bpf_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)BPF_FUNC_perf_event_output;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)BPF_FUNC_ringbuf_output;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)BPF_FUNC_ringbuf_reserve;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)BPF_FUNC_ringbuf_submit;
static void (*bpf_ringbuf_discard)(void *data, __u64 flags) = (void *)BPF_FUNC_ringbuf_discard;
static long (*bpf_tail_call)(void *ctx, void *prog_array_map, __u32 index) = (void *)BPF_FUNC_tail_call;
static __u64 (*bpf_get_attach_cookie)(void *ctx) = (void *)BPF_FUNC_get_attach_cookie;

/* The tracepoint context of syscalls/sys_enter_*: common fields, the syscall number, its arguments. */
struct syscall_enter_args {
	__u64 common;
	long nr;
	unsigned long args[6];
};

/* True when the current task's name is exactly `name` (at most 15 characters), to keep test
 * programs on system-wide tracepoints from counting other tasks. */
static __attribute__((always_inline)) inline int comm_is(const char *name, int len)
{
	char comm[16] = {};

	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < len; i++)
		if (comm[i] != name[i])
			return 0;
	return comm[len] == 0;
}

/* Adds one to the u64 counter stored under key, creating it if needed. */
static __attribute__((always_inline)) inline void count_key(void *map, const void *key)
{
	__u64 one = 1, *count = bpf_map_lookup_elem(map, key);

	if (count) {
		__sync_fetch_and_add(count, 1);
		return;
	}
	/* Another CPU may have created it first: then add to that one. */
	if (bpf_map_update_elem(map, key, &one, BPF_NOEXIST)) {
		count = bpf_map_lookup_elem(map, key);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
}

#endif
