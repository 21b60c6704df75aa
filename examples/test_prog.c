// SPDX-License-Identifier: GPL-2.0
/*
 * test_prog.c: counts bpf() system calls, in all and per command, into two pinned maps.
 *
 *   sudo load-kp-bpf examples/test_prog.o sys_bpf
 *   bpftool map dump pinned /sys/fs/bpf/kp_bpf_cmds
 *
 * The probed function's first argument is ctx->rdi. For the old sys_bpf(cmd, ...) and for
 * __sys_bpf(cmd, ...) that is the command itself. Since 4.17 the x86-64 syscall is
 * __x64_sys_bpf(const struct pt_regs *regs): its first argument points at the caller's saved
 * registers, and the command is that struct's rdi, read with bpf_probe_read_kernel. A command is
 * a small number and a kernel pointer never is, which tells the two apart.
 */
#include <linux/ptrace.h>
#include "bpf_defs.h"

#define MAX_BPF_CMD 64

/* Every hit of the probe. */
struct bpf_elf_map SEC("maps") kp_bpf_calls = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 1,
	.pinning = PIN_OBJECT_NS,
};

/* Hits per bpf() command (BPF_MAP_CREATE is 0, BPF_PROG_LOAD 5, ...). */
struct bpf_elf_map SEC("maps") kp_bpf_cmds = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = MAX_BPF_CMD,
	.pinning = PIN_OBJECT_NS,
};

SEC("prog")
int count_bpf_calls(struct pt_regs *ctx)
{
	__u32 zero = 0;
	__u64 *total = bpf_map_lookup_elem(&kp_bpf_calls, &zero);
	unsigned long arg = ctx->rdi;
	__u32 cmd;

	if (total)
		__sync_fetch_and_add(total, 1);

	if (arg >= 4096) {
		const struct pt_regs *user_regs = (const struct pt_regs *)arg;

		if (bpf_probe_read_kernel(&arg, sizeof(arg), &user_regs->rdi))
			return 0;
	}
	if (arg >= MAX_BPF_CMD)
		return 0;
	cmd = arg;
	count_key(&kp_bpf_cmds, &cmd);
	return 0;
}

char _license[] SEC("license") = "GPL";
