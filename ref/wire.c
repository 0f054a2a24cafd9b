/*
 * What spawn and forkserver send to a child over its data pipe, in place
 * of CPython's pickles (spawn.get_preparation_data() and the process
 * object, Lib/multiprocessing/popen_spawn_posix.py Popen._launch): a
 * byte-exact encoding of the values a scenario can build, and of the
 * process description built from them.
 *
 * A value is one tag byte and its payload; lengths and counts are
 * uint64_t, integers and floats their native bytes (both ends are the
 * same build of libprocref on the same machine).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "executor.h"

#define put_u64  pr__wire_put_u64
#define put_blob pr__wire_put_blob

void put_u64(struct sbuf *sb, uint64_t n)
{
	pr__sb_put(sb, &n, sizeof n);
}

void put_blob(struct sbuf *sb, const void *data, size_t len)
{
	put_u64(sb, len);
	pr__sb_put(sb, data, len);
}

static int put_state(struct sbuf *sb, struct pr_process *p);

/* the fds the description being made passes (Popen._fds) */
static struct {
	int active, by_index;
	size_t base, n, cap;
	int *fds;
} pass;

static const int *inherited;
static size_t ninherited;

void pr__wire_pass_begin(int by_index, size_t base)
{
	pass.active = 1;
	pass.by_index = by_index;
	pass.base = base;
	pass.n = 0;
}

void pr__wire_pass_end(void)
{
	pass.active = 0;
	pass.n = pass.cap = 0;
	free(pass.fds);
	pass.fds = NULL;
}

const int *pr__wire_passed(size_t *n)
{
	*n = pass.n;
	return pass.fds;
}

int pr__wire_pass_fd(int fd, uint64_t *handle)
{
	int *grown;

	if (!pass.active)
		return PR_EUNSUPPORTED;
	if (pass.n == pass.cap) {
		grown = realloc(pass.fds, (pass.cap ? 2 * pass.cap : 4) * sizeof *grown);
		if (grown == NULL)
			return PR_EMEMORY;
		pass.fds = grown;
		pass.cap = pass.cap ? 2 * pass.cap : 4;
	}
	pass.fds[pass.n] = fd;
	*handle = pass.by_index ? (uint64_t)(pass.base + pass.n) : (uint64_t)fd;
	pass.n++;
	return 0;
}

void pr__wire_set_inherited(const int *fds, size_t n)
{
	inherited = fds;
	ninherited = n;
}

int pr__wire_inherited_fd(uint64_t handle)
{
	if (inherited == NULL)
		return handle <= INT32_MAX ? (int)handle : -1;
	return handle < ninherited ? inherited[handle] : -1;
}

int pr__wire_put(struct sbuf *sb, pr_value *v)
{
	const pr_func *f;
	size_t i, n;
	int r;

	if (v == NULL) {
		pr__sb_putc(sb, '-');
		return 0;
	}
	switch (v->kind) {
	case PR_NONE:
		pr__sb_putc(sb, 'N');
		return 0;
	case PR_BOOL:
		pr__sb_putc(sb, v->u.b ? 'T' : 'F');
		return 0;
	case PR_INT:
		if (v->u.i.big != NULL) {
			pr__sb_putc(sb, 'I');
			put_blob(sb, v->u.i.big, strlen(v->u.i.big));
		} else {
			pr__sb_putc(sb, 'i');
			put_u64(sb, (uint64_t)v->u.i.small);
		}
		return 0;
	case PR_FLOAT:
		pr__sb_putc(sb, 'f');
		pr__sb_put(sb, &v->u.f, sizeof v->u.f);
		return 0;
	case PR_STR:
	case PR_BYTES:
	case PR_AUTHKEY:
		pr__sb_putc(sb, v->kind == PR_STR ? 's' : v->kind == PR_BYTES ? 'y' : 'k');
		put_blob(sb, v->u.s.data, v->u.s.len);
		return 0;
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		pr__sb_putc(sb, v->kind == PR_TUPLE ? '(' : v->kind == PR_LIST ? '[' : '{');
		put_u64(sb, v->u.seq.len);
		n = v->kind == PR_DICT ? 2 * v->u.seq.len : v->u.seq.len;
		for (i = 0; i < n; i++)
			if ((r = pr__wire_put(sb, v->u.seq.items[i])) < 0)
				return r;
		return 0;
	case PR_FUNCTION:
		/* pickled by reference: a behaviour or a module global */
		f = v->u.fn.func;
		pr__sb_putc(sb, v->u.fn.is_class ? 'P' : 'B');
		if (!v->u.fn.is_class)
			put_blob(sb, f->name, strlen(f->name));
		return 0;
	case PR_OBJECT:
		return v->u.obj.type->wire != NULL ? v->u.obj.type->wire(sb, v) : PR_EUNSUPPORTED;
	case PR_PROCESS:
		/* an argument that is a Process object (pickled while spawning:
		 * unstarted, or any under 3.6, whose Popen is not sent) */
		if (pr__process_is_main_or_parent(v))
			return PR_EUNSUPPORTED;
		pr__sb_putc(sb, 'p');
		return put_state(sb, v->u.proc);
	default:
		return PR_EUNSUPPORTED;
	}
}

