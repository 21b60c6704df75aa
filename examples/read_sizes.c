// SPDX-License-Identifier: GPL-2.0
/*
 * read_sizes.c: a histogram of what vfs_read() returns, in log2 buckets as bcc's BPF_HISTOGRAM
 * keeps them: bucket 0 holds 0, bucket b holds [2^(b-1), 2^b), bucket 65 holds errors. A
 * kretprobe reads the return value from the return register (PT_REGS_RC, rax on x86-64).
 *
 *   sudo load-kp-bpf examples/read_sizes.o
 */
#include <linux/ptrace.h>
#include "bpf_defs.h"

#define ERROR_BUCKET 65

struct bpf_elf_map SEC("maps") read_size_hist = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = ERROR_BUCKET + 1,
};

/* 0 for 0, else 1 + floor(log2(v)), without loops. */
static __attribute__((always_inline)) inline __u32 log2_bucket(__u64 v)
{
	__u32 bucket = 0;

	if (!v)
		return 0;
	if (v >> 32) { v >>= 32; bucket += 32; }
	if (v >> 16) { v >>= 16; bucket += 16; }
	if (v >> 8) { v >>= 8; bucket += 8; }
	if (v >> 4) { v >>= 4; bucket += 4; }
	if (v >> 2) { v >>= 2; bucket += 2; }
	if (v >> 1) bucket += 1;
	return bucket + 1;
}

SEC("kretprobe/vfs_read")
int record_read_size(struct pt_regs *ctx)
{
	long returned = ctx->rax;
	__u32 bucket = returned < 0 ? ERROR_BUCKET : log2_bucket(returned);
	__u64 *count = bpf_map_lookup_elem(&read_size_hist, &bucket);

	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char _license[] SEC("license") = "GPL";
