/*
 * procref-driver: libprocref behind the driver protocol (docs/PROTOCOL.md).
 * A zygote that forks one scenario process per scenario; the scenario
 * process evaluates the steps over libprocref and answers them itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "procref.h"

#define MAX_LINE (1u << 20)
#define MAX_FD 1024

static int proto_in = -1, proto_out = -1;
static int saved_out = -1, saved_err = -1;	/* fds 1 and 2 while start() runs */

struct var {
	char *name;
	struct pr_value *value;
	pid_t pid;		/* last pid seen, 0 if none */
};

struct channel {			/* a process variable's gate and capture files */
	struct pr_value *proc;		/* weak: compared, never dereferenced after free */
	int gate_r, gate_w, out, err;
};

static struct var *vars;
static size_t n_vars;
static struct channel *chans;
static size_t n_chans;
static unsigned char baseline[MAX_FD];

/* ---- protocol I/O ---- */

/* One line from proto_in, read a byte at a time so that the zygote never
 * takes a scenario process's request.  NULL at EOF or on an over-long line. */
static char *read_line(bool *too_long)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap), c;
	ssize_t n;

	*too_long = false;
	if (!buf)
		return NULL;
	for (;;) {
		do n = read(proto_in, &c, 1); while (n == -1 && errno == EINTR);
		if (n <= 0) {
			free(buf);
			return NULL;
		}
		if (c == '\n')
			break;
		if (len + 2 > cap) {
			char *nb;

			if (cap >= MAX_LINE) {
				*too_long = true;
				continue;	/* drop the rest of the line */
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		if (!*too_long)
			buf[len++] = c;
	}
	buf[len] = '\0';
	return buf;
}

static void send_msg(json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t len, off = 0;
	ssize_t w;

	json_decref(msg);
	if (!s)
		return;
	len = strlen(s);
	s[len++] = '\n';
	while (off < len) {
		do w = write(proto_out, s + off, len - off); while (w == -1 && errno == EINTR);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(s);
}

static void send_error(json_int_t id, const char *msg)
{
	if (id >= 0)
		send_msg(json_pack("{s:s, s:I, s:s, s:{}}", "op", "result", "id", id, "error", msg,
				   "pids"));
	else
		send_msg(json_pack("{s:s, s:s}", "op", "error", "message", msg));
}

/* ---- the scenario process ---- */

static void after_fork(void *arg)
{
	size_t i;

	(void)arg;
	/* A child keeps only its inherited gate read end and its fds 0-2. */
	close(proto_in);
	close(proto_out);
	close(saved_out);
	close(saved_err);
	for (i = 0; i < n_chans; i++) {
		close(chans[i].gate_w);
		close(chans[i].out);
		close(chans[i].err);
	}
	/* Forget them: a grandchild must not close numbers the child reused. */
	proto_in = proto_out = saved_out = saved_err = -1;
	free(chans);
	chans = NULL;
	n_chans = 0;
}

static struct var *find_var(const char *name)
{
	size_t i;

	for (i = 0; i < n_vars; i++)
		if (!strcmp(vars[i].name, name))
			return &vars[i];
	return NULL;
}

static struct channel *find_chan(const struct pr_value *p)
{
	size_t i;

	for (i = n_chans; i-- > 0;)
		if (chans[i].proc == p)
			return &chans[i];
	return NULL;
}

/* Gate and capture files for a process bound to a variable, made at binding time. */
static int new_channel(struct pr_value *p, struct pr_exc *e)
{
	struct channel c = { p, -1, -1, -1, -1 }, *nc;
	int g[2];

	if (find_chan(p))
		return 0;
	if (pipe2(g, O_CLOEXEC))
		return pr_raise(e, -errno, NULL);
	c.gate_r = g[0];
	c.gate_w = g[1];
	c.out = memfd_create("procspec-stdout", MFD_CLOEXEC);
	c.err = memfd_create("procspec-stderr", MFD_CLOEXEC);
	nc = realloc(chans, (n_chans + 1) * sizeof(*nc));
	if (c.out < 0 || c.err < 0 || !nc) {
		int err = errno ? errno : ENOMEM;

		close(c.gate_r);
		close(c.gate_w);
		if (c.out >= 0)
			close(c.out);
		if (c.err >= 0)
			close(c.err);
		if (nc)
			chans = nc;
		return pr_raise(e, -err, NULL);
	}
	chans = nc;
	chans[n_chans++] = c;
	pr_process_set_gate(p->proc, c.gate_r);
	return 0;
}

static void close_channels(void)
{
	size_t i;

	for (i = 0; i < n_chans; i++) {
		close(chans[i].gate_r);
		close(chans[i].gate_w);
		close(chans[i].out);
		close(chans[i].err);
	}
	free(chans);
	chans = NULL;
	n_chans = 0;
}

/* p.start() with fds 1 and 2 pointing at p's capture files. */
static int start_captured(struct pr_value *p, struct pr_exc *e)
{
	struct channel *c = find_chan(p);
	int r;

	if (!c)
		return pr_process_start(p->proc, e);
	saved_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
	saved_err = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (saved_out < 0 || saved_err < 0) {
		r = pr_raise(e, -errno, NULL);
		goto out;
	}
	dup2(c->out, 1);
	dup2(c->err, 2);
	r = pr_process_start(p->proc, e);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
out:
	if (saved_out >= 0)
		close(saved_out);
	if (saved_err >= 0)
		close(saved_err);
	saved_out = saved_err = -1;
	return r;
}

static char *read_capture(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END), off = 0;
	char *buf;
	ssize_t n;

	if (size < 0)
		size = 0;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return NULL;
	while (off < size) {
		do n = pread(fd, buf + off, (size_t)(size - off), off); while (n == -1 && errno == EINTR);
		if (n <= 0)
			break;
		off += n;
	}
	buf[off] = '\0';
	return buf;
}

static const char *kind_name(const struct pr_value *v)
{
	static const char *const names[] = {
		[PR_NONE] = "NoneType", [PR_BOOL] = "bool", [PR_INT] = "int", [PR_FLOAT] = "float",
		[PR_STR] = "str", [PR_BYTES] = "bytes", [PR_TUPLE] = "tuple", [PR_LIST] = "list",
		[PR_DICT] = "dict", [PR_PROCESS] = "Process", [PR_BEHAVIOUR] = "function",
		[PR_AUTHKEY] = "AuthenticationString",
	};
	return names[v->kind];
}

/* An evaluation result: a value, text, or an exception in e (r < 0). */
struct res {
	struct pr_value *v;
	char *text;
	const char *error;	/* the driver could not carry the step out */
};

static int eval(json_t *x, struct res *res, struct pr_exc *e);

static int literal_int(const char *s, struct pr_value **out, struct pr_exc *e)
{
	char *end;
	long long i;

	errno = 0;
	i = strtoll(s, &end, 10);
	if (errno || *end)
		return pr_raise(e, PR_EOVERFLOW, "Python int too large to convert to C long");
	*out = pr_int(i);
	return 0;
}

static int eval_seq(json_t *a, enum pr_kind kind, struct res *res, struct pr_exc *e)
{
	size_t i, n = json_array_size(a);
	struct pr_value *v = pr_seq(kind, kind == PR_DICT ? 2 * n : n);
	struct res sub;
	int r;

	if (!v)
		return pr_raise(e, -ENOMEM, NULL);
	for (i = 0; i < n; i++) {
		json_t *it = json_array_get(a, i);
		size_t k;

		for (k = 0; k < (kind == PR_DICT ? 2u : 1u); k++) {
			memset(&sub, 0, sizeof(sub));
			r = eval(kind == PR_DICT ? json_array_get(it, k) : it, &sub, e);
			if (r || sub.error || !sub.v) {
				res->error = sub.error ? sub.error : r ? NULL : "bad element";
				free(sub.text);
				pr_unref(v);
				return r;
			}
			v->items[kind == PR_DICT ? 2 * i + k : i] = sub.v;
		}
	}
	res->v = v;
	return 0;
}

/* A harness verb or module function, called with evaluated args. */
static int call_global(const char *name, struct pr_value **args, size_t n, const char **kwn,
		       struct pr_value **kwv, size_t nk, struct res *res, struct pr_exc *e)
{
	struct channel *c;
	size_t i;
	int r;

	if (!strcmp(name, "Process")) {
		static const char *const params[] = { "group", "target", "name", "args", "kwargs", "daemon" };
		struct pr_value *p[6] = { 0 };
		size_t k;

		if (n > 5)
			return pr_raise(e, PR_ETYPE, "BaseProcess.__init__() takes from 1 to 6 positional "
					"arguments but %zu were given", n + 1);
		for (i = 0; i < n; i++)
			p[i] = args[i];
		for (i = 0; i < nk; i++) {
			for (k = 0; k < 6; k++)
				if (!strcmp(kwn[i], params[k]))
					break;
			if (k == 6)
				return pr_raise(e, PR_ETYPE, "BaseProcess.__init__() got an unexpected "
						"keyword argument '%s'", kwn[i]);
			if (p[k])
				return pr_raise(e, PR_ETYPE, "BaseProcess.__init__() got multiple values "
						"for argument '%s'", kwn[i]);
			p[k] = kwv[i];
		}
		return pr_process_new(p[0], p[1], p[2], p[3], p[4], p[5], &res->v, e);
	}
	if (nk)
		return pr_raise(e, PR_ETYPE, "%s() takes no keyword arguments", name);
	if (!strcmp(name, "current_process") || !strcmp(name, "parent_process") ||
	    !strcmp(name, "active_children")) {
		if (n)
			return pr_raise(e, PR_ETYPE, "%s() takes 0 positional arguments but %zu were given",
					name, n);
		if (name[0] == 'a')
			return pr_active_children(&res->v, e);
		res->v = name[0] == 'c' ? pr_current_process() : pr_parent_process();
		return 0;
	}
	if (n != 1)
		return pr_raise(e, PR_ETYPE, "%s() takes exactly one argument (%zu given)", name, n);
	if (!strcmp(name, "pickles")) {
		r = pr_pickle_check(args[0], e);
		if (!r)
			res->v = pr_bool(true);
		return r;
	}
	c = args[0]->kind == PR_PROCESS ? find_chan(args[0]) : NULL;
	if (!c) {
		res->error = "release(), stdout() and stderr() take a process bound to a scenario variable";
		return 0;
	}
	if (!strcmp(name, "release")) {
		ssize_t w;

		do w = write(c->gate_w, "r", 1); while (w == -1 && errno == EINTR);
		res->v = pr_none();
		return 0;
	}
	if (!strcmp(name, "stdout") || !strcmp(name, "stderr")) {
		res->text = read_capture(name[3] == 'o' ? c->out : c->err);
		return 0;
	}
	res->error = "unknown global";
	return 0;
}

static int call_method(struct pr_value *obj, const char *meth, struct pr_value **args, size_t n,
		       const char **kwn, struct pr_value **kwv, size_t nk, struct res *res,
		       struct pr_exc *e)
{
	struct pr_process *p;
	bool alive;
	int r;

	if (obj->kind != PR_PROCESS)
		return pr_raise(e, PR_EATTR, "'%s' object has no attribute '%s'", kind_name(obj), meth);
	p = obj->proc;
	if (!strcmp(meth, "join")) {
		struct pr_value *timeout = n ? args[0] : NULL;

		if (n > 1)
			return pr_raise(e, PR_ETYPE, "BaseProcess.join() takes from 1 to 2 positional "
					"arguments but %zu were given", n + 1);
		if (nk == 1 && !strcmp(kwn[0], "timeout") && !n)
			timeout = kwv[0];
		else if (nk)
			return pr_raise(e, PR_ETYPE, "BaseProcess.join() got an unexpected keyword "
					"argument '%s'", kwn[0]);
		r = pr_process_join(p, timeout, e);
		res->v = r ? NULL : pr_none();
		return r;
	}
	if (n || nk)
		return pr_raise(e, PR_ETYPE, "BaseProcess.%s() takes 1 positional argument but %zu "
				"were given", meth, n + nk + 1);
	if (!strcmp(meth, "start"))
		r = start_captured(obj, e);
	else if (!strcmp(meth, "terminate"))
		r = pr_process_terminate(p, e);
	else if (!strcmp(meth, "kill"))
		r = pr_process_kill(p, e);
	else if (!strcmp(meth, "close"))
		r = pr_process_close(p, e);
	else if (!strcmp(meth, "is_alive")) {
		r = pr_process_is_alive(p, &alive, e);
		if (!r)
			res->v = pr_bool(alive);
		return r;
	} else
		return pr_raise(e, PR_EATTR, "'Process' object has no attribute '%s'", meth);
	if (!r)
		res->v = pr_none();
	return r;
}

static int eval_call(json_t *c, struct res *res, struct pr_exc *e)
{
	json_t *func = json_object_get(c, "func"), *args = json_object_get(c, "args");
	json_t *kw = json_object_get(c, "kwargs"), *g;
	size_t n = json_array_size(args), nk = json_array_size(kw), i, done = 0, kdone = 0;
	struct pr_value **av = calloc(n + 1, sizeof(*av)), **kv = calloc(nk + 1, sizeof(*kv));
	const char **kn = calloc(nk + 1, sizeof(*kn));
	struct pr_value *obj = NULL;
	struct res sub;
	int r = 0;

	if (!av || !kv || !kn) {
		r = pr_raise(e, -ENOMEM, NULL);
		goto out;
	}
	g = json_object_get(func, "getattr");
	if (g) {
		memset(&sub, 0, sizeof(sub));
		r = eval(json_object_get(g, "object"), &sub, e);
		if (r || sub.error || !sub.v) {
			res->error = sub.error;
			free(sub.text);
			goto out;
		}
		obj = sub.v;
	} else if (!json_is_string(json_object_get(func, "global"))) {
		res->error = "a call's func must be a global or an attribute";
		goto out;
	}
	for (i = 0; i < n; i++, done++) {
		memset(&sub, 0, sizeof(sub));
		r = eval(json_array_get(args, i), &sub, e);
		if (r || sub.error || !sub.v) {
			res->error = sub.error ? sub.error : r ? NULL : "text is not an argument";
			free(sub.text);
			goto out;
		}
		av[i] = sub.v;
	}
	for (i = 0; i < nk; i++, kdone++) {
		json_t *pair = json_array_get(kw, i);

		kn[i] = json_string_value(json_array_get(pair, 0));
		memset(&sub, 0, sizeof(sub));
		if (!kn[i]) {
			res->error = "malformed kwargs";
			goto out;
		}
		r = eval(json_array_get(pair, 1), &sub, e);
		if (r || sub.error || !sub.v) {
			res->error = sub.error ? sub.error : r ? NULL : "text is not an argument";
			free(sub.text);
			goto out;
		}
		kv[i] = sub.v;
	}
	if (obj)
		r = call_method(obj, json_string_value(json_object_get(g, "attr")), av, n, kn, kv, nk,
				res, e);
	else
		r = call_global(json_string_value(json_object_get(func, "global")), av, n, kn, kv, nk,
				res, e);
out:
	for (i = 0; i < done; i++)
		pr_unref(av[i]);
	for (i = 0; i < kdone; i++)
		pr_unref(kv[i]);
	pr_unref(obj);
	free(av);
	free(kv);
	free(kn);
	return r;
}

static const char *const globals[] = {
	"Process", "active_children", "current_process", "parent_process", "pickles", "release",
	"stderr", "stdout",
};

static int eval(json_t *x, struct res *res, struct pr_exc *e)
{
	const char *key = NULL;
	json_t *val = NULL;
	struct var *var;
	struct res sub;
	size_t i;
	int r;

	if (!json_is_object(x) || json_object_size(x) != 1) {
		res->error = "malformed expression";
		return 0;
	}
	json_object_foreach(x, key, val) {
		break;
	}
	if (!strcmp(key, "none")) {
		res->v = pr_none();
	} else if (!strcmp(key, "bool")) {
		res->v = pr_bool(json_is_true(val));
	} else if (!strcmp(key, "int") && json_is_string(val)) {
		return literal_int(json_string_value(val), &res->v, e);
	} else if (!strcmp(key, "float") && json_is_string(val)) {
		res->v = pr_float(strtod(json_string_value(val), NULL));
	} else if (!strcmp(key, "str") && json_is_string(val)) {
		res->v = pr_str(json_string_value(val), json_string_length(val));
	} else if (!strcmp(key, "bytes") && json_is_string(val)) {
		const char *h = json_string_value(val);
		size_t n = strlen(h) / 2;
		char *buf = malloc(n + 1);

		for (i = 0; buf && i < n; i++) {
			unsigned int b;

			sscanf(h + 2 * i, "%2x", &b);
			buf[i] = (char)b;
		}
		res->v = buf ? pr_bytes(buf, n, PR_BYTES) : NULL;
		free(buf);
	} else if (!strcmp(key, "tuple") || !strcmp(key, "list") || !strcmp(key, "dict")) {
		if (!json_is_array(val)) {
			res->error = "malformed sequence";
			return 0;
		}
		return eval_seq(val, key[0] == 't' ? PR_TUPLE : key[0] == 'l' ? PR_LIST : PR_DICT, res, e);
	} else if (!strcmp(key, "var") && json_is_string(val)) {
		var = find_var(json_string_value(val));
		if (!var)
			return pr_raise(e, PR_ENAME, "name '%s' is not defined", json_string_value(val));
		res->v = pr_ref(var->value);
	} else if (!strcmp(key, "behaviour") && json_is_string(val)) {
		if (!pr_behaviour_exists(json_string_value(val))) {
			res->error = "unknown behaviour";
			return 0;
		}
		res->v = pr_behaviour(json_string_value(val));
	} else if (!strcmp(key, "global") && json_is_string(val)) {
		for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
			if (!strcmp(globals[i], json_string_value(val)))
				break;
		res->error = i < sizeof(globals) / sizeof(globals[0]) ?
			     "a global can only be called" : "unknown global";
		return 0;
	} else if (!strcmp(key, "getattr") && json_is_object(val)) {
		const char *attr = json_string_value(json_object_get(val, "attr"));

		memset(&sub, 0, sizeof(sub));
		r = eval(json_object_get(val, "object"), &sub, e);
		if (r || sub.error || !sub.v || !attr) {
			res->error = sub.error ? sub.error : r ? NULL : "malformed getattr";
			free(sub.text);
			return r;
		}
		if (sub.v->kind != PR_PROCESS)
			r = pr_raise(e, PR_EATTR, "'%s' object has no attribute '%s'", kind_name(sub.v), attr);
		else
			r = pr_process_getattr(sub.v->proc, attr, &res->v, e);
		pr_unref(sub.v);
		return r;
	} else if (!strcmp(key, "call") && json_is_object(val)) {
		return eval_call(val, res, e);
	} else {
		res->error = "unknown expression";
		return 0;
	}
	if (!res->v)
		return pr_raise(e, -ENOMEM, NULL);
	return 0;
}

static void bind(const char *name, struct pr_value *v)
{
	struct var *var = find_var(name), *nv;

	if (!var) {
		nv = realloc(vars, (n_vars + 1) * sizeof(*nv));
		if (!nv)
			return;
		vars = nv;
		var = &vars[n_vars++];
		var->name = strdup(name);
		var->value = NULL;
		var->pid = 0;
	}
	pr_unref(var->value);
	var->value = pr_ref(v);
}

static json_t *pids_json(void)
{
	json_t *o = json_object();
	struct pr_value *pid;
	struct pr_exc e;
	size_t i;

	for (i = 0; i < n_vars; i++) {
		struct var *v = &vars[i];

		if (v->value->kind == PR_PROCESS && pr_process_getattr(v->value->proc, "pid", &pid, &e) == 0) {
			if (pid->kind == PR_INT)
				v->pid = (pid_t)pid->i;
			pr_unref(pid);
		}
		if (v->value->kind == PR_PROCESS && v->pid)
			json_object_set_new(o, v->name, json_integer(v->pid));
	}
	return o;
}

static void do_step(json_t *req)
{
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	json_t *st = json_object_get(req, "stmt"), *a, *reply;
	struct pr_exc e = { 0 };
	struct res res = { 0 };
	int r;

	if ((a = json_object_get(st, "assign"))) {
		const char *target = json_string_value(json_object_get(a, "target"));

		r = target ? eval(json_object_get(a, "value"), &res, &e) : 0;
		if (!target)
			res.error = "malformed assign";
		if (!r && !res.error && res.v) {
			if (res.v->kind == PR_PROCESS)
				r = new_channel(res.v, &e);
			if (!r)
				bind(target, res.v);
			pr_unref(res.v);
			res.v = NULL;
		}
	} else if ((a = json_object_get(st, "setattr"))) {
		struct res obj = { 0 };
		const char *attr = json_string_value(json_object_get(a, "attr"));

		r = eval(json_object_get(a, "object"), &obj, &e);
		if (!r && !obj.error && obj.v && attr) {
			r = eval(json_object_get(a, "value"), &res, &e);
			if (!r && !res.error && res.v) {
				if (obj.v->kind == PR_PROCESS)
					r = pr_process_setattr(obj.v->proc, attr, res.v, &e);
				else
					r = pr_raise(&e, PR_EATTR, "'%s' object has no attribute '%s'",
						     kind_name(obj.v), attr);
			}
			pr_unref(res.v);
			res.v = NULL;
		} else if (!r) {
			res.error = obj.error ? obj.error : "malformed setattr";
		}
		pr_unref(obj.v);
		free(obj.text);
	} else if ((a = json_object_get(st, "expr"))) {
		r = eval(a, &res, &e);
	} else {
		r = 0;
		res.error = "unknown statement";
	}
	if (res.error) {
		send_error(id, res.error);
		goto out;
	}
	reply = json_pack("{s:s, s:I}", "op", "result", "id", id);
	if (r) {
		json_object_set_new(reply, "raised", json_pack("{s:s, s:s}", "type", e.type,
							       "message", e.msg));
	} else if (res.text) {
		json_object_set_new(reply, "value", json_pack("{s:s}", "text", res.text));
	} else if (res.v && res.v->kind != PR_NONE) {
		char *s = pr_repr(res.v);

		json_object_set_new(reply, "value", json_pack("{s:s}", "repr", s ? s : ""));
		free(s);
	} else {
		json_object_set_new(reply, "value", json_null());
	}
	json_object_set_new(reply, "pids", pids_json());
	send_msg(reply);
out:
	pr_unref(res.v);
	free(res.text);
}

static void fd_snapshot(unsigned char *open_fds)
{
	struct pollfd pfd[MAX_FD];
	int i;

	for (i = 0; i < MAX_FD; i++) {
		pfd[i].fd = i;
		pfd[i].events = 0;
	}
	poll(pfd, MAX_FD, 0);
	for (i = 0; i < MAX_FD; i++)
		open_fds[i] = !(pfd[i].revents & POLLNVAL);
}

/* Children still running (killed) plus zombies (reaped). */
static long reap_children(void)
{
	char path[64], buf[4096];
	long count = 0;
	pid_t r;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		do n = read(fd, buf, sizeof(buf) - 1); while (n == -1 && errno == EINTR);
		close(fd);
		if (n > 0) {
			char *s = buf, *end;

			buf[n] = '\0';
			for (;;) {
				long pid = strtol(s, &end, 10);

				if (end == s)
					break;
				kill((pid_t)pid, SIGKILL);
				s = end;
			}
		}
	}
	for (;;) {
		do r = waitpid(-1, NULL, 0); while (r == -1 && errno == EINTR);
		if (r <= 0)
			break;
		count++;
	}
	return count;
}

