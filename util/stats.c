/*
 * util/stats.c - sorting samples and taking their median (see mvutil.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mvutil.h"

/* Samples this many or fewer are sorted on the stack: no allocation while a benchmark counts. */
#define MEDIAN_STACK 256

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void mvu_sort_doubles(double *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_double);
}

double mvu_median(const double *v, size_t n)
{
	double stack[MEDIAN_STACK], *s = stack, m;

	if (n == 0)
		return 0;
	if (n > MEDIAN_STACK) {
		s = malloc(n * sizeof(*s));
		if (!s)
			return NAN;
	}
	memcpy(s, v, n * sizeof(*s));
	mvu_sort_doubles(s, n);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	if (s != stack)
		free(s);
	return m;
}
