/*
 * tests/testlib.c - see testlib.h.
 */
#include "testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mv_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

void mv_test_skip(const char *fmt, ...)
{
	va_list ap;

	fputs("SKIP: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	exit(MV_TEST_SKIP);
}

const char *mv_test_name(char *buf, size_t cap, const char *tag)
{
	static unsigned counter;

	snprintf(buf, cap, "/mvtest-%ld-%s-%u", (long)getpid(), tag, counter++);
	return buf;
}

char *mv_test_read_data(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *data = NULL;
	long size;

	snprintf(path, sizeof(path), "%s/%s", MV_TEST_DATA, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)size + 1);
		if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
			free(data);
			data = NULL;
		}
		if (data) {
			data[size] = '\0';
			if (len)
				*len = (size_t)size;
		}
	}
	fclose(f);
	return data;
}
