/*
 * bench/uring_pipeline.c - the pipeline of "mvbench uring" (see uring.h): file -> registered
 * shared-memory slot -> consumer process viewing it with no copy.
 *
 * Fixed reads land in ranges of a named segment registered as slots (mv_uring_attach). Each
 * filled range is handed (slot id over a pipe) to a consumer process that opened the segment
 * itself, views the range (a slice of its own mapping: no copy), checks the first 8 bytes of
 * every page against the file's pattern and hands the slot back. The producer learns of
 * returned slots through a read of the return pipe submitted to the same ring, so one wait
 * covers both the file and the consumer; mv_uring_complete() tells the two apart.
 *
 * Its baseline is read(2) at the same block size, one pass right before each pipeline pass, so
 * that the ratio of each pair is taken under the same load.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memview.h"
#include "../util/cli.h"
#include "../util/mvutil.h"
#include "uring.h"

#define PAGE 4096u

/* Pin the calling process to @cpu (-1: leave it). */
static void pin(int cpu)
{
	int rc = cpu < 0 ? 0 : mvu_pin_cpu(cpu);

	if (rc < 0)
		cli_warn("cannot pin to CPU %d: %s", cpu, strerror(-rc));
}

struct msg {
	uint32_t slot;          /* UINT32_MAX: "ready", from the consumer */
	uint32_t len;           /* 0: the end */
	uint64_t off;           /* file offset of the slot's bytes */
};

/*
 * The consumer process: its own readonly mapping of the segment, a view of it, a slice per
 * message. Exits 0, 1 (data differs from the pattern), 2 (setup failed).
 */
static void consumer(const char *name, int in, int out, size_t block, int verify)
{
	mv_segment_opts opts = MV_SEGMENT_OPTS_INIT;
	mv_segment *seg;
	mv_view whole, part;
	struct msg m[64];
	uint32_t back[64];
	uint64_t pages = 0;
	int bad = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	opts.flags = MV_SEGMENT_READONLY;
	if (mv_segment_open(&seg, name, &opts) < 0 ||
	    mv_view_from(&whole, mv_segment_exporter(seg), 0) < 0) {
		fprintf(stderr, "%s uring: consumer: %s\n", cli_progname, mv_errmsg());
		_exit(2);
	}
	m[0].slot = UINT32_MAX;
	if (mvu_write_full(out, &m[0].slot, sizeof(uint32_t)) < 0)
		_exit(2);
	for (;;) {
		ssize_t r = read(in, m, sizeof(m));
		size_t n, k, nb = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || r % (ssize_t)sizeof(m[0]))
			_exit(2);
		n = (size_t)r / sizeof(m[0]);
		for (k = 0; k < n; k++) {
			const unsigned char *p;
			size_t j;

			if (m[k].len == 0) {
				mv_view_release(&whole);
				mv_segment_close(seg);
				if (mvu_write_full(out, &pages, sizeof(pages)) < 0)
					_exit(2);
				_exit(bad ? 1 : 0);
			}
			if (mv_view_slice(&part, &whole, (ssize_t)m[k].slot * (ssize_t)block,
					  (ssize_t)m[k].slot * (ssize_t)block + m[k].len, 1) < 0)
				_exit(2);
			p = mv_view_ptr(&part);
			for (j = 0; j + 8 <= m[k].len; j += PAGE) {
				uint64_t w;

				memcpy(&w, p + j, sizeof(w));
				if (verify && w != m[k].off + j)
					bad = 1;
				pages++;
			}
			mv_view_release(&part);
			back[nb++] = m[k].slot;
		}
		if (mvu_write_full(out, back, nb * sizeof(back[0])) < 0)
			_exit(2);
	}
}

struct pipe_state {
	struct io_uring *ring;
	mv_uring *t;
	unsigned first;         /* first table slot of the pipeline */
	mv_view views[64];      /* producer's view of each slot */
	uint64_t slot_off[64];  /* file offset now in each slot */
	int fwd, back;          /* to the consumer, from it */
	uint32_t returned[64];  /* the return pipe's read buffer */
};

/* Submit a read of returned slot ids on the return pipe (a completion memview calls foreign). */
static int arm_return_read(struct pipe_state *ps)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ps->ring);

	if (!sqe)
		return -EAGAIN;
	io_uring_prep_read(sqe, ps->back, ps->returned, sizeof(ps->returned), (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, 0x7265747572ull); /* "retur" */
	return 0;
}

