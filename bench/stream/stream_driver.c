// Makes getppid() calls for the stream benchmark: as fast as it can, or at RATE per second, for
// SECONDS or until COUNT calls (when given); prints how many it made and how long that took.
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	double rate = argc > 2 ? atof(argv[2]) : 0;
	long count = argc > 3 ? atol(argv[3]) : 0;
	double start = now(), t = start;
	long calls = 0;

	while (t - start < seconds && (count == 0 || calls < count)) {
		for (int i = 0; i < 64 && (count == 0 || calls < count); i++) {
			syscall(SYS_getppid);
			calls++;
		}
		t = now();
		if (rate > 0)
			while (calls > (t - start) * rate && t - start < seconds)
				t = now();
	}
	printf("{\"calls\":%ld,\"seconds\":%.6f}\n", calls, t - start);
	return 0;
}
