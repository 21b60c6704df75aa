// The decode benchmark's C reference: the same 1024 records as consumer.ts, printed N times with
// printf to stdout (the benchmark points it at /dev/null) as text or JSON; its time and peak RSS on stderr.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATTERN 1024

struct small_event {
	uint64_t ts;
	uint32_t pid;
	uint32_t tid;
	int32_t ret;
	uint32_t flags;
	char comm[16];
	uint64_t ino;
	uint64_t offset;
	uint64_t bytes;
};

struct open_event {
	uint64_t ts;
	uint32_t pid;
	uint32_t uid;
	int32_t ret;
	int32_t flags;
	char comm[16];
	char fname[255];
};

/* The pattern, as consumer.ts builds it. */
static const int ERRNOS[] = { 2, 13, 1, 11 };
static const char *COMMS[] = { "bash", "systemd", "sshd", "node", "cc1", "make", "python3", "kworker/u8:2" };
static const char *DIRS[] = { "/etc", "/usr/lib/x86_64-linux-gnu", "/proc/self", "/home/user/projects/load-kp-bpf/node_modules/typescript/lib", "/tmp", "/sys/fs/cgroup/system.slice/ssh.service" };
static const char *FILES[] = { "ld.so.cache", "libc.so.6", "status", "tsc.js", "lock", "memory.max", "passwd", "locale-archive" };

static struct small_event smalls[PATTERN];
static struct open_event opens[PATTERN];

static void build(void)
{
	for (uint32_t i = 0; i < PATTERN; i++) {
		uint32_t h = i * 2654435761u;
		uint64_t ts = 12345000000000ull + (uint64_t)i * 1000003 + h % 1000;
		uint32_t pid = 1000 + h % 30000;
		int32_t ret = i % 5 == 0 ? -ERRNOS[i % 4] : (int32_t)(h % 64);
		struct small_event *s = &smalls[i];
		struct open_event *o = &opens[i];

		*s = (struct small_event){ .ts = ts, .pid = pid, .tid = pid + i % 4, .ret = ret, .flags = h & 0x80241,
					   .ino = (uint64_t)h * 4096 + i, .offset = (uint64_t)i * 65536, .bytes = (uint64_t)h << 24 | i };
		strncpy(s->comm, COMMS[i % 8], sizeof(s->comm));
		*o = (struct open_event){ .ts = ts, .pid = pid, .uid = i % 3 == 0 ? 0 : 1000 + i % 7, .ret = ret, .flags = (int32_t)(h & 0x80241) };
		strncpy(o->comm, COMMS[i % 8], sizeof(o->comm));
		snprintf(o->fname, sizeof(o->fname), "%s/%s.%u", DIRS[i % 6], FILES[(h >> 8) % 8], i);
	}
}

/* A JSON string: as it is unless it holds a quote, a backslash or a control character. */
static void json_string(const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			break;
	if (!*p) {
		printf("\"%s\"", s);
		return;
	}
	putchar('"');
	for (p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* ret as the errno rule shows it in text: "-2 ENOENT", quoted for its space, when negative. */
static const char *ret_text(int32_t ret, char *buf, size_t size)
{
	if (ret < 0)
		snprintf(buf, size, "\"%d %s\"", ret, strerrorname_np(-ret));
	else
		snprintf(buf, size, "%d", ret);
	return buf;
}

static void small_text(const struct small_event *e)
{
	char ret[32];

	printf("%-17.6f  %-5u  %-5u  %-10s  %-6u  %-12s  %-14llu  %-8llu  %llu\n", e->ts / 1e9, e->pid, e->tid,
	       ret_text(e->ret, ret, sizeof(ret)), e->flags, e->comm, (unsigned long long)e->ino, (unsigned long long)e->offset,
	       (unsigned long long)e->bytes);
}

static void small_json(const struct small_event *e)
{
	printf("{\"event\":\"record\",\"map\":\"events\",\"data\":{\"ts\":%llu,\"pid\":%u,\"tid\":%u,\"ret\":%d,\"flags\":%u,\"comm\":",
	       (unsigned long long)e->ts, e->pid, e->tid, e->ret, e->flags);
	json_string(e->comm);
	printf(",\"ino\":%llu,\"offset\":%llu,\"bytes\":%llu},\"formatted\":{\"ts\":\"%.6f\",\"pid\":%u,\"tid\":%u,\"ret\":",
	       (unsigned long long)e->ino, (unsigned long long)e->offset, (unsigned long long)e->bytes, e->ts / 1e9, e->pid, e->tid);
	if (e->ret < 0)
		printf("\"%d %s\"", e->ret, strerrorname_np(-e->ret));
	else
		printf("%d", e->ret);
	printf(",\"flags\":%u,\"comm\":", e->flags);
	json_string(e->comm);
	printf(",\"ino\":%llu,\"offset\":%llu,\"bytes\":%llu}}\n", (unsigned long long)e->ino, (unsigned long long)e->offset,
	       (unsigned long long)e->bytes);
}

static void open_text(const struct open_event *e)
{
	char ret[32];

	printf("%-17.6f  %-5u  %-4u  %-10s  %-6d  %-12s  %s\n", e->ts / 1e9, e->pid, e->uid, ret_text(e->ret, ret, sizeof(ret)),
	       e->flags, e->comm, e->fname);
}

static void open_json(const struct open_event *e)
{
	printf("{\"event\":\"record\",\"map\":\"events\",\"data\":{\"ts\":%llu,\"pid\":%u,\"uid\":%u,\"ret\":%d,\"flags\":%d,\"comm\":",
	       (unsigned long long)e->ts, e->pid, e->uid, e->ret, e->flags);
	json_string(e->comm);
	printf(",\"fname\":");
	json_string(e->fname);
	printf("},\"formatted\":{\"ts\":\"%.6f\",\"pid\":%u,\"uid\":%u,\"ret\":", e->ts / 1e9, e->pid, e->uid);
	if (e->ret < 0)
		printf("\"%d %s\"", e->ret, strerrorname_np(-e->ret));
	else
		printf("%d", e->ret);
	printf(",\"flags\":%d,\"comm\":", e->flags);
	json_string(e->comm);
	printf(",\"fname\":");
	json_string(e->fname);
	printf("}}\n");
}

/* Peak RSS of this program: VmHWM, which starts again at exec (ru_maxrss keeps the forking parent's). */
static long peak_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *status = fopen("/proc/self/status", "r");

	while (status && fgets(line, sizeof(line), status))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	if (status)
		fclose(status);
	return kb;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "64") && strcmp(argv[1], "296")) || (strcmp(argv[2], "text") && strcmp(argv[2], "json"))) {
		fprintf(stderr, "usage: printer 64|296 text|json RECORDS\n");
		return 2;
	}
	int small = !strcmp(argv[1], "64"), json = !strcmp(argv[2], "json");
	long records = atol(argv[3]);

	build();
	double start = now();
	if (!json)
		printf(small ? "TS                 PID    TID    RET         FLAGS   COMM          INO             OFFSET    BYTES\n"
			     : "TS                 PID    UID   RET         FLAGS   COMM          FNAME\n");
	for (long n = 0; n < records; n++) {
		long i = n % PATTERN;
		if (small)
			json ? small_json(&smalls[i]) : small_text(&smalls[i]);
		else
			json ? open_json(&opens[i]) : open_text(&opens[i]);
	}
	fflush(stdout);
	double seconds = now() - start;
	fprintf(stderr, "{\"records\":%ld,\"seconds\":%.6f,\"peakKb\":%ld}\n", records, seconds, peak_kb());
	return 0;
}
