// SPDX-License-Identifier: MIT
/*
 * netrec: the query tool. Everything is in the netrec-query library.
 */
#include "cli.h"

int main(int argc, char **argv)
{
	return nr_cli_main(argc, argv);
}
