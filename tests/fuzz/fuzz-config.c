// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for netrecd's config file reader (recorder/config.h). nr_config_load()
 * takes a path, so each input is written to one temporary file per process, rewritten in
 * place, and loaded into a fresh struct nr_config. Besides the sanitizers, checks that a
 * failure always leaves a message and a success keeps the settings in their ranges.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "nrtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[] = "/tmp/netrec-fuzz-config-XXXXXX";
static int fuzz_fd = -1;

static void fuzz_cleanup(void)
{
	if (fuzz_fd >= 0) {
		close(fuzz_fd);
		unlink(fuzz_path);
	}
}

/* The file is created once; a failure here is the harness's, not the code's. */
static void fuzz_write(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (fuzz_fd < 0) {
		fuzz_fd = mkstemp(fuzz_path);
		if (fuzz_fd < 0) {
			perror("fuzz-config: mkstemp");
			abort();
		}
		atexit(fuzz_cleanup);
	}
	if (ftruncate(fuzz_fd, 0) < 0) {
		perror("fuzz-config: ftruncate");
		abort();
	}
	while (off < size) {
		ssize_t n = pwrite(fuzz_fd, data + off, size - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("fuzz-config: pwrite");
			abort();
		}
		off += (size_t)n;
	}
}

static void check_loaded(const struct nr_config *c)
{
	if (!c->data_dir || !c->data_dir[0] || !c->netns || !c->netns[0] ||
	    c->partition_ns < NR_NS_PER_SEC || c->partition_ns % NR_NS_PER_SEC ||
	    c->retention_age_ns < 0 || c->duration_ns < 0 || (c->sources & ~NR_SOURCE_ALL) ||
	    c->batch_rows < 1 || c->batch_rows > 1000000 || c->batch_ns < NR_NS_PER_MS ||
	    c->batch_ns > 60 * NR_NS_PER_SEC || c->queue_size < 1024 ||
	    c->queue_size > 16777216 || c->synthetic_rate > 10000000 ||
	    c->health_ns < NR_NS_PER_SEC || c->health_ns > 3600 * NR_NS_PER_SEC ||
	    c->log_level < NR_LOG_ERROR || c->log_level > NR_LOG_DEBUG) {
		fprintf(stderr, "nr_config_load accepted a setting out of range\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nr_config c;
	char err[1024];
	int r;

	fuzz_write(data, size);
	nr_config_init(&c);
	err[0] = '\0';
	r = nr_config_load(&c, fuzz_path, err, sizeof(err));
	if (r == 0) {
		check_loaded(&c);
	} else if (r != -EINVAL && r != -ENOMEM) {
		fprintf(stderr, "nr_config_load returned %d: %s\n", r, err);
		abort();
	} else if (r == -EINVAL && !err[0]) {
		fprintf(stderr, "nr_config_load failed with -EINVAL and no message\n");
		abort();
	}
	nr_config_clear(&c);
	return 0;
}
