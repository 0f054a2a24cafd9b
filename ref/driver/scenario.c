/*
 * The scenario process: forked by the zygote on begin, it plays the
 * scenario's main program, answers begun, every step and end itself
 * (reading the protocol fd directly), and exits.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"

/* ---- fds and children, for the end of a scenario ----------------------- */

struct fdset {
	int *fds;
	size_t n;
};

/* The fds open in this process (the directory's own fd left out). */
static int open_fds(struct fdset *set)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int *grown, fd;
	size_t cap = 0;

	set->fds = NULL;
	set->n = 0;
	if (dir == NULL)
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(dir))
			continue;
		if (set->n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((grown = realloc(set->fds, cap * sizeof *grown)) == NULL) {
				closedir(dir);
				return -ENOMEM;
			}
			set->fds = grown;
		}
		set->fds[set->n++] = fd;
	}
	closedir(dir);
	return 0;
}

static int fdset_has(const struct fdset *set, int fd)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->fds[i] == fd)
			return 1;
	return 0;
}

/* Append fd to set unless it is there or negative.  0 or -ENOMEM. */
static int fdset_add(struct fdset *set, size_t *cap, int fd)
{
	int *grown;

	if (fd < 0 || fdset_has(set, fd))
		return 0;
	if (set->n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		if ((grown = realloc(set->fds, *cap * sizeof *grown)) == NULL)
			return -ENOMEM;
		set->fds = grown;
	}
	set->fds[set->n++] = fd;
	return 0;
}

/* How many fds this process has open: the size of /proc/self/fd (Linux 6.2
 * and later), -1 where the kernel does not give it. */
static long fd_count(void)
{
	struct stat st;

	return stat("/proc/self/fd", &st) == 0 && st.st_size > 0 ? (long)st.st_size : -1;
}

/*
 * How many fds are open that are not in keep.  Where the kernel gives the
 * number of open fds (fd_count), that number less those of keep that are
 * open (one poll): listing /proc/self/fd makes an inode per fd, and did so
 * twice a scenario, a seventh of the driver's time in a fuzz session (make
 * bench).  Else the listing.  -1 if neither works.
 */
static long fds_outside(const struct fdset *keep)
{
	struct fdset now = { NULL, 0 };
	struct pollfd *pfd;
	long open = 0, count = fd_count();
	size_t i;
	int r;

	if (count > 0 && (pfd = calloc(keep->n ? keep->n : 1, sizeof *pfd)) != NULL) {
		for (i = 0; i < keep->n; i++)
			pfd[i].fd = keep->fds[i];
		do
			r = poll(pfd, keep->n, 0);
		while (r == -1 && errno == EINTR);
		for (i = 0; r >= 0 && i < keep->n; i++)
			open += !(pfd[i].revents & POLLNVAL);
		free(pfd);
		if (r >= 0)
			return count - open;
	}
	if (open_fds(&now) < 0)
		return -1;
	for (i = 0; i < now.n; i++)
		open += !fdset_has(keep, now.fds[i]);
	free(now.fds);
	return open;
}

/* The zygote's fds, listed once before its first scenario process: every
 * scenario process begins with these (the zygote opens nothing between
 * scenarios), unless something outside the driver adds its own after the
 * fork (valgrind opens a log per process): drv_scenario_main checks. */
static struct fdset zygote_fds;
static int zygote_fds_listed;

int drv_scenario_prepare(void)
{
	int r;

	if (zygote_fds_listed)
		return 0;
	if ((r = open_fds(&zygote_fds)) < 0)
		return r;
	zygote_fds_listed = 1;
	return 0;
}

void drv_scenario_fini(void)
{
	free(zygote_fds.fds);
	zygote_fds.fds = NULL;
	zygote_fds.n = 0;
	zygote_fds_listed = 0;
}

static int push_pid(pid_t **pids, size_t *n, size_t *cap, pid_t pid)
{
	pid_t *grown;

	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		if ((grown = realloc(*pids, *cap * sizeof *grown)) == NULL)
			return -ENOMEM;
		*pids = grown;
	}
	(*pids)[(*n)++] = pid;
	return 0;
}

/* Pids whose parent is this (single-threaded) process, zombies included:
 * none when waitid() says there is no child at all (the usual case at the
 * end of a scenario, one system call), else
 * /proc/self/task/TID/children where the kernel has it
 * (CONFIG_PROC_CHILDREN), else every /proc/N/stat. */
