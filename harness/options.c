#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "scenario.h"
#include "select.h"

/* The width of the option column in --help, as git's USAGE_OPTS_WIDTH. */
#define OPTS_WIDTH 20

void ps_strv_release(struct ps_strv *sv)
{
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int strv_push(struct ps_strv *sv, char *s)
{
	char **v = realloc(sv->v, (sv->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	sv->v = v;
	sv->v[sv->n++] = s;
	return 0;
}

int ps_opt_parse_double(const char *what, const char *text, double min, double max, unsigned flags,
			double *out, struct ps_diag *d)
{
	bool gt = flags & PS_OPTF_GT_MIN;
	char *end;
	double x;

	errno = 0;
	x = strtod(text, &end);
	/* strtod takes "nan", "inf" and rounds 1e999 to HUGE_VAL: none is a time. */
	if (end == text || *end || errno == ERANGE || !isfinite(x) || (gt ? x <= min : x < min) ||
	    x > max)
		return ps_diag(d, PS_EUSAGE, "%s '%s': expected a number %s %g and at most %g",
			       what, text, gt ? "above" : "from", min, max);
	*out = x;
	return 0;
}

static int parse_u64(const char *what, const char *text, double min, double max, uint64_t *out,
		     struct ps_diag *d)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (end == text || *end || errno || text[0] == '-' || text[0] == '+' || text[0] == ' ' ||
	    (double)v < min || (double)v > max)
		return ps_diag(d, PS_EUSAGE, "%s '%s': expected a number from %.0f to %.0f", what,
			       text, min, max);
	*out = v;
	return 0;
}

int ps_opt_method(const struct ps_option *opt, const char *arg, struct ps_diag *d)
{
	unsigned m = ps_method_parse(arg);

	if (!m)
		return ps_diag(d, PS_EUSAGE,
			       "--method %s: unknown start method "
			       "(fork, spawn or forkserver)",
			       arg);
	*(unsigned *)opt->value |= m;
	return 0;
}

int ps_opt_shard(const struct ps_option *opt, const char *arg, struct ps_diag *d)
{
	return ps_select_shard(opt->value, arg, d);
}

/* "--name", "-x" or "-x/--name": how errors name an option. */
static void opt_name(const struct ps_option *o, bool as_short, char *buf, size_t size)
{
	if (as_short || !o->long_name)
		snprintf(buf, size, "-%c", o->short_name);
	else
		snprintf(buf, size, "--%s", o->long_name);
}

static int take_value(const struct ps_command_help *cmd, const struct ps_option *o, bool as_short,
		      const char *arg, struct ps_diag *d)
{
	struct ps_diag vd = PS_DIAG_INIT;
	char name[64];
	uint64_t u;
	double x;
	int r = 0;

	opt_name(o, as_short, name, sizeof(name));
	if (o->seen)
		*o->seen = true;
	switch (o->type) {
	case PS_OPT_FLAG_:
		*(bool *)o->value = true;
		break;
	case PS_OPT_INT_:
		r = parse_u64(name, arg, o->min, o->max, &u, &vd);
		if (!r)
			*(unsigned *)o->value = (unsigned)u;
		break;
	case PS_OPT_U64_:
		r = parse_u64(name, arg, o->min, o->max, &u, &vd);
		if (!r)
			*(uint64_t *)o->value = u;
		break;
	case PS_OPT_DOUBLE_:
		r = ps_opt_parse_double(name, arg, o->min, o->max, o->flags, &x, &vd);
		if (!r)
			*(double *)o->value = x;
		break;
	case PS_OPT_STRING_:
		*(const char **)o->value = arg;
		break;
	case PS_OPT_LIST_:
		r = strv_push(o->value, (char *)arg);
		if (r)
			ps_diag(&vd, r, "out of memory");
		break;
	case PS_OPT_CALLBACK_:
		r = o->cb(o, arg, &vd); /* its message names the option */
		break;
	case PS_OPT_END_:
		break;
	}
	if (r)
		return ps_diag(d, r, "procspec %s: %s", cmd->name, vd.msg);
	return 0;
}

static const struct ps_option *find_long(const struct ps_option *opts, const char *name, size_t len)
{
	for (; opts->type != PS_OPT_END_; opts++)
		if (opts->long_name && strlen(opts->long_name) == len &&
		    !strncmp(opts->long_name, name, len))
			return opts;
	return NULL;
}

static const struct ps_option *find_short(const struct ps_option *opts, char c)
{
	for (; opts->type != PS_OPT_END_; opts++)
		if (opts->short_name && opts->short_name == c)
			return opts;
	return NULL;
}

static int unknown(const struct ps_command_help *cmd, const char *what, struct ps_diag *d)
{
	return ps_diag(d, PS_EUSAGE,
		       "procspec %s: unknown option '%s' ('procspec %s --help' lists "
		       "them)",
		       cmd->name, what, cmd->name);
}

static int missing(const struct ps_command_help *cmd, const struct ps_option *o, bool as_short,
		   struct ps_diag *d)
{
	char name[64];

	opt_name(o, as_short, name, sizeof(name));
	return ps_diag(d, PS_EUSAGE, "procspec %s: option '%s' needs a value (%s)", cmd->name, name,
		       o->argh ? o->argh : "a value");
}

/* One long option at argv[*i]; *i moves past the value it takes. */
static int parse_long(const struct ps_command_help *cmd, const struct ps_option *opts, int argc,
		      char **argv, int *i, struct ps_diag *d)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	const struct ps_option *o = find_long(opts, a, eq ? (size_t)(eq - a) : strlen(a));

	if (!o) {
		char what[80];
		int len = (int)(eq ? eq - a : (ptrdiff_t)strlen(a));

		snprintf(what, sizeof(what), "--%.*s", len, a);
		return unknown(cmd, what, d);
	}
	if (o->type == PS_OPT_FLAG_) {
		if (eq)
			return ps_diag(d, PS_EUSAGE, "procspec %s: option '--%s' takes no value",
				       cmd->name, o->long_name);
		return take_value(cmd, o, false, NULL, d);
	}
	if (eq)
		return take_value(cmd, o, false, eq + 1, d);
	if (*i + 1 >= argc)
		return missing(cmd, o, false, d);
	return take_value(cmd, o, false, argv[++*i], d);
}

/* A cluster of short options at argv[*i] ("-v", "-j4", "-vk PATTERN"). */
static int parse_short(const struct ps_command_help *cmd, const struct ps_option *opts, int argc,
		       char **argv, int *i, struct ps_diag *d)
{
	const char *p;
	int r;

	for (p = argv[*i] + 1; *p; p++) {
		const struct ps_option *o = find_short(opts, *p);

		if (!o) {
			char what[3] = { '-', *p, '\0' };

			return unknown(cmd, what, d);
		}
		if (o->type == PS_OPT_FLAG_) {
			r = take_value(cmd, o, true, NULL, d);
			if (r)
				return r;
			continue;
		}
		if (p[1])
			return take_value(cmd, o, true, p + 1, d);
		if (*i + 1 >= argc)
			return missing(cmd, o, true, d);
		return take_value(cmd, o, true, argv[++*i], d);
	}
	return 0;
}

int ps_options_parse(const struct ps_command_help *cmd, const struct ps_option *opts, int argc,
		     char **argv, struct ps_strv *args, char ***rest, struct ps_diag *d)
{
	int i, r;

	if (rest)
		*rest = NULL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			ps_options_usage(stdout, cmd, opts);
			return PS_OPT_HELP_SHOWN;
		}
		if (!strcmp(a, "--")) {
			if (rest) {
				*rest = argv + i + 1;
				return 0;
			}
			for (i++; i < argc; i++) {
				if (!args)
					goto extra;
				if (strv_push(args, argv[i]))
					return ps_diag(d, -ENOMEM, "out of memory");
			}
			return 0;
		}
		if (a[0] == '-' && a[1] == '-')
			r = parse_long(cmd, opts, argc, argv, &i, d);
		else if (a[0] == '-' && a[1])
			r = parse_short(cmd, opts, argc, argv, &i, d);
		else if (!args)
			goto extra;
		else
			r = strv_push(args, argv[i]) ? ps_diag(d, -ENOMEM, "out of memory") : 0;
		if (r)
			return r;
	}
	return 0;