static int pipeline_pass(struct pipe_state *ps, int fd, uint64_t size, size_t block,
			 unsigned nslots, double max_s, struct ur_pass *p)
{
	unsigned free_ids[64], nfree = 0, inflight = 0, at_consumer = 0, i, nmsg;
	struct msg msgs[64];
	uint64_t off = 0, done = 0, ops = 0;
	int stop = 0, err = 0, armed = 0;
	double t0;

	for (i = 0; i < nslots; i++)
		free_ids[nfree++] = nslots - 1 - i;
	t0 = mvu_now_s();
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0, issued = 0;
		int rc;

		/*
		 * Half the slots per submission: page-cache reads are copied inside the submit
		 * call, so the consumer checks one half while the kernel fills the other.
		 */
		while (!stop && !err && nfree && off < size && issued < (nslots + 1) / 2) {
			unsigned id = free_ids[--nfree];

			rc = mv_uring_prep_read_fixed(NULL, ps->t, fd, &ps->views[id], off, id);
			if (rc < 0) {
				free_ids[nfree++] = id;
				if (rc != -EAGAIN)
					err = rc;
				break;
			}
			ps->slot_off[id] = off;
			off += block;
			inflight++;
			issued++;
		}
		if (at_consumer && !armed) {
			if (arm_return_read(ps) == 0)
				armed = 1;
		}
		if (!inflight && !at_consumer)
			break;
		rc = io_uring_submit_and_wait(ps->ring, 1);
		if (rc < 0 && rc != -EINTR) {
			err = rc;
			break;
		}
		nmsg = 0;
		io_uring_for_each_cqe(ps->ring, head, cqe) {
			mv_uring_result r = MV_URING_RESULT_INIT;
			int kind = mv_uring_complete(&r, ps->t, cqe);

			seen++;
			if (kind == MV_URING_CQE_IO) {
				struct msg *m = &msgs[nmsg];

				inflight--;
				if (r.res <= 0) {
					if (r.res < 0 && !err)
						err = r.res;
					free_ids[nfree++] = r.cookie;
					stop = 1;
					continue;
				}
				m->slot = r.cookie;
				m->len = (uint32_t)r.res;
				m->off = ps->slot_off[r.cookie];
				nmsg++;
				at_consumer++;
				done += (uint64_t)r.res;
				ops++;
				if ((size_t)r.res < block)
					stop = 1;
			} else if (kind == MV_URING_CQE_FOREIGN) {
				/* Slot ids the consumer handed back. */
				unsigned k, n;

				armed = 0;
				if (cqe->res <= 0) {
					err = cqe->res < 0 ? cqe->res : -EPIPE;
					at_consumer = 0;
					continue;
				}
				n = (unsigned)cqe->res / sizeof(uint32_t);
				for (k = 0; k < n; k++)
					free_ids[nfree++] = ps->returned[k];
				at_consumer -= n;
			}
		}
		io_uring_cq_advance(ps->ring, seen);
		/* One write per batch: the consumer wakes once for all of it. */
		if (nmsg && mvu_write_full(ps->fwd, msgs, nmsg * sizeof(msgs[0])) < 0) {
			err = -EPIPE;
			at_consumer -= nmsg;
		}
		if (err && !inflight)
			break;
		if (!stop && mvu_now_s() - t0 > max_s)
			stop = 1;
	}
	p->secs = mvu_now_s() - t0;
	p->bytes = done;
	p->ops = ops;
	return err;
}