static size_t child_pids(pid_t **out)
{
	pid_t self = getpid(), *pids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	char path[300], buf[512], *p;
	siginfo_t si;
	DIR *dir;
	FILE *f;
	long pid, ppid;

	*out = NULL;
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == -1 && errno == ECHILD)
		return 0;
	snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)self);
	if ((f = fopen(path, "re")) != NULL) {
		while (fscanf(f, "%ld", &pid) == 1)
			if (push_pid(&pids, &n, &cap, (pid_t)pid) < 0)
				break;
		fclose(f);
		*out = pids;
		return n;
	}
	if ((dir = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* "pid (comm) state ppid ...": comm may hold ')' */
		if (p == NULL || sscanf(p + 1, " %*c %ld", &ppid) != 1 || ppid != self)
			continue;
		if (push_pid(&pids, &n, &cap, (pid_t)atol(e->d_name)) < 0)
			break;
	}
	closedir(dir);
	*out = pids;
	return n;
}

/* Kill and reap what is left: the number of distinct children found. */
static long sweep_children(void)
{
	pid_t *pids = NULL, r;
	size_t n = child_pids(&pids), i;
	long count = (long)n;
	int st;

	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++) {
		do
			r = waitpid(pids[i], &st, 0);
		while (r == -1 && errno == EINTR);
	}
	for (;;) {
		do
			r = waitpid(-1, &st, WNOHANG);
		while (r == -1 && errno == EINTR);
		if (r <= 0)
			break;
		for (i = 0; i < n && pids[i] != r; i++)
			;
		if (i == n)
			count++;
	}
	free(pids);
	return count;
}

long drv_children_left(void)
{
	pid_t *pids = NULL, server = pr_forkserver_pid();
	size_t n = child_pids(&pids), i;
	long count = 0;

	for (i = 0; i < n; i++)
		count += pids[i] != server;
	free(pids);
	return count;
}

long drv_fds_leaked(struct drv_scenario *s)
{
	struct fdset keep = { NULL, 0 };
	size_t i, cap = 0;
	long leaked;
	int r = 0;

	for (i = 0; s->begin_fds != NULL && i < s->begin_fds->n && !r; i++)
		r = fdset_add(&keep, &cap, s->begin_fds->fds[i]);
	if (!r)
		r = fdset_add(&keep, &cap, pr_forkserver_alive_fd());
	for (i = 0; i < 1024 && !r; i++)
		if (pr_gates_fd((int)i))
			r = fdset_add(&keep, &cap, (int)i);
	for (i = 0; i < s->nrecs && !r; i++)
		if ((r = fdset_add(&keep, &cap, s->recs[i].gate_r)) == 0 &&
		    (r = fdset_add(&keep, &cap, s->recs[i].gate_w)) == 0 &&
		    (r = fdset_add(&keep, &cap, s->recs[i].out_fd)) == 0)
			r = fdset_add(&keep, &cap, s->recs[i].err_fd);
	leaked = r ? -1 : fds_outside(&keep);
	free(keep.fds);
	return leaked;
}

/* ---- the driver's fds in a child --------------------------------------- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * First thing in every child libprocref forks: close the protocol, the
 * driver's saved stdio and every gate write end and capture file.  The
 * numbers are forgotten, so that a grandchild never closes them again
 * (they may be its own fds by then).
 */
static void after_fork_child(void *arg)
{
	struct drv_scenario *s = arg;
	size_t i;

	close_fd(&drv.proto_in);
	close_fd(&drv.proto_out);
	close_fd(&drv.saved_out);
	close_fd(&drv.saved_err);
	if (s == NULL)
		return;
	for (i = 0; i < s->nrecs; i++) {
		close_fd(&s->recs[i].gate_w);
		close_fd(&s->recs[i].out_fd);
		close_fd(&s->recs[i].err_fd);
	}
}

/* ---- steps ------------------------------------------------------------- */

static json_t *pids_of(struct drv_scenario *s)
{
	json_t *pids = json_object();
	struct drv_record *rec;
	size_t i;

	if (pids == NULL)
		return NULL;
	for (i = 0; i < s->nvars; i++) {
		/* a worker handle's pid normalises like a process's */
		if (pr_worker_pid(s->vars[i].value) > 0) {
			json_object_set_new(pids, s->vars[i].name,
					    json_integer(pr_worker_pid(s->vars[i].value)));
			continue;
		}
		if ((rec = drv_record_of(s, s->vars[i].value)) == NULL)
			continue;
		drv_note_pid(rec);
		if (rec->pid > 0)
			json_object_set_new(pids, s->vars[i].name, json_integer(rec->pid));
	}
	return pids;
}

