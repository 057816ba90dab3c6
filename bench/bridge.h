/*
 * bench/bridge.h - mvbench bridge (bench/bridge.c): a channel through two mvbridge processes
 * against ucx_perftest between the same endpoints.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef MVBENCH_BRIDGE_H
#define MVBENCH_BRIDGE_H

/* "mvbench bridge [options]": argv[0] is the program. Returns the exit status. */
int bench_bridge_main(int argc, char **argv);

#endif
