// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe_count.c: a uprobe and a uretprobe on a function of a user program
 * (examples/uprobe_target, built by `make -C examples`): counts the calls and the values the
 * function returns. The binary's path in the section is relative, so run from the checkout.
 *
 *   sudo load-kp-bpf examples/uprobe_count.o &
 *   examples/uprobe_target 5
 */
#include <linux/ptrace.h>
#include "bpf_defs.h"

struct bpf_elf_map SEC("maps") uprobe_calls = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 1,
};

struct bpf_elf_map SEC("maps") uprobe_returns = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 1024,
};

SEC("uprobe/examples/uprobe_target:lkb_example_add")
int count_call(struct pt_regs *ctx)
{
	__u32 zero = 0;
	__u64 *calls = bpf_map_lookup_elem(&uprobe_calls, &zero);

	if (calls)
		__sync_fetch_and_add(calls, 1);
	return 0;
}

SEC("uretprobe/examples/uprobe_target:lkb_example_add")
int record_return(struct pt_regs *ctx)
{
	__u32 returned = ctx->rax;

	count_key(&uprobe_returns, &returned);
	return 0;
}

char _license[] SEC("license") = "GPL";