static json_t *step(struct drv_scenario *s, json_t *req)
{
	json_t *res, *id = json_object_get(req, "id"), *v = NULL;
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *value = NULL;
	char *text = NULL;
	size_t len;
	int r;

	res = json_pack("{s:s, s:O}", "op", "result", "id", id ? id : json_null());
	if (res == NULL)
		return NULL;
	if (s->stopped) {
		/* PROTOCOL.md, begin: the steps pipelined behind a failed one
		 * are answered, never run (one may join() a child the failed
		 * step should have released) */
		json_object_set_new(res, "error",
				    json_string("not carried out: an earlier step could not be"));
		json_object_set_new(res, "pids", pids_of(s));
		return res;
	}
	r = drv_exec(s, json_object_get(req, "stmt"), &value, &d);
	/* a fork child whose os._exit() raised came back out of start()
	 * into this copy of the driver: it has no protocol, so it is
	 * recorded as escaped and stops here (tools/pydriver.py does the
	 * same) */
	if (getpid() != drv.scenario_pid) {
		pr_escape_note("main", r < 0 ? &d : NULL);
		pr_decref(value);
		pr_diag_clear(&d);
		json_decref(res);
		s->escaped = 1;
		return NULL;
	}
	if (r == 0 && (value == NULL || pr_kind(value) == PR_NONE)) {
		v = json_null();
	} else if (r == 0 && drv_is_text(s, value)) {
		pr_data(value, &len);
		v = json_pack("{s:o}", "text", drv_json_text(pr_data(value, NULL), len));
	} else if (r == 0) {
		drv_faults_active(1); /* repr() polls, as exitcode does */
		r = pr_repr(value, &text, &len);
		drv_faults_active(0);
		if (r < 0)
			pr_diag(&d, r, NULL);
		else
			v = json_pack("{s:o}", "repr", drv_json_text(text, len));
		free(text);
	}
	if (r == 0) {
		json_object_set_new(res, "value", v);
	} else if (d.code == PR_EUNSUPPORTED) {
		json_object_set_new(res, "error", drv_json_text(d.message, d.message_len));
		s->stopped = s->stop_on_error;
	} else {
		json_object_set_new(res, "raised",
				    json_pack("{s:s, s:o}", "type", d.type ? d.type : "?",
					      "message", drv_json_text(d.message, d.message_len)));
	}
	pr_decref(value);
	pr_diag_clear(&d);
	json_object_set_new(res, "pids", pids_of(s));
	return res;
}

/* ---- end --------------------------------------------------------------- */

/* The records escaped children appended to $PROCSPEC_ESCAPES (each a JSON
 * object a line, pr_escape_note()), read and removed: an array, NULL when
 * there are none. */
static json_t *escaped_records(const char *path)
{
	json_t *list = NULL, *rec;
	json_error_t jerr;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (path[0] == '\0' || (f = fopen(path, "re")) == NULL)
		return NULL;
	unlink(path);
	while ((n = getline(&line, &cap, f)) > 0) {
		if ((rec = json_loadb(line, (size_t)n, 0, &jerr)) == NULL) {
			drv_log("unreadable escape record: %s", jerr.text);
			continue;
		}
		if (list == NULL && (list = json_array()) == NULL) {
			json_decref(rec);
			break;
		}
		json_array_append_new(list, rec);
	}
	free(line);
	fclose(f);
	return list;
}

static void drop_scenario(struct drv_scenario *s)
{
	size_t i;

	for (i = 0; i < s->nvars; i++) {
		free(s->vars[i].name);
		pr_decref(s->vars[i].value);
	}
	free(s->vars);
	s->vars = NULL;
	s->nvars = 0;
	for (i = 0; i < s->ntexts; i++)
		pr_decref(s->texts[i]);
	free(s->texts);
	s->texts = NULL;
	s->ntexts = 0;
	for (i = 0; i < s->nrecs; i++) {
		pr_decref(s->recs[i].weak);
		s->recs[i].weak = NULL;
	}
	pr_decref(s->current);
	s->current = NULL;
}

