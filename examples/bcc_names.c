// SPDX-License-Identifier: GPL-2.0
/*
 * bcc_names.c: bcc's naming: a function called kprobe__<fn> attaches to <fn>, kretprobe__<fn> to
 * its return. No SEC() needed; each function is a program of its own. Counts calls to and
 * returns from vfs_write: keys 0 and 1 of the map.
 *
 *   sudo load-kp-bpf examples/bcc_names.o
 */
#include <linux/ptrace.h>
#include "bpf_defs.h"

struct bpf_elf_map SEC("maps") write_calls = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 2,
};

static __attribute__((noinline)) int count(__u32 key)
{
	__u64 *value = bpf_map_lookup_elem(&write_calls, &key);

	if (value)
		__sync_fetch_and_add(value, 1);
	return 0;
}

int kprobe__vfs_write(struct pt_regs *ctx)
{
	return count(0);
}

int kretprobe__vfs_write(struct pt_regs *ctx)
{
	return count(1);
}

char _license[] SEC("license") = "GPL";
