/* uprobe_target.c: calls lkb_example_add(i, 1) for i = 0..n-1 (n from argv, default 10), for uprobe_count.o. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int lkb_example_add(int a, int b)
{
	/* An empty asm keeps the call from being folded away. */
	__asm__ volatile("");
	return a + b;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;
	long sum = 0;

	for (int i = 0; i < n; i++)
		sum += lkb_example_add(i, 1);
	printf("%ld\n", sum);
	return 0;
}
