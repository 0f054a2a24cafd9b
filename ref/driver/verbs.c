/*
 * The harness verbs of a scenario (docs/PROTOCOL.md, Globals): release(p),
 * stdout(p), stderr(p), pickles(x), and the records behind them: the gate
 * and capture files of every process object bound to a variable.  What
 * each does on misuse follows tools/pydriver.py: a driver error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

struct drv_scenario *drv_current_scenario;

/* weakref.ref(obj) as a scenario makes one; NULL if it cannot be made */
static pr_value *weak_ref(pr_value *obj)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *mod = pr_global("weakref"), *ref = NULL, *w = NULL;

	if (mod != NULL && pr_getattr(mod, "ref", &ref, &d) == 0)
		pr_call(ref, &obj, 1, NULL, NULL, 0, &w, &d);
	pr_diag_clear(&d);
	pr_decref(ref);
	pr_decref(mod);
	return w;
}

/* The object rec's weak reference gives: a new reference, or NULL once
 * the object was freed. */
static pr_value *record_obj(const struct drv_record *rec)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *obj = NULL;

	if (rec->weak == NULL || pr_call(rec->weak, NULL, 0, NULL, NULL, 0, &obj, &d) < 0) {
		pr_diag_clear(&d);
		return NULL;
	}
	if (pr_kind(obj) == PR_NONE) {
		pr_decref(obj);
		return NULL;
	}
	return obj;
}

struct drv_record *drv_record_of(struct drv_scenario *s, pr_value *obj)
{
	pr_value *o;
	size_t i;

	for (i = 0; i < s->nrecs; i++) {
		o = record_obj(&s->recs[i]);
		pr_decref(o);
		if (o == obj && o != NULL)
			return &s->recs[i];
	}
	return NULL;
}

void drv_note_pid(struct drv_record *rec)
{
	pr_value *obj = record_obj(rec);
	pid_t pid = obj != NULL ? pr_process_pid(obj) : 0;

	pr_decref(obj);
	if (pid > 0)
		rec->pid = pid;
}

/* An anonymous file, opened for appending: p and everything it starts
 * share it as fd 1 or fd 2.  A memfd costs no directory entry to make and
 * remove (a twentieth of the driver's time in a fuzz session, make bench);
 * an unlinked file in $TMPDIR where there is no memfd_create. */
