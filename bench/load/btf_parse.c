// The load benchmark's reference for parsing kernel BTF: libbpf's btf__parse of vmlinux and one
// look-up by name (which builds nothing extra in libbpf), in milliseconds, median of N runs.
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 10;
	double times[100];

	if (argc < 2 || runs < 1 || runs > 100) {
		fprintf(stderr, "usage: %s BTF_FILE [RUNS<=100]\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < runs; i++) {
		double start = now_ms();
		struct btf *btf = btf__parse(argv[1], NULL);

		if (!btf || btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT) < 0) {
			fprintf(stderr, "btf_parse: cannot parse %s\n", argv[1]);
			return 1;
		}
		times[i] = now_ms() - start;
		btf__free(btf);
	}
	qsort(times, runs, sizeof(times[0]), compare);
	printf("%.2f\n", times[runs / 2]);
	return 0;
}