void ur_run_pipeline(const struct ur_config *c, struct io_uring *ring, mv_uring *t,
			 unsigned first, int fd, uint64_t size, int verify, const char *name,
			 ur_read_pass_fn *read_pass, struct ur_pipeline *out)
{
	struct pipe_state ps;
	mv_segment *seg = NULL;
	int fwdp[2] = { -1, -1 }, backp[2] = { -1, -1 }, rc, st, pass, k, nviews = 0;
	unsigned attached = 0, i;
	pid_t pid = -1;
	uint32_t ready;
	struct msg end;

	memset(&ps, 0, sizeof(ps));
	ps.ring = ring;
	ps.t = t;
	ps.first = first;
	mv_segment_unlink(name, MV_SEGMENT_FORCE);
	rc = mv_segment_create(&seg, name, (size_t)c->pipe_slots * c->pipe_block, NULL);
	if (rc < 0) {
		snprintf(out->why, sizeof(out->why), "segment: %s", mv_errmsg());
		return;
	}
	for (i = 0; i < c->pipe_slots; i++) {
		rc = mv_uring_attach(t, first + i, mv_segment_exporter(seg), i * c->pipe_block,
				     c->pipe_block);
		if (rc < 0) {
			snprintf(out->why, sizeof(out->why), "%s", mv_errmsg());
			goto out;
		}
		attached++;
		rc = mv_view_from(&ps.views[i], mv_uring_exporter(t, first + i), MV_BUF_WRITABLE);
		if (rc < 0) {
			snprintf(out->why, sizeof(out->why), "%s", mv_errmsg());
			goto out;
		}
		nviews++;
	}
	if (pipe(fwdp) < 0 || pipe(backp) < 0) {
		snprintf(out->why, sizeof(out->why), "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(out->why, sizeof(out->why), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(fwdp[1]);
		close(backp[0]);
		pin(c->cpu[1]);
		consumer(name, fwdp[0], backp[1], c->pipe_block, verify);
	}
	/*
	 * Not pinned unless asked: on a small shared VM, pinned processes cannot move off a CPU
	 * another load takes, and a wake-up across CPUs costs an IPI (a VM exit).
	 */
	pin(c->cpu[0]);
	close(fwdp[0]);
	close(backp[1]);
	fwdp[0] = backp[1] = -1;
	ps.fwd = fwdp[1];
	ps.back = backp[0];
	if (mvu_read_full(ps.back, &ready, sizeof(ready)) != sizeof(ready) || ready != UINT32_MAX) {
		snprintf(out->why, sizeof(out->why), "the consumer did not start");
		goto out;
	}
	for (pass = 0; pass < c->passes; pass++) {
		struct ur_pass p;

		memset(&p, 0, sizeof(p));
		rc = read_pass(fd, c->pipe_block, size, c->max_s, &p);
		if (rc < 0 || p.ops == 0) {
			snprintf(out->why, sizeof(out->why), "pass %d: read(2) baseline: %s", pass + 1,
				 rc < 0 ? strerror(-rc) : "no data");
			goto out;
		}
		out->ref_gb_s[out->npasses] = (double)p.bytes / p.secs / 1e9;
		memset(&p, 0, sizeof(p));
		rc = pipeline_pass(&ps, fd, size, c->pipe_block, c->pipe_slots, c->max_s, &p);
		if (rc < 0) {
			snprintf(out->why, sizeof(out->why), "pass %d: %s", pass + 1, strerror(-rc));
			goto out;
		}
		out->ops_s[out->npasses] = (double)p.ops / p.secs;
		out->gb_s[out->npasses] = (double)p.bytes / p.secs / 1e9;
		out->npasses++;
		ur_progress(c, "pipeline pass %d: %.2f GB/s (read(2) just before: %.2f GB/s)", pass + 1,
			    out->gb_s[out->npasses - 1], out->ref_gb_s[out->npasses - 1]);
	}
	memset(&end, 0, sizeof(end));
	if (mvu_write_full(ps.fwd, &end, sizeof(end)) < 0 ||
	    mvu_read_full(ps.back, &out->pages_checked, sizeof(out->pages_checked)) !=
		    sizeof(out->pages_checked)) {
		snprintf(out->why, sizeof(out->why), "the consumer went away");
		goto out;
	}
	out->ok = 1;
out:
	if (fwdp[1] >= 0)
		close(fwdp[1]);
	if (backp[0] >= 0)
		close(backp[0]);
	if (fwdp[0] >= 0)
		close(fwdp[0]);
	if (backp[1] >= 0)
		close(backp[1]);
	if (pid > 0) {
		if (!out->ok)
			kill(pid, SIGKILL);
		if (waitpid(pid, &st, 0) == pid && out->ok &&
		    !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			out->ok = 0;
			snprintf(out->why, sizeof(out->why), "%s",
				 WIFEXITED(st) && WEXITSTATUS(st) == 1 ?
					 "the consumer saw data that is not the file's" :
					 "the consumer failed");
		}
	}
	if (pid > 0 && c->cpu[0] >= 0 && sched_setaffinity(0, sizeof(c->affinity), &c->affinity) < 0)
		cli_warn("cannot restore the CPU affinity: %s", strerror(errno));
	for (k = 0; k < nviews; k++)
		mv_view_release(&ps.views[k]);
	/* Empty the slots and reap their tags: only then is the segment export given back. */
	for (i = 0; i < attached; i++)
		if (mv_uring_clear(t, first + i) < 0)
			cli_warn("%s", mv_errmsg());
	for (;;) {
		struct __kernel_timespec ts = { 2, 0 };
		mv_uring_info info = MV_URING_INFO_INIT;
		struct io_uring_cqe *cqe;

		if (mv_uring_get_info(&info, t) < 0 || info.pending_tags == 0 ||
		    io_uring_wait_cqe_timeout(ring, &cqe, &ts) < 0)
			break;
		mv_uring_complete(NULL, t, cqe);
		io_uring_cqe_seen(ring, cqe);
	}
	if (mv_segment_close(seg) < 0)
		cli_warn("%s", mv_errmsg());
	mv_segment_unlink(name, MV_SEGMENT_FORCE);
}