/*
 * PROTOCOL.md, end: release every gate, run the exit path, drop every
 * variable (the Popen finalizers close the sentinels), count what was
 * left, reply.
 */
static void end(struct drv_scenario *s, const struct fdset *begin_fds, int reply)
{
	struct pr_diag d = PR_DIAG_INIT;
	long leaked, children;
	size_t i;
	json_t *counts, *escaped;

	/* faults apply to the steps, not to the exit path */
	drv_faults_end();
	counts = s->count_faults ? drv_faults_counts() : NULL;
	for (i = 0; i < s->nrecs; i++)
		close_fd(&s->recs[i].gate_w);
	pr_gates_release_all();
	/* concurrent.futures' exit hook runs before multiprocessing's, in
	 * every release (spec: executor.md, end) */
	if (pr_executor_exit_hook(&d) < 0)
		drv_log("executor exit hook raised %s: %s", d.type ? d.type : "?", d.message);
	pr_diag_clear(&d);
	if (pr_exit_function(&d) < 0)
		drv_log("exit function raised %s: %s", d.type ? d.type : "?", d.message);
	pr_diag_clear(&d);
	drop_scenario(s);
	pr_gc_collect();
	/* the executors' pipes and sockets close first, as their objects go
	 * at interpreter exit: a worker the fork server started for a start()
	 * that then raised (its pid unread) waits on them, holding the
	 * server's alive pipe open, and exits at their EOF.  Then the helper
	 * server goes, before counting (tools/pydriver.py stops it the same
	 * way) */
	pr_executor_fini();
	pr_forkserver_stop();
	pr_gates_fini();
	for (i = 0; i < s->nrecs; i++) {
		close_fd(&s->recs[i].gate_r);
		close_fd(&s->recs[i].out_fd);
		close_fd(&s->recs[i].err_fd);
	}
	children = sweep_children();
	leaked = fds_outside(begin_fds);
	if (leaked < 0)
		leaked = 0;
	escaped = escaped_records(s->escapes);
	if (reply)
		drv_send(json_pack("{s:s, s:I, s:I, s:o*, s:o*}", "op", "ended", "fds_leaked",
				   (json_int_t)leaked, "children_left", (json_int_t)children,
				   "escaped", escaped, "faults", s->count_faults ? counts : NULL));
	if (!reply) {
		json_decref(counts);
		json_decref(escaped);
	}
	drv.shared[1] = 1;
}

/* ---- the scenario process ---------------------------------------------- */