static void do_end(void)
{
	unsigned char now[MAX_FD];
	long leaked = 0, left;
	size_t i;

	/* 1. release every gate */
	for (i = 0; i < n_chans; i++) {
		close(chans[i].gate_w);
		chans[i].gate_w = -1;
	}
	/* 2. the exit path of a main program */
	pr_exit_function();
	/* 3. drop every variable, and what the library holds */
	for (i = 0; i < n_vars; i++) {
		pr_unref(vars[i].value);
		free(vars[i].name);
	}
	free(vars);
	vars = NULL;
	n_vars = 0;
	pr_release_all();
	close_channels();
	/* 4. count */
	fd_snapshot(now);
	for (i = 0; i < MAX_FD; i++)
		leaked += now[i] && !baseline[i];
	left = reap_children();
	send_msg(json_pack("{s:s, s:i, s:i}", "op", "ended", "fds_leaked", (int)leaked,
			   "children_left", (int)left));
	close(proto_in);
	close(proto_out);
}

static void scenario(json_t *begin)
{
	const char *method = json_string_value(json_object_get(begin, "method"));
	struct pr_exc e = { 0 };
	struct pr_value *cur, *key = NULL;
	bool too_long;
	char *line, *s;
	json_t *req;
	int null_fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!method || strcmp(method, "fork")) {
		send_error(-1, "procref-driver supports only the fork start method");
		_exit(0);
	}
	if (pr_init(&e)) {
		send_error(-1, e.msg);
		_exit(1);
	}
	/* The scenario's own stdout is nobody's: children get capture files. */
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, 1);
		close(null_fd);
	}
	pr_set_after_fork(after_fork, NULL);
	fd_snapshot(baseline);
	cur = pr_current_process();
	pr_process_getattr(cur->proc, "authkey", &key, &e);
	s = key ? pr_repr(key) : NULL;
	send_msg(json_pack("{s:s, s:i, s:s}", "op", "begun", "main_pid", (int)getpid(),
			   "authkey", s ? s : ""));
	free(s);
	pr_unref(key);
	pr_unref(cur);
	while ((line = read_line(&too_long))) {
		req = json_loads(line, 0, NULL);
		free(line);
		if (too_long || !req || !json_is_string(json_object_get(req, "op"))) {
			send_error(-1, too_long ? "request line too long" : "request is not a JSON object with an op");
		} else if (!strcmp(json_string_value(json_object_get(req, "op")), "step")) {
			do_step(req);
		} else if (!strcmp(json_string_value(json_object_get(req, "op")), "end")) {
			json_decref(req);
			do_end();
			_exit(0);
		} else {
			send_error(-1, "unknown op in a scenario");
		}
		json_decref(req);
	}
	/* EOF: the harness is gone; clean up without a reply. */
	for (size_t i = 0; i < n_chans; i++)
		close(chans[i].gate_w);
	_exit(0);
}

