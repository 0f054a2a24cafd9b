#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "file.h"
#include "proc.h"
#include "tmp.h"

struct worker {
	pid_t pid;
	int job_w; /* parent -> worker: job indices, 8 bytes each */
	int res_r; /* worker -> parent: JSON lines */
	bool busy;
	char *buf;
	size_t len, cap;
};

void ps_job_result_release(struct ps_job_result *r)
{
	free(r->text);
	free(r->detail);
	free(r->extra);
	free(r->diff);
	free(r->where);
	memset(r, 0, sizeof(*r));
}

static json_t *result_json(uint64_t index, const struct ps_job_result *r)
{
	return json_pack("{s:I, s:i, s:s?, s:s?, s:s?, s:s?, s:s?, s:f}", "job", (json_int_t)index,
			 "verdict", (int)r->verdict, "text", r->text, "detail", r->detail, "diff",
			 r->diff, "where", r->where, "extra", r->extra, "seconds", r->seconds);
}

/* Escape every string of r (ps_buf_add_text), so that JSON can carry it.  0 or -ENOMEM. */
static int escape_result(struct ps_job_result *r)
{
	char **fields[] = { &r->text, &r->detail, &r->diff, &r->where, &r->extra };
	size_t i;
	char *e;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!*fields[i])
			continue;
		if (!(e = ps_text_escape(*fields[i])))
			return -ENOMEM;
		free(*fields[i]);
		*fields[i] = e;
	}
	return 0;
}

static char *dup_field(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? strdup(s) : NULL;
}

/* The worker's loop: read a job index, run it, write its result; exit on EOF. */
static void worker_main(int job_r, int res_w, const struct ps_job *jobs, size_t n,
			struct ps_runner rn, ps_job_fn fn, void *ctx)
{
	struct ps_diag d = PS_DIAG_INIT;
	uint64_t index;
	ssize_t r;
	int code = 0;

	ps_proc_subreaper();
	for (;;) {
		struct ps_job_result res;
		json_t *j;
		char *s;

		do
			r = read(job_r, &index, sizeof(index));
		while (r == -1 && errno == EINTR);
		if (r != (ssize_t)sizeof(index))
			break;
		if (index >= n) {
			code = 2;
			break;
		}
		memset(&res, 0, sizeof(res));
		if (fn(ctx, &rn, &jobs[index], &res, &d)) {
			fprintf(stderr, "procspec: %s\n", d.msg);
			code = 2;
			break;
		}
		j = result_json(index, &res);
		if (!j && escape_result(&res) == 0)
			j = result_json(index, &res); /* it held bytes that are not UTF-8 */
		s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		ps_job_result_release(&res);
		if (!s) {
			fprintf(stderr,
				"procspec: a worker could not encode the result of job %llu\n",
				(unsigned long long)index);
			code = 2;
			break;
		}
		if (ps_write_all(res_w, s, strlen(s)) || ps_write_all(res_w, "\n", 1)) {
			free(s);
			code = 2;
			break;
		}
		free(s);
	}
	ps_runner_release(&rn);
	ps_tmp_remove_own(); /* those of drivers the job function kept (fuzz's other side) */
	_exit(code);
}

/* Read what a worker sent; complete lines become results. -1 on EOF or a bad line. */
static int worker_read(struct worker *w, struct ps_job_result *results, bool *have, size_t n)
{
	char *nl;
	ssize_t r;

	if (w->cap - w->len < 65536) {
		size_t cap = w->cap ? w->cap * 2 : 131072;
		char *nb = realloc(w->buf, cap);

		if (!nb)
			return -1;
		w->buf = nb;
		w->cap = cap;
	}
	do
		r = read(w->res_r, w->buf + w->len, w->cap - w->len);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return -1;
	w->len += (size_t)r;
	while ((nl = memchr(w->buf, '\n', w->len))) {
		size_t len = (size_t)(nl - w->buf);
		json_t *j = json_loadb(w->buf, len, 0, NULL);
		json_int_t idx = json_integer_value(json_object_get(j, "job"));

		if (!j || idx < 0 || (size_t)idx >= n) {
			json_decref(j);
			return -1;
		}
		results[idx].verdict = (enum ps_verdict)json_integer_value(
			json_object_get(j, "verdict"));
		results[idx].text = dup_field(j, "text");
		results[idx].detail = dup_field(j, "detail");
		results[idx].extra = dup_field(j, "extra");
		results[idx].diff = dup_field(j, "diff");
		results[idx].where = dup_field(j, "where");
		results[idx].seconds = json_real_value(json_object_get(j, "seconds"));
		have[idx] = true;
		w->busy = false;
		json_decref(j);
		memmove(w->buf, nl + 1, w->len - len - 1);
		w->len -= len + 1;
	}
	return 0;
}

/*
 * The CPU worker i of workers is to run on, or -1 for none: the i-th CPU
 * the harness may use, when there are at least as many as workers and at
 * least two workers (one worker is left where the scheduler puts it, so
 * that two single-worker runs side by side do not share a CPU).
 */
static int worker_cpu(size_t i, unsigned workers)
{
	cpu_set_t allowed;
	size_t seen = 0;
	int cpu;

	if (workers < 2 || sched_getaffinity(0, sizeof(allowed), &allowed) ||
	    (unsigned)CPU_COUNT(&allowed) < workers)
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed) && seen++ == i)
			return cpu;
	return -1;
}

