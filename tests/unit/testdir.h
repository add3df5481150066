/* SPDX-License-Identifier: MIT */
/*
 * Shared by the unit tests that need a scratch directory: one per test (cmocka setup and
 * teardown), removed with everything in it. Include after <cmocka.h>.
 */
#pragma once

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#ifndef TESTDIR_PREFIX
#define TESTDIR_PREFIX "/tmp/nr-ut-XXXXXX"
#endif

static char *tmpdir;

static int testdir_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void rm_rf(const char *path)
{
	nftw(path, testdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline int tmpdir_setup(void **state)
{
	char tmpl[] = TESTDIR_PREFIX;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	tmpdir = strdup(tmpl);
	assert_non_null(tmpdir);
	return 0;
}

static inline int tmpdir_teardown(void **state)
{
	(void)state;
	rm_rf(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
	return 0;
}

static inline char *path_in(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}
