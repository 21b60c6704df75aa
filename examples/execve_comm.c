// SPDX-License-Identifier: GPL-2.0
/*
 * execve_comm.c: records, per process id, the command name of each process that calls execve().
 * libbpf style: the section names the system call (ksyscall/execve, resolved to the
 * architecture's entry point) and the map is BTF-defined in ".maps".
 *
 *   sudo load-kp-bpf examples/execve_comm.o
 */
#include <linux/ptrace.h>
#include "bpf_defs.h"

#define TASK_COMM_LEN 16

struct comm {
	char name[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct comm);
} execve_comm SEC(".maps");

SEC("ksyscall/execve")
int record_execve(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct comm comm = {};

	bpf_get_current_comm(comm.name, sizeof(comm.name));
	bpf_map_update_elem(&execve_comm, &pid, &comm, BPF_ANY);
	return 0;
}

char _license[] SEC("license") = "GPL";
