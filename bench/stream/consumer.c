// The C reference consumer on Debian's libbpf: loads the stream object, attaches it, counts records
// with ring_buffer__poll or perf_buffer__poll until it is told to stop (SIGINT), then prints counts.
// With `drain RING_BYTES` it reads nothing until SIGINT, then times one ring_buffer__consume of the full ring.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static unsigned long long received, lost;

static void on_signal(int sig) { (void)sig; stop = 1; }
static int on_ring(void *ctx, void *data, size_t size) { (void)ctx; (void)data; (void)size; received++; return 0; }
static void on_sample(void *ctx, int cpu, void *data, __u32 size) { (void)ctx; (void)cpu; (void)data; (void)size; received++; }
static void on_lost(void *ctx, int cpu, __u64 count) { (void)ctx; (void)cpu; lost += count; }

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static __u64 dropped_in_bpf(int counters)
{
	__u32 key = 1;
	__u64 dropped = 0;

	bpf_map_lookup_elem(counters, &key, &dropped);
	return dropped;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	int out, counters, pages = argc > 2 ? atoi(argv[2]) : 64;
	int drain = argc > 3 && !strcmp(argv[2], "drain");

	if (argc < 2) {
		fprintf(stderr, "usage: consumer OBJECT [PERF_PAGES | drain RING_BYTES]\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	/* Big enough for every record the driver makes while nobody reads. */
	if (obj && drain && bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "out"), atoi(argv[3]))) {
		fprintf(stderr, "consumer: cannot size the ring to %s bytes\n", argv[3]);
		return 1;
	}
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "consumer: cannot load %s\n", argv[1]);
		return 1;
	}
	out = bpf_map__fd(bpf_object__find_map_by_name(obj, "out"));
	counters = bpf_map__fd(bpf_object__find_map_by_name(obj, "counters"));
	if (drain) {
		bpf_object__for_each_program(prog, obj)
			if (!bpf_program__attach(prog)) {
				fprintf(stderr, "consumer: cannot attach\n");
				return 1;
			}
		signal(SIGINT, on_signal);
		printf("ready\n");
		fflush(stdout);
		while (!stop)
			usleep(10000);
		/* Mapping the ring is not part of the drain. */
		rb = ring_buffer__new(out, on_ring, NULL, NULL);
		if (!rb) {
			fprintf(stderr, "consumer: cannot open the ring buffer\n");
			return 1;
		}
		double start = now();
		ring_buffer__consume(rb);
		double seconds = now() - start;
		printf("{\"received\":%llu,\"lost\":0,\"dropped\":%llu,\"seconds\":%.6f}\n", received, (unsigned long long)dropped_in_bpf(counters), seconds);
		ring_buffer__free(rb);
		bpf_object__close(obj);
		return 0;
	}
	if (strstr(argv[1], "ringbuf"))
		rb = ring_buffer__new(out, on_ring, NULL, NULL);
	else
		pb = perf_buffer__new(out, pages, on_sample, on_lost, NULL, NULL);
	if (!rb && !pb) {
		fprintf(stderr, "consumer: cannot open the buffer\n");
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "consumer: cannot attach\n");
			return 1;
		}
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		if (rb)
			ring_buffer__poll(rb, 100);
		else
			perf_buffer__poll(pb, 100);
	}
	/* What is still in the rings. */
	if (rb)
		ring_buffer__consume(rb);
	else
		perf_buffer__consume(pb);
	printf("{\"received\":%llu,\"lost\":%llu,\"dropped\":%llu}\n", received, lost, (unsigned long long)dropped_in_bpf(counters));
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	bpf_object__close(obj);
	return 0;
}