static int fresh_authkey(pr_value *cp, struct pr_diag *d)
{
	unsigned char key[32];
	size_t got = 0;
	ssize_t n;
	pr_value *b;
	int r;

	while (got < sizeof key) {
		do
			n = getrandom(key + got, sizeof key - got, 0);
		while (n == -1 && errno == EINTR);
		if (n < 0)
			return pr_diag(d, -errno, NULL);
		got += (size_t)n;
	}
	if ((b = pr_bytes(key, sizeof key)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = pr_setattr(cp, "authkey", b, d);
	pr_decref(b);
	return r;
}

static int begin(struct drv_scenario *s, json_t *req, struct pr_diag *d)
{
	const char *method = json_string_value(json_object_get(req, "method"));
	pr_value *fn = NULL, *key = NULL;
	char *text = NULL;
	size_t len;
	int r;

	if ((r = pr_set_start_method(method, d)) < 0)
		return r;
	s->count_faults = json_is_true(json_object_get(req, "count_faults"));
	s->stop_on_error = json_is_true(json_object_get(req, "stop_on_error"));
	/* where escaped children record themselves: a forkserver child
	 * finds it in the environment it inherits through the server */
	snprintf(s->escapes, sizeof s->escapes, "%s/procspec-%ld.escaped",
		 getenv("TMPDIR") && getenv("TMPDIR")[0] == '/' ? getenv("TMPDIR") : "/tmp",
		 (long)getpid());
	if (setenv("PROCSPEC_ESCAPES", s->escapes, 1) < 0)
		return pr_diag(d, -errno, NULL);
	if ((r = drv_faults_begin(s->count_faults)) < 0)
		return pr_diag(d, PR_EUNSUPPORTED, "cannot start the fault library: %s",
			       strerror(-r));
	if ((fn = pr_global("current_process")) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = pr_call(fn, NULL, 0, NULL, NULL, 0, &s->current, d);
	pr_decref(fn);
	if (r < 0)
		return r;
	/* a fresh program gets a fresh authkey (process.py, at import) */
	if ((r = fresh_authkey(s->current, d)) < 0 ||
	    (r = pr_getattr(s->current, "authkey", &key, d)) < 0)
		return r;
	r = pr_repr(key, &text, &len);
	pr_decref(key);
	if (r < 0)
		return pr_diag(d, r, NULL);
	r = drv_send(json_pack("{s:s, s:I, s:o}", "op", "begun", "main_pid", (json_int_t)getpid(),
			       "authkey", drv_json_text(text, len)));
	free(text);
	return r < 0 ? pr_diag(d, r, NULL) : 0;
}

int drv_scenario_main(json_t *req)
{
	struct drv_scenario s = { 0 };
	struct pr_diag d = PR_DIAG_INIT;
	const struct fdset *begin_fds = &zygote_fds;
	struct fdset own = { NULL, 0 };
	json_t *msg, *reply;
	json_error_t jerr;
	const char *op;
	char *line;
	size_t len;
	int r, status = 0;

	drv.scenario_pid = getpid();
	/* if the zygote dies, so does this process: the gate write ends
	 * close and every blocked child is let go */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != drv.zygote_pid)
		return DRV_SCENARIO_FAILED;
	drv_current_scenario = &s;
	/* the zygote's fds, if they are all this process has; else its own list */
	if (fd_count() != (long)zygote_fds.n) {
		if (open_fds(&own) == 0)
			begin_fds = &own;
		else
			begin_fds = NULL;
	}
	s.begin_fds = begin_fds;
	pr_set_after_fork(after_fork_child, &s);
	pr_set_warning_hook(drv_note_warning, NULL);
	if (!zygote_fds_listed || begin_fds == NULL || begin(&s, req, &d) < 0) {
		drv_log("cannot begin: %s", d.message ? d.message : "?");
		status = DRV_SCENARIO_FAILED;
		goto out;
	}
	drv.shared[0] = 0;
	for (;;) {
		r = drv_read_line(&line, &len);
		if (r <= 0) {
			/* the harness is gone: clean up as end does */
			end(&s, begin_fds, 0);
			break;
		}
		drv.shared[0] = 1;
		if (r == DRV_TOO_LONG) {
			if (drv_send_error("request line too long") < 0) {
				end(&s, begin_fds, 0);
				break;
			}
			drv.shared[0] = 0;
			continue;
		}
		if (strspn(line, " \t\r") == len) {
			free(line);
			drv.shared[0] = 0;
			continue;
		}
		msg = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
		free(line);
		op = json_string_value(json_object_get(msg, "op"));
		if (msg == NULL || !json_is_object(msg)) {
			reply = json_pack("{s:s, s:s+}", "op", "error", "message",
					  "malformed request: ",
					  msg ? "request is not a JSON object" : jerr.text);
		} else if (op != NULL && strcmp(op, "step") == 0) {
			reply = step(&s, msg);
			if (s.escaped) {
				/* what the request held goes before the exit, so
				 * that memcheck finds nothing lost */
				json_decref(msg);
				_exit(DRV_SCENARIO_FAILED);
			}
		} else if (op != NULL && strcmp(op, "end") == 0) {
			json_decref(msg);
			end(&s, begin_fds, 1);
			break;
		} else if (op != NULL && strcmp(op, "begin") == 0) {
			reply = json_pack("{s:s, s:s}", "op", "error", "message",
					  "a scenario is already in progress");
		} else {
			char *q = NULL;

			if (asprintf(&q, "unknown op %s%s%s", op ? "'" : "", op ? op : "None",
				     op ? "'" : "") < 0)
				q = NULL;
			reply = json_pack("{s:s, s:o}", "op", "error", "message",
					  drv_json_text(q ? q : "unknown op", q ? strlen(q) : 10));
			free(q);
		}
		json_decref(msg);
		if (drv_send(reply) < 0) {
			end(&s, begin_fds, 0);
			break;
		}
		drv.shared[0] = 0;
	}
out:
	drop_scenario(&s);
	free(s.recs);
	free(own.fds);
	pr_diag_clear(&d);
	drv_current_scenario = NULL;
	pr_set_after_fork(NULL, NULL);
	pr_set_warning_hook(NULL, NULL);
	drv_warnings_clear();
	return status;
}
