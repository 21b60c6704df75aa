// The map-dump benchmark's floor: a C program on Debian's libbpf that reads a pinned u32 -> u64 map
// with BPF_MAP_LOOKUP_BATCH and prints "key value" lines, as fast as it can.
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 4096

int main(int argc, char **argv)
{
	__u32 keys[BATCH], token = 0;
	__u64 values[BATCH];
	int fd, first = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: dump PINNED_MAP\n");
		return 2;
	}
	fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		perror("bpf_obj_get");
		return 1;
	}
	static char buffer[1 << 20];
	setvbuf(stdout, buffer, _IOFBF, sizeof(buffer));
	printf("key         value\n");
	for (;;) {
		__u32 count = BATCH;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, values, &count, NULL);
		first = 0;
		for (__u32 i = 0; i < count; i++)
			printf("%-10u  %llu\n", keys[i], (unsigned long long)values[i]);
		if (err) {
			if (errno == ENOENT)
				break;
			perror("bpf_map_lookup_batch");
			return 1;
		}
	}
	return 0;
}