struct rd {
	const char *p, *end;
};

static int get_u64(struct rd *rd, uint64_t *n)
{
	if ((size_t)(rd->end - rd->p) < sizeof *n)
		return PR_EVALUE;
	memcpy(n, rd->p, sizeof *n);
	rd->p += sizeof *n;
	return 0;
}

static int get_blob(struct rd *rd, const char **data, size_t *len)
{
	uint64_t n;

	if (get_u64(rd, &n) < 0 || n > (uint64_t)(rd->end - rd->p))
		return PR_EVALUE;
	*data = rd->p;
	*len = (size_t)n;
	rd->p += n;
	return 0;
}

static int get_value(struct rd *rd, pr_value **out);
static int get_state(struct rd *rd, struct pr_process *p);

int pr__wire_get(const char **p, const char *end, pr_value **out)
{
	struct rd rd = { *p, end };
	int r = get_value(&rd, out);

	*p = rd.p;
	return r;
}

int pr__wire_get_u64(const char **p, const char *end, uint64_t *n)
{
	struct rd rd = { *p, end };
	int r = get_u64(&rd, n);

	*p = rd.p;
	return r;
}

int pr__wire_get_blob(const char **p, const char *end, const char **data, size_t *len)
{
	struct rd rd = { *p, end };
	int r = get_blob(&rd, data, len);

	*p = rd.p;
	return r;
}