static int capture_file(struct drv_scenario *s, const char *tag)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd, flags;

	snprintf(path, sizeof path, "procspec-%s", tag);
	if ((fd = memfd_create(path, MFD_CLOEXEC)) >= 0) {
		if ((flags = fcntl(fd, F_GETFL)) >= 0 && fcntl(fd, F_SETFL, flags | O_APPEND) == 0)
			return fd;
		flags = -errno;
		close(fd);
		return flags;
	}
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	for (;;) {
		snprintf(path, sizeof path, "%s/procspec-%ld-%u.%s", dir, (long)getpid(),
			 ++s->serial, tag);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* A gate: a close-on-exec pipe whose read end children inherit (fork
 * keeps close-on-exec fds) and whose write end the children close. */
static int new_channel(int fds[2])
{
	return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

int drv_register(struct drv_scenario *s, pr_value *obj, struct pr_diag *d)
{
	struct drv_record rec = { NULL, 0, -1, -1, -1, -1 }, *grown;
	int fds[2], r;

	if ((r = new_channel(fds)) < 0)
		goto fail;
	rec.gate_r = fds[0];
	rec.gate_w = fds[1];
	if ((r = rec.out_fd = capture_file(s, "out")) < 0 ||
	    (r = rec.err_fd = capture_file(s, "err")) < 0)
		goto fail;
	grown = realloc(s->recs, (s->nrecs + 1) * sizeof *grown);
	if (grown == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	s->recs = grown;
	if ((rec.weak = weak_ref(obj)) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	pr_process_set_gate(obj, rec.gate_r);
	s->recs[s->nrecs++] = rec;
	return 0;
fail:
	if (rec.gate_r >= 0)
		close(rec.gate_r);
	if (rec.gate_w >= 0)
		close(rec.gate_w);
	if (rec.out_fd >= 0)
		close(rec.out_fd);
	if (rec.err_fd >= 0)
		close(rec.err_fd);
	return pr_diag(d, PR_EUNSUPPORTED,
		       "cannot create the gate and capture "
		       "files: [Errno %d] %s",
		       -r, strerror(-r));
}

/* The one process argument of release(), stdout() and stderr(). */
static int need_record(const char *verb, pr_value **argv, struct drv_record **rec,
		       struct pr_diag *d)
{
	pr_value *item = pr_item(argv[0], 0);

	if (pr_len(argv[0]) != 1 || pr_len(argv[1]) != 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "%s() takes exactly one "
			       "argument, a process",
			       verb);
	if (drv_current_scenario == NULL ||
	    (*rec = drv_record_of(drv_current_scenario, item)) == NULL)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "%s(): the argument is not a "
			       "process object bound to a scenario variable",
			       verb);
	return 0;
}

/* release(p): one byte on p's gate lets one blocked behaviour go on */
static int v_release(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct drv_record *rec;
	ssize_t n;
	int r;

	(void)self;
	(void)out;
	/* an executor gate (spec: executor.md): one byte on its go FIFO */
	if (pr_len(argv[0]) == 1 && pr_len(argv[1]) == 0 && pr_is_gate(pr_item(argv[0], 0)))
		return pr_gate_release(pr_item(argv[0], 0), d);
	if ((r = need_record("release", argv, &rec, d)) < 0)
		return r;
	if (rec->gate_w < 0)
		return pr_diag(d, PR_EUNSUPPORTED, "release(): the gate is already closed");
	do
		n = write(rec->gate_w, "r", 1);
	while (n == -1 && errno == EINTR);
	if (n < 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "release(): cannot write the "
			       "gate: [Errno %d] %s",
			       errno, strerror(errno));
	return 0;
}

/* What p and its descendants wrote so far: the capture file from its
 * start, read with pread (the children's fds share its offset). */
static int read_capture(const char *verb, int fd, pr_value **out, struct pr_diag *d)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *p;
	ssize_t n;

	if (buf == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (;;) {
		if (cap - len < 4096) {
			if ((p = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				return pr_diag(d, PR_EMEMORY, NULL);
			}
			buf = p;
			cap *= 2;
		}
		do
			n = pread(fd, buf + len, cap - len, (off_t)len);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			int err = errno;

			free(buf);
			return pr_diag(d, PR_EUNSUPPORTED,
				       "%s(): cannot read the "
				       "capture file: [Errno %d] %s",
				       verb, err, strerror(err));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* data.decode('utf-8', 'backslashreplace') */
	p = drv_backslashreplace(buf, len, &len);
	free(buf);
	if (p == NULL || (*out = pr_str(p, len)) == NULL) {
		free(p);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	free(p);
	return 0;
}

static int remember_text(pr_value *v, struct pr_diag *d)
{
	struct drv_scenario *s = drv_current_scenario;
	pr_value **grown;

	grown = realloc(s->texts, (s->ntexts + 1) * sizeof *grown);
	if (grown == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	s->texts = grown;
	s->texts[s->ntexts++] = pr_incref(v);
	return 0;
}

static int capture_verb(const char *verb, int err, pr_value **argv, pr_value **out,
			struct pr_diag *d)
{
	struct drv_record *rec;
	int r;

	if ((r = need_record(verb, argv, &rec, d)) < 0)
		return r;
	if ((r = read_capture(verb, err ? rec->err_fd : rec->out_fd, out, d)) < 0)
		return r;
	return remember_text(*out, d);
}

static int v_stdout(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	return capture_verb("stdout", 0, argv, out, d);
}

static int v_stderr(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	return capture_verb("stderr", 1, argv, out, d);
}

/* pickles(x): ForkingPickler.dumps(x) succeeds: True, or its exception */
static int v_pickles(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int r;

	(void)self;
	if (pr_len(argv[0]) != 1 || pr_len(argv[1]) != 0)
		return pr_diag(d, PR_EUNSUPPORTED, "pickles() takes exactly one argument");
	if ((r = pr_pickle_check(pr_item(argv[0], 0), d)) < 0)
		return r;
	*out = pr_bool(1);
	return 0;
}

static int remember_text(pr_value *v, struct pr_diag *d);

/* ---- executor verbs (spec: executor.md, Globals) ---------------------- */

/* What a bound of seconds comes to here: PROCSPEC_TIMEOUT_MULTIPLIER
 * scales it, as everywhere in the harness. */
static int scaled_ms(int seconds)
{
	const char *m = getenv("PROCSPEC_TIMEOUT_MULTIPLIER");
	double f = m != NULL ? atof(m) : 1.0;

	if (f < 1.0)
		f = 1.0;
	return (int)(seconds * 1000 * f);
}

static int one_arg(const char *verb, pr_value **argv, pr_value **arg, struct pr_diag *d)
{
	if (pr_len(argv[0]) != 1 || pr_len(argv[1]) != 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "%s() takes exactly one "
			       "argument",
			       verb);
	*arg = pr_item(argv[0], 0);
	return 0;
}

/* gate(): a new executor gate */
static int v_gate(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct pr_diag e = PR_DIAG_INIT;
	int r;

	(void)self;
	if (pr_len(argv[0]) != 0 || pr_len(argv[1]) != 0)
		return pr_diag(d, PR_EUNSUPPORTED, "gate() takes no arguments");
	if ((r = pr_gate_new(out, &e)) < 0)
		r = pr_diag(d, PR_EUNSUPPORTED, "cannot create a gate: %s",
			    e.message ? e.message : "?");
	pr_diag_clear(&e);
	return r;
}

/* started(g): the worker that runs the task blocked on g, within 5 s */
static int v_started(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *g;
	int r;

	(void)self;
	if ((r = one_arg("started", argv, &g, d)) < 0)
		return r;
	if (!pr_is_gate(g))
		return pr_diag(d, PR_EUNSUPPORTED,
			       "started(): the argument is "
			       "not a gate");
	return pr_gate_started(g, scaled_ms(5), out, d);
}

/* kill(w, sig): os.kill(w.pid, sig), as an outside actor */
static int v_kill(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *w = pr_item(argv[0], 0), *sig = pr_item(argv[0], 1);
	char *text = NULL;
	long n;

	(void)self;
	(void)out;
	if (pr_len(argv[0]) != 2 || pr_len(argv[1]) != 0 || pr_worker_pid(w) <= 0 ||
	    pr_kind(sig) != PR_INT || pr_str_of(sig, &text, NULL) < 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "kill() takes a worker "
			       "handle and a signal number");
	n = atol(text);
	free(text);
	if (kill(pr_worker_pid(w), (int)n) < 0)
		return pr_diag(d, -errno, NULL);
	return 0;
}

/* executable(): the program libprocref spawns its children with */
static int v_executable(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	char path[PATH_MAX];
	int r;

	(void)self;
	if (pr_len(argv[0]) != 0 || pr_len(argv[1]) != 0)
		return pr_diag(d, PR_EUNSUPPORTED, "executable() takes no arguments");
	if ((r = pr_get_executable(path, sizeof path)) < 0)
		return pr_diag(d, r, NULL);
	*out = pr_str(path, strlen(path));
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* unpicklable(): a threading.Lock() */
static int v_unpicklable(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	if (pr_len(argv[0]) != 0 || pr_len(argv[1]) != 0)
		return pr_diag(d, PR_EUNSUPPORTED, "unpicklable() takes no arguments");
	*out = pr_unpicklable();
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* cause(x): text, "TYPE: str(x.__cause__)" or "None" */
static int v_cause(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *x;
	int r;

	(void)self;
	if ((r = one_arg("cause", argv, &x, d)) < 0)
		return r;
	if ((r = pr_cause(x, out, d)) < 0)
		return r;
	return remember_text(*out, d);
}

/* settles(ex): True if what exit would wait for on ex ends within 3 s */
static int v_settles(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *ex;
	int r, ok;

	(void)self;
	if ((r = one_arg("settles", argv, &ex, d)) < 0)
		return r;
	if (!pr_is_executor(ex))
		return pr_diag(d, PR_EUNSUPPORTED,
			       "settles(): the argument is "
			       "not an executor");
	if ((r = pr_executor_settles(ex, scaled_ms(3), &ok, d)) < 0)
		return r;
	*out = pr_bool(ok);
	return 0;
}

/* ---- signals (docs/PROTOCOL.md, Signals) ----------------------------- */

/* The int value of a signal argument, or -1 */
static int signal_arg(pr_value *sig)
{
	char *text = NULL;
	long n;

	if (pr_kind(sig) != PR_INT || pr_str_of(sig, &text, NULL) < 0)
		return -1;
	n = atol(text);
	free(text);
	return n > 0 && n < 65 ? (int)n : -1;
}

static int is_current_process(pr_value *v)
{
	struct pr_diag e = PR_DIAG_INIT;
	pr_value *f = pr_global("current_process"), *cur = NULL;
	int is;

	if (f == NULL)
		return 0;
	is = pr_call(f, NULL, 0, NULL, NULL, 0, &cur, &e) == 0 && cur == v;
	pr_decref(cur);
	pr_decref(f);
	pr_diag_clear(&e);
	return is;
}

/*
 * The scenario process signals itself as CPython's would be: SIGINT runs
 * the default handler, which raises KeyboardInterrupt; SIGPIPE and SIGXFSZ
 * are ignored (Python sets SIG_IGN at start-up); any other signal takes
 * its default action for real.
 */
static int signal_self(int sig, struct pr_diag *d)
{
	if (sig == SIGINT)
		return pr_diag_raise(d, "KeyboardInterrupt", "%s", "");
	if (sig == SIGPIPE || sig == SIGXFSZ)
		return 0;
	if (kill(getpid(), sig) < 0)
		return pr_diag(d, -errno, NULL);
	return 0;
}

/* Wait, bounded, until the fork server (a child of the scenario process)
 * is a zombie or gone, so that the next start() meets a dead server */
static int server_dead(pid_t pid, struct pr_diag *d)
{
	struct timespec tick = { 0, 2000000 };
	char path[64], buf[256], *rp;
	int fd, waited;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	for (waited = 0; waited < scaled_ms(5); waited += 2) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return 0;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = '\0';
		/* "pid (comm) S ...": the state after the last ')' */
		if ((rp = strrchr(buf, ')')) != NULL && rp[1] == ' ' &&
		    (rp[2] == 'Z' || rp[2] == 'X'))
			return 0;
		nanosleep(&tick, NULL);
	}
	return pr_diag(d, PR_EUNSUPPORTED, "send_signal(): the fork server outlived SIGKILL");
}

/* os.kill()'s OSError: before 3.3 (PEP 3151) no subclass for the errno */
static int kill_error(int err, struct pr_diag *d)
{
	if (strncmp(pr_profile_name(), "2.", 2) == 0)
		return pr_diag_raise(d, "OSError", "[Errno %d] %s", err, strerror(err));
	return pr_diag(d, -err, NULL);
}

/* send_signal(target, sig): os.kill() of a child, the fork server or the
 * scenario process itself, as an outside actor */
static int v_send_signal(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *target = pr_item(argv[0], 0);
	struct drv_record *rec;
	const char *data;
	size_t len;
	pid_t pid;
	int sig;

	(void)self;
	(void)out;
	if (pr_len(argv[0]) != 2 || pr_len(argv[1]) != 0 ||
	    (sig = signal_arg(pr_item(argv[0], 1))) < 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "send_signal() takes a process, "
			       "'forkserver' or current_process(), and a signal number");
	if (pr_kind(target) == PR_STR && (data = pr_data(target, &len)) != NULL && len == 10 &&
	    memcmp(data, "forkserver", 10) == 0) {
		if ((pid = pr_forkserver_pid()) <= 0)
			return pr_diag(d, PR_EVALUE,
				       "send_signal(): no fork "
				       "server is running");
	} else if (is_current_process(target)) {
		return signal_self(sig, d);
	} else if ((rec = drv_record_of(drv_current_scenario, target)) != NULL) {
		drv_note_pid(rec);
		if ((pid = rec->pid) <= 0)
			return pr_diag(d, PR_EVALUE,
				       "send_signal(): the process "
				       "has not been started");
	} else {
		return pr_diag(d, PR_EUNSUPPORTED,
			       "send_signal(): the target is not a "
			       "process bound to a scenario variable, 'forkserver' or "
			       "current_process()");
	}
	if (kill(pid, sig) < 0)
		return kill_error(errno, d);
	if (sig == SIGKILL && pid == pr_forkserver_pid())
		return server_dead(pid, d);
	return 0;
}

/* The number of newlines in a capture file so far, read with pread (the
 * children's fds share its offset); -1 with errno when it cannot be read */
static long capture_lines(int fd)
{
	char buf[4096];
	long lines = 0;
	off_t off = 0;
	ssize_t n, i;

	for (;;) {
		do
			n = pread(fd, buf, sizeof buf, off);
		while (n == -1 && errno == EINTR);
		if (n < 0)
			return -1;
		if (n == 0)
			return lines;
		for (i = 0; i < n; i++)
			lines += buf[i] == '\n';
		off += n;
	}
}

/* ready(p): wait, bounded, until p's stdout capture holds something;
 * ready(p, n): until it holds n lines */
static int v_ready(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct drv_record *rec;
	struct timespec tick = { 0, 2000000 };
	pr_value *args = argv[0], *one = NULL, *n_v = NULL, *first;
	char *text;
	pr_value *pass[2];
	struct stat st;
	int64_t want = 0;
	long have;
	int r, waited;

	(void)self;
	(void)out;
	if (pr_len(args) == 2 && pr_len(argv[1]) == 0) {
		n_v = pr_item(args, 1);
		if (pr_kind(n_v) == PR_INT && pr_repr(n_v, &text, NULL) == 0) {
			want = strtoll(text, NULL, 10);
			free(text);
		}
		if (want < 1 || want > 99999)
			return pr_diag(d, PR_EUNSUPPORTED,
				       "ready(): the number of lines is an integer from 1");
		first = pr_incref(pr_item(args, 0)); /* pr_tuple() takes it */
		if ((one = pr_tuple(&first, 1)) == NULL)
			return pr_diag(d, PR_EMEMORY, NULL);
		pass[0] = one;
		pass[1] = argv[1];
		r = need_record("ready", pass, &rec, d);
		pr_decref(one);
	} else {
		r = need_record("ready", argv, &rec, d);
	}
	if (r < 0)
		return r;
	for (waited = 0;; waited += 2) {
		if (want == 0) {
			if (fstat(rec->out_fd, &st) < 0)
				return pr_diag(d, PR_EUNSUPPORTED,
					       "ready(): cannot read the capture file");
			if (st.st_size > 0)
				return 0;
		} else {
			if ((have = capture_lines(rec->out_fd)) < 0)
				return pr_diag(d, PR_EUNSUPPORTED,
					       "ready(): cannot read the capture file");
			if (have >= want)
				return 0;
		}
		if (waited >= scaled_ms(5))
			return pr_diag_raise(d, "TimeoutError",
					     want ? "fewer lines than asked for from the process" :
						    "no output from the process");
		nanosleep(&tick, NULL);
	}
}

/* subclass(name, *, run=None, args=()): libprocref's class (pr_subclass) */
static int v_subclass(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	return pr_subclass(argv[0], argv[1], argv[2], out, d);
}

/* ---- warnings_seen() -------------------------------------------------- */

static char **seen_warnings;
static size_t n_seen_warnings;

void drv_note_warning(const char *category, const char *message, void *arg)
{
	char **grown, *text;

	(void)arg;
	/* the scenario process's own: a child has its own warnings module */
	if (getpid() != drv.scenario_pid)
		return;
	if (asprintf(&text, "%s: %s", category, message) < 0)
		return;
	grown = realloc(seen_warnings, (n_seen_warnings + 1) * sizeof *grown);
	if (grown == NULL) {
		free(text);
		return;
	}
	seen_warnings = grown;
	seen_warnings[n_seen_warnings++] = text;
}

void drv_warnings_clear(void)
{
	size_t i;

	for (i = 0; i < n_seen_warnings; i++)
		free(seen_warnings[i]);
	free(seen_warnings);
	seen_warnings = NULL;
	n_seen_warnings = 0;
}

/* warnings_seen(): the warnings the implementation's own code issued in the
 * scenario process so far, each 'Category: message', in order */
static int v_warnings_seen(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value **items;
	size_t i;

	(void)self;
	if (pr_len(argv[0]) != 0 || pr_len(argv[1]) != 0)
		return pr_diag(d, PR_EUNSUPPORTED, "warnings_seen() takes no arguments");
	if ((items = calloc(n_seen_warnings + 1, sizeof *items)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < n_seen_warnings; i++)
		if ((items[i] = pr_str(seen_warnings[i], strlen(seen_warnings[i]))) == NULL) {
			while (i > 0)
				pr_decref(items[--i]);
			free(items);
			return pr_diag(d, PR_EMEMORY, NULL);
		}
	*out = pr_list(items, n_seen_warnings);
	free(items);
	return *out != NULL ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* callable_object(name, *, call): libprocref's (pr_callable_object) */
static int v_callable_object(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	if (argv[1] == NULL)
		return pr_diag(
			d, PR_ETYPE,
			"callable_object() missing 1 required keyword-only argument: 'call'");
	return pr_callable_object(argv[0], argv[1], out, d);
}

static const char *const no_params[] = { NULL };
static const char *const callable_object_params[] = { "name" };
static const char *const callable_object_kwonly[] = { "call" };
static const char *const subclass_params[] = { "name" };
static const char *const subclass_kwonly[] = { "run", "args" };

/* release(*args, **kwargs) and so on: the arguments are checked inside */
/* clang-format off */
#define VARIADIC(verb, f) { .name = verb, .params = no_params, .varargs = 1, \
			    .varkw = 1, .fn = f }
/* clang-format on */

const pr_func drv_verb_cause = VARIADIC("cause", v_cause);
const pr_func drv_verb_gate = VARIADIC("gate", v_gate);
const pr_func drv_verb_kill = VARIADIC("kill", v_kill);
const pr_func drv_verb_settles = VARIADIC("settles", v_settles);
const pr_func drv_verb_started = VARIADIC("started", v_started);
const pr_func drv_verb_unpicklable = VARIADIC("unpicklable", v_unpicklable);
const pr_func drv_verb_executable = VARIADIC("executable", v_executable);
const pr_func drv_verb_warnings_seen = VARIADIC("warnings_seen", v_warnings_seen);
const pr_func drv_verb_pickles = VARIADIC("pickles", v_pickles);
const pr_func drv_verb_release = VARIADIC("release", v_release);
const pr_func drv_verb_stderr = VARIADIC("stderr", v_stderr);
const pr_func drv_verb_stdout = VARIADIC("stdout", v_stdout);
/* signals */
const pr_func drv_verb_ready = VARIADIC("ready", v_ready);
const pr_func drv_verb_send_signal = VARIADIC("send_signal", v_send_signal);
const pr_func drv_verb_subclass = { .name = "subclass",
				    .params = subclass_params,
				    .nparams = 1,
				    .nrequired = 1,
				    .kwonly = subclass_kwonly,
				    .nkwonly = 2,
				    .fn = v_subclass };
const pr_func drv_verb_callable_object = { .name = "callable_object",
					   .params = callable_object_params,
					   .nparams = 1,
					   .nrequired = 1,
					   .kwonly = callable_object_kwonly,
					   .nkwonly = 1,
					   .fn = v_callable_object };

/* The dispatch table: the names are the table's, the functions the
 * driver's (here and in faults.c). */
static const struct {
	const char *name;
	const pr_func *f;
} verbs[] = {
#define VERB(name, args, ref) { name, &ref },
#include "vocab.def"
};

pr_value *drv_verb(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return pr_function(verbs[i].f);
	return NULL;
}

int drv_is_verb(pr_value *func)
{
	const pr_func *f = pr_function_of(func);
	size_t i;

	for (i = 0; f != NULL && i < ARRAY_SIZE(verbs); i++)
		if (verbs[i].f == f)
			return 1;
	return 0;
}

int drv_is_text(struct drv_scenario *s, pr_value *v)
{
	size_t i;

	for (i = 0; i < s->ntexts; i++)
		if (s->texts[i] == v)
			return 1;
	return 0;
}
