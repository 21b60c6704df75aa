// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_cmds_tp.c: counts bpf() calls per command from the syscalls/sys_enter_bpf tracepoint.
 * Works on kernels without kprobes. The argument layout comes from
 * /sys/kernel/tracing/events/syscalls/sys_enter_bpf/format.
 *
 *   sudo load-kp-bpf examples/bpf_cmds_tp.o
 */
#include "bpf_defs.h"

#define MAX_BPF_CMD 64

struct sys_enter_bpf_args {
	__u64 common;     /* common_type, common_flags, common_preempt_count, common_pid */
	__s64 syscall_nr; /* int, padded to 8 */
	__u64 cmd;
	__u64 uattr;
	__u64 size;
};

struct bpf_elf_map SEC("maps") tp_bpf_cmds = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = MAX_BPF_CMD,
	.pinning = PIN_OBJECT_NS,
};

SEC("tracepoint/syscalls/sys_enter_bpf")
int count_bpf_cmds(struct sys_enter_bpf_args *args)
{
	__u32 cmd = args->cmd;

	if (cmd < MAX_BPF_CMD)
		count_key(&tp_bpf_cmds, &cmd);
	return 0;
}

char _license[] SEC("license") = "GPL";