static int get_value(struct rd *rd, pr_value **out)
{
	const char *data;
	char *text;
	pr_value **items;
	uint64_t n;
	size_t len, i, k;
	double f;
	char tag;
	int r;

	*out = NULL;
	if (rd->p >= rd->end)
		return PR_EVALUE;
	tag = *rd->p++;
	switch (tag) {
	case '-':
		return 0;
	case 'N':
		*out = pr_none();
		return 0;
	case 'T':
	case 'F':
		*out = pr_bool(tag == 'T');
		return 0;
	case 'i':
		if (get_u64(rd, &n) < 0)
			return PR_EVALUE;
		*out = pr_int((int64_t)n);
		break;
	case 'I':
		if (get_blob(rd, &data, &len) < 0)
			return PR_EVALUE;
		if ((text = strndup(data, len)) == NULL)
			return PR_EMEMORY;
		r = pr_int_parse(text, out);
		free(text);
		return r;
	case 'f':
		if ((size_t)(rd->end - rd->p) < sizeof f)
			return PR_EVALUE;
		memcpy(&f, rd->p, sizeof f);
		rd->p += sizeof f;
		*out = pr_float(f);
		break;
	case 's':
	case 'y':
	case 'k':
		if (get_blob(rd, &data, &len) < 0)
			return PR_EVALUE;
		*out = tag == 's' ? pr_str(data, len) :
		       tag == 'y' ? pr_bytes(data, len) :
				    pr__authkey(data, len);
		break;
	case '(':
	case '[':
	case '{':
		if (get_u64(rd, &n) < 0 || n > (uint64_t)(rd->end - rd->p))
			return PR_EVALUE;
		k = tag == '{' ? 2 * (size_t)n : (size_t)n;
		if ((items = calloc(k ? k : 1, sizeof *items)) == NULL)
			return PR_EMEMORY;
		for (i = 0; i < k; i++) {
			if ((r = get_value(rd, &items[i])) < 0 ||
			    (items[i] == NULL && (r = PR_EVALUE))) {
				pr__items_free(items, i + 1);
				return r;
			}
		}
		if (tag == '{') {
			r = pr_dict(items, (size_t)n, out, NULL);
			free(items);
			return r;
		}
		*out = tag == '(' ? pr_tuple(items, k) : pr_list(items, k);
		free(items);
		break;
	case 'P':
		*out = pr_global("Process");
		break;
	case 'p':
		if ((*out = pr__process_new()) == NULL)
			return PR_EMEMORY;
		if ((r = get_state(rd, (*out)->u.proc)) < 0) {
			pr_decref(*out);
			*out = NULL;
		}
		return r;
	case 'B':
		if (get_blob(rd, &data, &len) < 0)
			return PR_EVALUE;
		if ((text = strndup(data, len)) == NULL)
			return PR_EMEMORY;
		*out = pr_behaviour(text);
		if (*out == NULL)
			*out = pr__task_by_name(text);
		if (*out == NULL)
			*out = pr_global(text);
		free(text);
		return *out == NULL ? PR_EVALUE : 0;
	case 'C':
		return pr__subclass_from_wire(&rd->p, rd->end, out);
	case 'O':
		return pr__callable_object_from_wire(&rd->p, rd->end, out);
	case 'K':
		if (get_blob(rd, &data, &len) < 0)
			return PR_EVALUE;
		*out = len == 4 && memcmp(data, "fork", 4) == 0 ?
			       pr__context_class(&pr__fork_method) :
		       len == 5 && memcmp(data, "spawn", 5) == 0 ?
			       pr__context_class(&pr__spawn_method) :
		       len == 10 && memcmp(data, "forkserver", 10) == 0 ?
			       pr__context_class(&pr__forkserver_method) :
			       NULL;
		return *out == NULL ? PR_EVALUE : 0;
	case 'G':
	case 'W':
	case 'E':
		return pr__wire_get_object(tag, &rd->p, rd->end, out);
	case 'c': {
		/* a Connection: its mode, then its handle (pr__wire_pass_fd) */
		uint64_t mode, handle;
		int fd;

		if (get_u64(rd, &mode) < 0 || get_u64(rd, &handle) < 0 ||
		    (fd = pr__wire_inherited_fd(handle)) < 0)
			return PR_EVALUE;
		*out = pr__connection_from_fd(fd, (mode & 1) != 0, (mode & 2) != 0);
		break;
	}
	default:
		return PR_EVALUE;
	}
	return *out == NULL ? PR_EMEMORY : 0;
}

/*
 * The description: spawn.get_preparation_data() (name, the parent's
 * authkey, start_method), then the process object's state, then the fd
 * numbers the child finds its gate and stdio at (-1: none).
 */
int pr__wire_describe(struct sbuf *sb, pr_value *proc, const int fds[3])
{
	struct pr_process *p = proc->u.proc;
	struct pr_process *cur = pr__rt.current->u.proc;
	size_t i;
	int r;

	/* prep: name, authkey=current_process().authkey, start_method */
	if ((r = pr__wire_put(sb, p->name)) < 0 || (r = pr__wire_put(sb, cur->authkey)) < 0)
		return r;
	put_blob(sb, pr__rt.method->name, strlen(pr__rt.method->name));
	if ((r = put_state(sb, p)) < 0)
		return r;
	for (i = 0; i < 3; i++)
		put_u64(sb, (uint64_t)(int64_t)fds[i]);
	return sb->oom ? PR_EMEMORY : 0;
}

/* A process object's __dict__: identity, parent pid, name, daemon, authkey,
 * parent name, target, args, kwargs, the attributes set on it */
static int put_state(struct sbuf *sb, struct pr_process *p)
{
	size_t i;
	int r;

	put_u64(sb, p->nidentity);
	for (i = 0; i < p->nidentity; i++)
		put_u64(sb, (uint64_t)p->identity[i]);
	put_u64(sb, (uint64_t)(int64_t)p->parent_pid);
	if ((r = pr__wire_put(sb, p->name)) < 0 || (r = pr__wire_put(sb, p->daemon)) < 0 ||
	    (r = pr__wire_put(sb, p->authkey)) < 0 || (r = pr__wire_put(sb, p->parent_name)) < 0 ||
	    (r = pr__wire_put(sb, p->target)) < 0 || (r = pr__wire_put(sb, p->args)) < 0 ||
	    (r = pr__wire_put(sb, p->kwargs)) < 0 || (r = pr__wire_put(sb, p->cls)) < 0)
		return r;
	put_u64(sb, p->nattrs);
	for (i = 0; i < p->nattrs; i++) {
		put_blob(sb, p->attrs[i].name, strlen(p->attrs[i].name));
		if ((r = pr__wire_put(sb, p->attrs[i].value)) < 0)
			return r;
	}
	return 0;
}

