/* SPDX-License-Identifier: MIT */
/* Growing arrays: room for one more element, doubling the allocation when it is full. */
#pragma once

#include <errno.h>
#include <stdlib.h>

/* *@v holds *@cap elements of @size bytes, @n of them used. Makes room for element @n (the
 * first allocation holds @first). Returns 0, or -ENOMEM with the array unchanged. */
static inline int nr_grow_(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? 2 * *cap : first;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* NR_GROW(array, used, capacity, first): nr_grow_() for a typed array pointer. */
#define NR_GROW(v, n, cap, first) nr_grow_((void **)&(v), &(cap), (n), sizeof(*(v)), (first))