int main(void)
{
	bool too_long;
	char *line;
	json_t *req;
	int null_fd, st;
	pid_t pid, r;

	signal(SIGPIPE, SIG_IGN);
	proto_in = fcntl(0, F_DUPFD_CLOEXEC, 100);
	proto_out = fcntl(1, F_DUPFD_CLOEXEC, 100);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (proto_in < 0 || proto_out < 0 || null_fd < 0)
		return 1;
	dup2(null_fd, 0);
	dup2(null_fd, 1);
	close(null_fd);
	send_msg(json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:[s]}", "op", "hello", "protocol", 1,
			   "driver", "procref-driver", "implementation",
			   "procref 0.1 (CPython 3.11 semantics)", "executable", "procref-driver",
			   "module", "libprocref", "methods", "fork"));
	while ((line = read_line(&too_long))) {
		req = json_loads(line, 0, NULL);
		free(line);
		if (too_long || !req || !json_is_string(json_object_get(req, "op"))) {
			send_error(-1, too_long ? "request line too long" : "request is not a JSON object with an op");
		} else if (strcmp(json_string_value(json_object_get(req, "op")), "begin")) {
			send_error(-1, "expected begin");
		} else {
			pid = fork();
			if (pid == 0)
				scenario(req);
			if (pid < 0) {
				send_error(-1, "fork failed");
			} else {
				do r = waitpid(pid, &st, 0); while (r == -1 && errno == EINTR);
				if (WIFSIGNALED(st))
					send_msg(json_pack("{s:s, s:i}", "op", "exited", "signal", WTERMSIG(st)));
				else
					send_msg(json_pack("{s:s, s:i}", "op", "exited", "code", WEXITSTATUS(st)));
			}
		}
		json_decref(req);
	}
	close(proto_in);
	close(proto_out);
	return 0;
}
