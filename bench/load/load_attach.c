// The load benchmark's C reference on Debian's libbpf: open an object, load it, attach every
// program, print "attached", then detach and exit; what a libbpf tool's own loader does.
#include <bpf/libbpf.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int links = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJECT\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "load_attach: cannot load %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "load_attach: cannot attach %s\n", bpf_program__name(prog));
			return 1;
		}
		links++;
	}
	printf("attached %d\n", links);
	fflush(stdout);
	bpf_object__close(obj);
	return 0;
}
