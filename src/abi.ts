// The kernel's ABI in one place: bpf() commands, type numbers, flags, struct layouts (byte offsets), perf and ring buffer formats.
// Every number here is checked against the kernel's UAPI headers by test/unit/abi.test.ts.
import { constants } from 'node:os';

/** errno values by name (ENOENT, EEXIST, ...), as this platform defines them. */
export const ERRNO = constants.errno;

/** enum bpf_cmd. */
export const BPF_CMD = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
} as const;

/** enum bpf_map_type. */
export const MAP_TYPE = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
} as const;

/** enum bpf_prog_type. */
export const PROG_TYPE = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
  NETFILTER: 32,
} as const;

/** enum bpf_attach_type: the ones this tool uses. */
export const ATTACH_TYPE = {
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  TRACE_ITER: 28,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
} as const;

/** enum bpf_link_type. */
export const LINK_TYPE = {
  UNSPEC: 0,
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
} as const;

/** Flags of map update commands. */
export const BPF_ANY = 0;
/** Update only a key that is not there yet (EEXIST otherwise). */
export const BPF_NOEXIST = 1;
/** Update only a key that is there already (ENOENT otherwise). */
export const BPF_EXIST = 2;

/** Map creation flags. */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_MMAPABLE = 1 << 10;

/** kprobe_multi link flag: attach to the functions' returns. */
export const BPF_F_KPROBE_MULTI_RETURN = 1 << 0;
/** BPF_F_CURRENT_CPU in bpf_perf_event_output's flags. */
export const BPF_F_INDEX_MASK = 0xffffffff;

/** Where tc, libbpf and bpftool expect the BPF filesystem. */
export const BPFFS_ROOT = '/sys/fs/bpf';

/** Kernel object names are at most 15 characters plus NUL. */
export const BPF_OBJ_NAME_LEN = 16;
export const BPF_TAG_SIZE = 8;

/**
 * Layouts of union bpf_attr for each command, and of the info structs: byte offsets of the fields
 * and the size to pass. Pointer fields are __u64 (aligned_u64).
 */
export const ATTR = {
  MAP_CREATE: {
    size: 72,
    map_type: 0,
    key_size: 4,
    value_size: 8,
    max_entries: 12,
    map_flags: 16,
    inner_map_fd: 20,
    numa_node: 24,
    map_name: 28,
    map_ifindex: 44,
    btf_fd: 48,
    btf_key_type_id: 52,
    btf_value_type_id: 56,
    btf_vmlinux_value_type_id: 60,
    map_extra: 64,
  },
  /** MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_DELETE_ELEM, MAP_GET_NEXT_KEY. */
  MAP_ELEM: { size: 32, map_fd: 0, key: 8, value: 16, next_key: 16, flags: 24 },
  /** MAP_*_BATCH. */
  MAP_BATCH: { size: 56, in_batch: 0, out_batch: 8, keys: 16, values: 24, count: 32, map_fd: 36, elem_flags: 40, flags: 48 },
  MAP_FREEZE: { size: 8, map_fd: 0 },
  PROG_LOAD: {
    size: 144,
    prog_type: 0,
    insn_cnt: 4,
    insns: 8,
    license: 16,
    log_level: 24,
    log_size: 28,
    log_buf: 32,
    kern_version: 40,
    prog_flags: 44,
    prog_name: 48,
    prog_ifindex: 64,
    expected_attach_type: 68,
    prog_btf_fd: 72,
    func_info_rec_size: 76,
    func_info: 80,
    func_info_cnt: 88,
    line_info_rec_size: 92,
    line_info: 96,
    line_info_cnt: 104,
    attach_btf_id: 108,
    attach_btf_obj_fd: 112,
    core_relo_cnt: 116,
    fd_array: 120,
    core_relos: 128,
    core_relo_rec_size: 136,
    /** 6.4+: what the log needed, after a failed load. */
    log_true_size: 140,
  },
  /** OBJ_PIN, OBJ_GET. */
  OBJ: { size: 16, pathname: 0, bpf_fd: 8, file_flags: 12 },
  /** PROG_GET_NEXT_ID, MAP_GET_NEXT_ID, LINK_GET_NEXT_ID, BTF_GET_NEXT_ID and the GET_FD_BY_ID commands. */
  GET_ID: { size: 12, start_id: 0, id: 0, next_id: 4, open_flags: 8 },
  INFO_BY_FD: { size: 16, bpf_fd: 0, info_len: 4, info: 8 },
  RAW_TRACEPOINT_OPEN: { size: 16, name: 0, prog_fd: 8 },
  BTF_LOAD: { size: 32, btf: 0, btf_log_buf: 8, btf_size: 16, btf_log_size: 20, btf_log_level: 24, btf_log_true_size: 28 },
  LINK_CREATE: {
    size: 64,
    prog_fd: 0,
    target_fd: 4,
    attach_type: 8,
    flags: 12,
    target_btf_id: 16,
    perf_event_bpf_cookie: 16,
    kprobe_multi_flags: 16,
    kprobe_multi_cnt: 20,
    kprobe_multi_syms: 24,
    kprobe_multi_addrs: 32,
    kprobe_multi_cookies: 40,
    tracing_target_btf_id: 16,
    tracing_cookie: 24,
  },
  PROG_BIND_MAP: { size: 12, prog_fd: 0, map_fd: 4, flags: 8 },
} as const;

