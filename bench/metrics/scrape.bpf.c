// The metrics benchmark's object: a pinned 100,000-entry u32 -> u64 hash with BTF (exported as scrape_hits_total{key}), bumped by getpid().
#include "bpf_defs.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 100000);
	__type(key, __u32);
	__type(value, __u64);
	/* Pinned under --pin-root, so that the bench fills it from outside the CLI. */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hits SEC(".maps");

/* Only something to attach: the map is filled by the bench, not by calls. */
SEC("tracepoint/syscalls/sys_enter_getpid")
int scrape(void *ctx)
{
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&hits, &key);

	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
