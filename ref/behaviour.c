/*
 * The child behaviours of docs/PROTOCOL.md ("Child behaviours"), run as a
 * process's target.  Each reports how it ended as _bootstrap sees it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "procref.h"

static const char *const raisable[] = {
	"Exception", "KeyError", "KeyboardInterrupt", "OSError", "RuntimeError",
	"SystemError", "TypeError", "ValueError",
};

static struct pr_value *arg(struct pr_value *args, struct pr_value *kwargs, size_t i,
			    const char *name)
{
	size_t k;

	if (args && i < args->n)
		return args->items[i];
	for (k = 0; kwargs && k + 1 < kwargs->n; k += 2)
		if (kwargs->items[k]->kind == PR_STR && !strcmp(kwargs->items[k]->s, name))
			return kwargs->items[k + 1];
	return NULL;
}

static void raise_out(struct pr_outcome *out, const char *type, const char *msg)
{
	out->kind = PR_OUT_EXCEPTION;
	pr_raise_named(&out->exc, type, msg);
}

static void write_value(int fd, struct pr_value *v)
{
	if (v && v->kind == PR_STR)
		pr__write_all(fd, v->s, v->len);
}

static void print_line(const char *label, struct pr_value *v)
{
	char *s = v ? pr_repr(v) : NULL;

	pr__write_all(1, label, strlen(label));
	if (s)
		pr__write_all(1, s, strlen(s));
	pr__write_all(1, "\n", 1);
	free(s);
	pr_unref(v);
}

static void reports(void)
{
	struct pr_value *cur = pr_current_process(), *par = pr_parent_process(), *v = NULL;
	struct pr_exc e;

	print_line("current_process(): ", pr_ref(cur));
	print_line("parent_process(): ", pr_ref(par));
	if (par->kind == PR_PROCESS && pr_process_getattr(par->proc, "pid", &v, &e) == 0)
		print_line("parent_process().pid: ", v);
	else
		print_line("parent_process().pid: ", pr_none());
	v = NULL;
	pr_process_getattr(cur->proc, "daemon", &v, &e);
	print_line("current_process().daemon: ", v);
	v = NULL;
	pr_process_getattr(cur->proc, "authkey", &v, &e);
	print_line("current_process().authkey: ", v);
	pr_unref(cur);
	pr_unref(par);
}

void pr__behaviour_run(const char *name, struct pr_value *args, struct pr_value *kwargs,
		       struct pr_outcome *out)
{
	struct pr_value *a, *b, *q = NULL;
	struct pr_exc e;
	size_t i;
	char *s, c;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (!strcmp(name, "returns")) {
		return;
	} else if (!strcmp(name, "blocks")) {
		int gate = pr_current_gate();

		if (gate < 0) {
			raise_out(out, "RuntimeError", "child.blocks: this process has no gate");
			return;
		}
		do n = read(gate, &c, 1); while (n == -1 && errno == EINTR);
	} else if (!strcmp(name, "exits")) {
		/* sys.exit(*args): no argument is None, several are a tuple */
		out->kind = PR_OUT_SYSTEMEXIT;
		if (!args || args->n == 0) {
			out->code = NULL;
		} else if (args->n == 1) {
			out->code = pr_ref(args->items[0]);
		} else {
			out->code = pr_seq(PR_TUPLE, args->n);
			for (i = 0; out->code && i < args->n; i++)
				out->code->items[i] = pr_ref(args->items[i]);
		}
	} else if (!strcmp(name, "os_exit")) {
		a = arg(args, kwargs, 0, "n");
		_exit(a && (a->kind == PR_INT || a->kind == PR_BOOL) ? (int)(a->i & 0xff) : 0);
	} else if (!strcmp(name, "raises")) {
		a = arg(args, kwargs, 0, "name");
		b = arg(args, kwargs, 1, "message");
		for (i = 0; i < sizeof(raisable) / sizeof(raisable[0]); i++)
			if (a && a->kind == PR_STR && !strcmp(a->s, raisable[i]))
				break;
		if (i == sizeof(raisable) / sizeof(raisable[0])) {
			s = a ? pr_repr(a) : NULL;
			out->kind = PR_OUT_EXCEPTION;
			pr_raise(&out->exc, PR_EVALUE, "child.raises(): unsupported exception class %s "
				 "(one of Exception, KeyError, KeyboardInterrupt, OSError, RuntimeError, "
				 "SystemError, TypeError, ValueError)", s ? s : "None");
			free(s);
			return;
		}
		/* str(KeyError(m)) is repr(m); the others show m as it is */
		s = b ? (!strcmp(raisable[i], "KeyError") ? pr_repr(b) : pr_str_of(b)) : strdup("");
		raise_out(out, raisable[i], s ? s : "");
		free(s);
	} else if (!strcmp(name, "starts_child")) {
		a = arg(args, kwargs, 0, "target");
		b = arg(args, kwargs, 1, "args");
		if (pr_process_new(NULL, a, NULL, b, NULL, arg(args, kwargs, 2, "daemon"), &q, &e) ||
		    pr_process_start(q->proc, &e)) {
			pr_unref(q);
			out->kind = PR_OUT_EXCEPTION;
			out->exc = e;
			return;
		}
		s = pr_repr(q);
		if (s) {
			pr__write_all(1, s, strlen(s));
			pr__write_all(1, "\n", 1);
		}
		free(s);
		pr_unref(q);
	} else if (!strcmp(name, "reports")) {
		reports();
	} else if (!strcmp(name, "writes")) {
		write_value(1, arg(args, kwargs, 0, "out"));
		write_value(2, arg(args, kwargs, 1, "err"));
	} else {
		raise_out(out, "RuntimeError", "unknown behaviour");
	}
}

bool pr_behaviour_exists(const char *name)
{
	static const char *const names[] = {
		"blocks", "exits", "os_exit", "raises", "reports", "returns", "starts_child", "writes",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}