/** struct bpf_map_info. */
export const MAP_INFO = {
  size: 88,
  type: 0,
  id: 4,
  key_size: 8,
  value_size: 12,
  max_entries: 16,
  map_flags: 20,
  name: 24,
  ifindex: 40,
  btf_vmlinux_value_type_id: 44,
  netns_dev: 48,
  netns_ino: 56,
  btf_id: 64,
  btf_key_type_id: 68,
  btf_value_type_id: 72,
  map_extra: 80,
} as const;

/** struct bpf_prog_info: the fields read here. */
export const PROG_INFO = {
  size: 232,
  type: 0,
  id: 4,
  tag: 8,
  jited_prog_len: 16,
  xlated_prog_len: 20,
  load_time: 40,
  created_by_uid: 48,
  nr_map_ids: 52,
  map_ids: 56,
  name: 64,
  btf_id: 128,
  run_time_ns: 192,
  run_cnt: 200,
  recursion_misses: 208,
  verified_insns: 216,
} as const;

/** struct bpf_link_info: the common head and the union's start. */
export const LINK_INFO = { size: 48, type: 0, id: 4, prog_id: 8, union: 16 } as const;

/** struct bpf_btf_info. */
export const BTF_INFO = { size: 32, btf: 0, btf_size: 8, id: 12, name: 16, name_len: 24, kernel_btf: 28 } as const;

/** BPF_PSEUDO_* values in an instruction's src_reg. */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** Helper function ids (enum bpf_func_id) the loader looks for in programs. */
export const BPF_FUNC = { trace_printk: 6, perf_event_output: 25, ringbuf_output: 130, ringbuf_submit: 132, trace_vprintk: 177 } as const;

/** bpf_func_info and bpf_line_info records as the kernel takes them. */
export const FUNC_INFO_SIZE = 8;
export const LINE_INFO_SIZE = 16;

// ---------------------------------------------------------------------------------------------
// perf events

/** perf_event_attr.type. */
export const PERF_TYPE = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4, BREAKPOINT: 5 } as const;
/** perf_event_attr.config of PERF_TYPE_SOFTWARE. */
export const PERF_COUNT_SW_BPF_OUTPUT = 10;
/** perf_event_attr.sample_type bits. */
export const PERF_SAMPLE_RAW = 1 << 10;
/** perf_event_open flags. */
export const PERF_FLAG_FD_CLOEXEC = 1 << 3;

/** struct perf_event_attr, version 5 (112 bytes: understood by every kernel with BPF perf events). */
export const PERF_EVENT_ATTR = {
  size: 112,
  type: 0,
  attr_size: 4,
  config: 8,
  sample_period: 16,
  sample_type: 24,
  read_format: 32,
  flags: 40,
  wakeup_events: 48,
  bp_type: 52,
  config1: 56,
  config2: 64,
} as const;

/** struct pt_regs of x86-64: where each register lies in the context of a kprobe or uprobe program. */
export const X86_64_PT_REGS = {
  r15: 0, r14: 8, r13: 16, r12: 24, bp: 32, bx: 40, r11: 48, r10: 56, r9: 64, r8: 72,
  ax: 80, cx: 88, dx: 96, si: 104, di: 112, orig_ax: 120, ip: 128, cs: 136, flags: 144, sp: 152, ss: 160,
} as const;

/**
 * libbpf's usdt.bpf.h: the map of argument specs a USDT program reads by its BPF cookie, the map
 * from probe address to spec for kernels without cookies (left empty: USDT needs cookies here),
 * and the most arguments a spec holds.
 */
export const USDT_SPECS_MAP = '__bpf_usdt_specs';
export const USDT_IP_MAP = '__bpf_usdt_ip_to_spec_id';
export const USDT_MAX_ARGS = 12;

/** Bits of perf_event_attr's flags word. */
/** FREQ: sample_period holds a frequency in Hz, the kernel adjusting the period to meet it. */
export const PERF_ATTR_FLAG = { DISABLED: 1n << 0n, FREQ: 1n << 10n, WATERMARK: 1n << 14n } as const;

/** ioctl requests on a perf event fd. */
export const PERF_EVENT_IOC = { ENABLE: 0x2400, DISABLE: 0x2401, SET_BPF: 0x40042408 } as const;

/** struct perf_event_mmap_page: where the ring positions live in the first page. */
export const PERF_MMAP_PAGE = { data_head: 1024, data_tail: 1032, data_offset: 1040, data_size: 1048 } as const;

/** struct perf_event_header and the record types read here. */
export const PERF_EVENT_HEADER_SIZE = 8;
export const PERF_RECORD = { LOST: 2, SAMPLE: 9 } as const;

// ---------------------------------------------------------------------------------------------
// BPF ring buffer (BPF_MAP_TYPE_RINGBUF)

/** Each record: a u32 length word (with the two flag bits) and a u32 page offset, then the data. */
export const BPF_RINGBUF_HDR_SZ = 8;
export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 1 << 30;