/* spawn.prepare(data): the name through the setter (so that a name that
 * is no str raises TypeError here, before the target runs), the authkey,
 * the start method. */
static int prepare(struct rd *rd, struct pr_diag *d)
{
	pr_value *name = NULL, *key = NULL;
	const char *method;
	char *text = NULL;
	size_t len;
	int r;

	if ((r = get_value(rd, &name)) < 0 || (r = get_value(rd, &key)) < 0 ||
	    (r = get_blob(rd, &method, &len)) < 0)
		goto out;
	if ((text = strndup(method, len)) == NULL) {
		r = PR_EMEMORY;
		goto out;
	}
	if (name != NULL && (r = pr_setattr(pr__rt.current, "name", name, d)) < 0)
		goto out;
	if (key != NULL) {
		pr_decref(pr__rt.current->u.proc->authkey);
		pr__rt.current->u.proc->authkey = key;
		key = NULL;
	}
	r = pr_set_start_method(text, d);
out:
	free(text);
	pr_decref(name);
	pr_decref(key);
	if (r < 0 && d->code == 0)
		pr_diag(d, r, r == PR_EVALUE ? "bad process description" : NULL);
	return r;
}

int pr__wire_load(const char *data, size_t len, pr_value **out, int fds[3], struct pr_diag *d)
{
	struct rd rd = { data, data + len };
	struct pr_process *p;
	pr_value *v = NULL;
	uint64_t n, i;
	int r;

	*out = NULL;
	if ((r = prepare(&rd, d)) < 0)
		return r;
	if ((v = pr__process_new()) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	p = v->u.proc;
	if ((r = get_state(&rd, p)) < 0)
		goto fail;
	for (i = 0; i < 3; i++) {
		if ((r = get_u64(&rd, &n)) < 0)
			goto fail;
		fds[i] = (int)(int64_t)n;
	}
	*out = v;
	return 0;
fail:
	pr_decref(v);
	return pr_diag(d, r, r == PR_EVALUE ? "bad process description" : NULL);
}

/* What put_state() wrote, into a new process object p */
static int get_state(struct rd *rd, struct pr_process *p)
{
	const char *name;
	uint64_t n, i;
	size_t nlen, len = (size_t)(rd->end - rd->p);
	int r;

	if ((r = get_u64(rd, &n)) < 0 || n > len)
		return PR_EVALUE;
	if ((p->identity = calloc(n ? n : 1, sizeof *p->identity)) == NULL)
		return PR_EMEMORY;
	for (i = 0; i < n; i++)
		if ((r = get_u64(rd, (uint64_t *)&p->identity[i])) < 0)
			return r;
	p->nidentity = n;
	if ((r = get_u64(rd, &n)) < 0)
		return r;
	p->parent_pid = (pid_t)(int64_t)n;
	if ((r = get_value(rd, &p->name)) < 0 || (r = get_value(rd, &p->daemon)) < 0 ||
	    (r = get_value(rd, &p->authkey)) < 0 || (r = get_value(rd, &p->parent_name)) < 0 ||
	    (r = get_value(rd, &p->target)) < 0 || (r = get_value(rd, &p->args)) < 0 ||
	    (r = get_value(rd, &p->kwargs)) < 0 || (r = get_value(rd, &p->cls)) < 0 ||
	    (r = get_u64(rd, &n)) < 0)
		return r;
	if (p->cls != NULL && !pr__is_subclass(p->cls))
		return PR_EVALUE;
	if (n > len)
		return PR_EVALUE;
	if ((p->attrs = calloc(n ? n : 1, sizeof *p->attrs)) == NULL)
		return PR_EMEMORY;
	for (i = 0; i < n; i++) {
		if ((r = get_blob(rd, &name, &nlen)) < 0)
			return r;
		if ((p->attrs[i].name = strndup(name, nlen)) == NULL)
			return PR_EMEMORY;
		p->nattrs++;
		if ((r = get_value(rd, &p->attrs[i].value)) < 0)
			return r;
	}
	/* start() had run `del self._target, ...` */
	if (p->target == NULL || p->args == NULL || p->kwargs == NULL)
		p->target_deleted = 1;
	return 0;
}