int ps_pool_run(const struct ps_job *jobs, size_t n, unsigned workers, unsigned flags,
		struct ps_runner *proto, ps_job_fn fn, ps_done_fn done, void *ctx,
		struct ps_diag *d)
{
	struct ps_job_result *results = calloc(n + 1, sizeof(*results));
	bool *have = calloc(n + 1, sizeof(*have)), stop = false;
	struct worker *w = NULL;
	struct pollfd *pfd = NULL;
	size_t next = 0, reported = 0, i, alive;
	int r = 0, st, cpu;

	if (workers == 0)
		workers = 1;
	if (workers > n)
		workers = n ? (unsigned)n : 1;
	w = calloc(workers, sizeof(*w));
	pfd = calloc(workers, sizeof(*pfd));
	if (!results || !have || !w || !pfd) {
		r = ps_diag(d, -ENOMEM, "out of memory");
		goto out;
	}
	/* Every slot empty before the first fork: a failure part-way must not
	 * take calloc's zeros for fd 0 and pid 0. */
	for (i = 0; i < workers; i++) {
		w[i].pid = -1;
		w[i].job_w = w[i].res_r = -1;
	}
	ps_tmp_init(); /* the workers' directories are named after this process */
	fflush(NULL);  /* nothing buffered may be written twice */
	for (i = 0; i < workers; i++) {
		int jp[2] = { -1, -1 }, rp[2];
		size_t k;

		if (pipe2(jp, O_CLOEXEC) || pipe2(rp, O_CLOEXEC)) {
			r = ps_diag(d, -errno, "pipe2: %s", strerror(errno));
			if (jp[0] >= 0) {
				close(jp[0]);
				close(jp[1]);
			}
			goto out;
		}
		w[i].pid = fork();
		if (w[i].pid < 0) {
			r = ps_diag(d, -errno, "fork: %s", strerror(errno));
			close(jp[0]);
			close(jp[1]);
			close(rp[0]);
			close(rp[1]);
			goto out;
		}
		if (w[i].pid == 0) {
			if ((flags & PS_POOL_PIN) && (cpu = worker_cpu(i, workers)) >= 0) {
				cpu_set_t one;

				CPU_ZERO(&one);
				CPU_SET(cpu, &one);
				/* hints both: failure is fine */
				if (sched_setaffinity(0, sizeof(one), &one) == 0)
					ps_proc_yield_on_wakeup();
			}
			close(jp[1]);
			close(rp[0]);
			for (k = 0; k < i; k++) {
				close(w[k].job_w);
				close(w[k].res_r);
			}
			worker_main(jp[0], rp[1], jobs, n, *proto, fn, ctx);
		}
		ps_proc_guard_worker(w[i].pid, true);
		close(jp[0]);
		close(rp[1]);
		w[i].job_w = jp[1];
		w[i].res_r = rp[0];
	}
	for (;;) {
		/* hand out work */
		for (i = 0; i < workers && !stop; i++) {
			if (!w[i].busy && w[i].job_w >= 0 && next < n) {
				uint64_t idx = next++;

				if (ps_write_all(w[i].job_w, &idx, sizeof(idx))) {
					r = ps_diag(d, PS_EDRIVER, "a worker went away");
					goto out;
				}
				w[i].busy = true;
			}
		}
		/* report, in order, whatever is complete */
		while (reported < n && have[reported]) {
			if (!stop && !done(ctx, reported, &jobs[reported], &results[reported]))
				stop = true;
			else if (stop)
				done(ctx, reported, &jobs[reported], &results[reported]);
			ps_job_result_release(&results[reported]);
			reported++;
		}
		if (reported == n)
			break;
		if (stop) {
			/* jobs never handed out: report them as not run, in order */
			alive = 0;
			for (i = 0; i < workers; i++)
				alive += w[i].busy;
			if (!alive) {
				for (; reported < n; reported++) {
					if (!have[reported]) {
						results[reported].verdict = PS_V_NOTRUN;
						results[reported].detail = strdup(
							"not run (stopped early)");
					}
					done(ctx, reported, &jobs[reported], &results[reported]);
					ps_job_result_release(&results[reported]);
				}
				break;
			}
		}
		for (i = 0; i < workers; i++) {
			pfd[i].fd = w[i].busy ? w[i].res_r : -1;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, workers, -1) < 0 && errno != EINTR) {
			r = ps_diag(d, -errno, "poll: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < workers; i++) {
			if (pfd[i].fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    worker_read(&w[i], results, have, n)) {
				r = ps_diag(d, PS_EDRIVER,
					    "a worker of the harness died or sent garbage "
					    "(see its message above)");
				goto out;
			}
		}
	}
out:
	for (i = 0; w && i < workers; i++) {
		if (w[i].job_w >= 0)
			close(w[i].job_w); /* EOF: the worker stops its driver and exits */
	}
	for (i = 0; w && i < workers; i++) {
		if (w[i].pid > 0) {
			if (r)
				kill(w[i].pid, SIGKILL);
			while (waitpid(w[i].pid, &st, 0) < 0 && errno == EINTR)
				;
			ps_proc_guard_worker(w[i].pid, false);
			if (!r && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
				r = ps_diag(d, PS_EDRIVER, "a worker of the harness failed");
		}
		if (w[i].res_r >= 0)
			close(w[i].res_r);
		free(w[i].buf);
	}
	for (i = 0; results && i < n; i++)
		ps_job_result_release(&results[i]);
	free(results);
	free(have);
	free(w);
	free(pfd);
	ps_proc_sweep();
	return r;
}
