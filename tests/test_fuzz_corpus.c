/* mixdesk tests: every input kept under tests/fuzz/TARGET/ (the seed corpus and each crash a fuzz run
 * found, kept as a regression case) goes through its fuzz target again, here without libFuzzer, so the
 * normal suite and the ASan/UBSan suite both fail if an old crash comes back. */
#include "tests/fuzz/fuzz.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* Replay every file of tests/fuzz/dir through fn; returns how many there were. */
static int replay(const char *dir, fuzz_fn fn)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/fuzz/%s", tl_top(), dir);
	DIR *d = opendir(path);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char file[4400];
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		FILE *f = fopen(file, "rb");
		assert_non_null(f);
		uint8_t *buf = malloc(1 << 20);
		size_t len = fread(buf, 1, 1 << 20, f);
		fclose(f);
		assert_int_equal(fn(buf, len), 0);
		free(buf);
		n++;
	}
	closedir(d);
	printf("%s: %d inputs replayed\n", dir, n);
	return n;
}

static void test_session_corpus(void **state)
{
	assert_true(replay("session", fuzz_session) >= 10);
}

static void test_render_corpus(void **state)
{
	assert_true(replay("render", fuzz_render) >= 10);
}

static void test_osc_corpus(void **state)
{
	assert_true(replay("osc", fuzz_osc) >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_corpus),
		cmocka_unit_test(test_render_corpus),
		cmocka_unit_test(test_osc_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