extra:
	return ps_diag(d, PS_EUSAGE, "procspec %s: unexpected argument '%s'", cmd->name, argv[i]);
}

/* "-j, --jobs N" */
static int left_column(const struct ps_option *o, char *buf, size_t size)
{
	const char *sep = o->argh ? " " : "";
	const char *argh = o->argh ? o->argh : "";

	if (o->short_name && o->long_name)
		return snprintf(buf, size, "-%c, --%s%s%s", o->short_name, o->long_name, sep, argh);
	if (o->short_name)
		return snprintf(buf, size, "-%c%s%s", o->short_name, sep, argh);
	return snprintf(buf, size, "--%s%s%s", o->long_name, sep, argh);
}

void ps_options_usage(FILE *out, const struct ps_command_help *cmd, const struct ps_option *opts)
{
	char left[128];

	fprintf(out, "%s\n", cmd->usage);
	for (; opts->type != PS_OPT_END_; opts++) {
		const char *h = opts->help, *nl;
		int w = left_column(opts, left, sizeof(left));

		fprintf(out, "  %s", left);
		if (w >= OPTS_WIDTH - 1)
			fprintf(out, "\n%*s", OPTS_WIDTH + 2, "");
		else
			fprintf(out, "%*s", OPTS_WIDTH - w, "");
		/* continuation lines of the help line up under its first */
		while ((nl = strchr(h, '\n'))) {
			fprintf(out, "%.*s\n%*s", (int)(nl - h), h, OPTS_WIDTH + 2, "");
			h = nl + 1;
		}
		fprintf(out, "%s\n", h);
	}
	fprintf(out, "  -h, --help%*sthis help\n", OPTS_WIDTH - 10, "");
	if (cmd->footer)
		fprintf(out, "%s\n", cmd->footer);
}

int ps_options_exit(int r, const struct ps_diag *d)
{
	if (r == PS_OPT_HELP_SHOWN)
		return PS_EXIT_OK;
	fprintf(stderr, "%s\n", d->msg);
	return PS_EXIT_ERROR;
}
