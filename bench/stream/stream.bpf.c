// The stream benchmark's program: one record per getppid() of stream_driver, through a ring buffer
// (-DRINGBUF) or a perf event array, RECORD_SIZE bytes each; failed sends are counted in `dropped`.
#include "bpf_defs.h"

#ifndef RECORD_SIZE
#define RECORD_SIZE 16
#endif

struct record {
	__u64 seq;
	__u8 fill[RECORD_SIZE - 8];
};

/* Keeps struct record in the BTF, so that the CLI prints its fields. */
struct record *unused_record __attribute__((unused));

#ifdef RINGBUF
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} out SEC(".maps");
#else
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} out SEC(".maps");
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int stream(void *ctx)
{
	__u32 sent = 0, dropped = 1;
	__u64 *seq, *drops;
	struct record r = {};

	if (!comm_is("stream_driver", 13))
		return 0;
	seq = bpf_map_lookup_elem(&counters, &sent);
	drops = bpf_map_lookup_elem(&counters, &dropped);
	if (!seq || !drops)
		return 0;
	r.seq = __sync_fetch_and_add(seq, 1);
#ifdef RINGBUF
	if (bpf_ringbuf_output(&out, &r, sizeof(r), 0))
#else
	if (bpf_perf_event_output(ctx, &out, BPF_F_CURRENT_CPU, &r, sizeof(r)))
#endif
		__sync_fetch_and_add(drops, 1);
	return 0;
}

char _license[] SEC("license") = "GPL";
