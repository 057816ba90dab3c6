/*
 * bench/uring.h - the io_uring benchmark behind "mvbench uring": reading a file in the page
 * cache in 4 KiB and 128 KiB blocks with read(2), plain io_uring reads and fixed reads into
 * memview's registered buffers (and both with O_DIRECT where the filesystem allows), then the
 * pipeline file -> registered shared-memory slot -> consumer process viewing it with no copy.
 * Reports ops/s and GB/s side by side, judges the two targets of issue 4 (fixed reads >= 1.10x
 * read(2) ops/s at 4 KiB; pipeline >= 80% of read(2) bandwidth), and writes JSON with a
 * "summary" object on request.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MEMVIEW_BENCH_URING_H
#define MEMVIEW_BENCH_URING_H

/*
 * bench_uring_main - the whole "mvbench uring" subcommand: options, measurement, report.
 *
 * Call it as mvbench calls its other subcommands: after cli_init(), with argv[0] the name
 * getopt's messages should show (mvbench's argv[0]) and the subcommand's options after it,
 * i.e. argv[1] = argv[0]; bench_uring_main(argc - 1, argv + 1).
 *
 * Returns the exit status: 0 when the benchmark ran (targets missed included: the report says
 * so), 1 when it could not run. Usage errors exit 2 and --help exits 0, through tools/cli.c.
 */
int bench_uring_main(int argc, char **argv);

#endif
