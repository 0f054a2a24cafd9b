/*
 * The fault verbs (docs/PROTOCOL.md, Faults): fault(), faults_clear(),
 * fds_leaked(), children_left(), errno.NAME, over procspec's fault library
 * (tools/fiu/psfiu.h) when the harness has preloaded it.  The library is
 * found at run time, so the driver runs as well without it and then does
 * not offer the "faults" feature.  libprocref itself knows nothing of
 * faults: libfiu fails its system calls from outside.  It only says when
 * it does the work of CPython's executor threads (pr_set_background_hook),
 * which the driver passes on to psfiu_background, so that a fault scoped
 * to thread="background" meets the same calls in libprocref as in CPython.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static struct {
	int (*begin)(void);
	int (*arm)(const char *, int, long, long);
	void (*clear)(void);
	void (*active)(int);
	void (*count_all)(void);
	const char *(*site)(unsigned);
	long (*calls)(unsigned);
	long (*fired)(unsigned);
	int (*arm_in)(const char *, int, long, long, int);
	void (*background)(int);
	long (*calls_in)(unsigned, int);
	int ok, threads;
} fiu;

/* psfiu.h's scopes */
enum { SCOPE_ANY, SCOPE_STEP, SCOPE_BACKGROUND };

#define LOOKUP(field, name) (*(void **)&fiu.field = dlsym(RTLD_DEFAULT, name))

int drv_faults_init(void)
{
	fiu.ok = LOOKUP(begin, "psfiu_begin") && LOOKUP(arm, "psfiu_arm") &&
		 LOOKUP(clear, "psfiu_clear") && LOOKUP(active, "psfiu_active") &&
		 LOOKUP(count_all, "psfiu_count_all") && LOOKUP(site, "psfiu_site") &&
		 LOOKUP(calls, "psfiu_calls") && LOOKUP(fired, "psfiu_fired");
	fiu.threads = fiu.ok && LOOKUP(arm_in, "psfiu_arm_in") &&
		      LOOKUP(background, "psfiu_background") && LOOKUP(calls_in, "psfiu_calls_in");
	if (fiu.threads)
		pr_set_background_hook(fiu.background);
	return fiu.ok;
}

int drv_faults_threads(void)
{
	return fiu.threads;
}

int drv_faults_begin(int count)
{
	int r;

	if (!fiu.ok)
		return 0;
	if ((r = fiu.begin()) < 0)
		return r;
	if (count)
		fiu.count_all();
	return 0;
}

void drv_faults_active(int on)
{
	if (fiu.ok)
		fiu.active(on);
}

void drv_faults_end(void)
{
	if (fiu.ok) {
		fiu.active(0);
		fiu.clear();
	}
}

json_t *drv_faults_counts(void)
{
	json_t *o;
	unsigned i;

	if (!fiu.ok || (o = json_object()) == NULL)
		return NULL;
	for (i = 0; fiu.site(i) != NULL; i++)
		if (fiu.calls(i) > 0 && fiu.threads)
			json_object_set_new(
				o, fiu.site(i),
				json_pack("[I, I, I, I]", (json_int_t)fiu.calls(i),
					  (json_int_t)fiu.fired(i),
					  (json_int_t)fiu.calls_in(i, SCOPE_STEP),
					  (json_int_t)fiu.calls_in(i, SCOPE_BACKGROUND)));
		else if (fiu.calls(i) > 0)
			json_object_set_new(o, fiu.site(i),
					    json_pack("[I, I]", (json_int_t)fiu.calls(i),
						      (json_int_t)fiu.fired(i)));
	return o;
}

/* An int argument as a C long: the harness has checked its range. */
static long long_of(pr_value *v, long dflt)
{
	char *text = NULL;
	long n = dflt;

	if (v == NULL || pr_kind(v) == PR_NONE)
		return dflt;
	if (pr_repr(v, &text, NULL) == 0)
		n = strtol(text, NULL, 10);
	free(text);
	return n;
}

/* thread="any" | "step" | "background": psfiu.h's scope, or -1 */
static int scope_of(pr_value *v)
{
	static const char *const names[] = { "any", "step", "background" };
	const char *text;
	size_t len, i;

	if (v == NULL)
		return SCOPE_ANY;
	if (pr_kind(v) != PR_STR || (text = pr_data(v, &len)) == NULL)
		return -1;
	for (i = 0; i < 3; i++)
		if (strlen(names[i]) == len && memcmp(names[i], text, len) == 0)
			return (int)i;
	return -1;
}

/* fault(name, *, errno=0, count=1, after=0, thread="any") */
static int v_fault(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	const char *name;
	size_t len;
	long count;
	int r, scope;

	(void)self;
	if (!fiu.ok)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "fault(): procspec's fault library is not preloaded");
	if ((name = pr_data(argv[0], &len)) == NULL || pr_kind(argv[0]) != PR_STR ||
	    strlen(name) != len)
		return pr_diag(d, PR_EUNSUPPORTED, "fault(): the site must be a str");
	count = argv[2] == NULL ? 1 : pr_kind(argv[2]) == PR_NONE ? -1 : long_of(argv[2], 1);
	if ((scope = scope_of(argv[4])) < 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "fault(): thread= takes 'any', 'step' or 'background'");
	if (scope != SCOPE_ANY && !fiu.threads)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "fault(): this fault library has no thread scopes");
	r = fiu.threads ?
		    fiu.arm_in(name, (int)long_of(argv[1], 0), count, long_of(argv[3], 0), scope) :
		    fiu.arm(name, (int)long_of(argv[1], 0), count, long_of(argv[3], 0));
	if (r < 0)
		return pr_diag(d, PR_EUNSUPPORTED, "fault(%s): %s", name,
			       r == -ENOENT ? "no such site" :
			       r == -EINVAL ? "the call cannot fail with that errno" :
					      strerror(-r));
	*out = pr_none();
	return 0;
}

static int v_faults_clear(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)d;
	if (fiu.ok)
		fiu.clear();
	*out = pr_none();
	return 0;
}

static int v_fds_leaked(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	long n;

	(void)self;
	(void)argv;
	if ((n = drv_fds_leaked(drv_current_scenario)) < 0)
		return pr_diag(d, PR_EUNSUPPORTED, "fds_leaked(): cannot list /proc/self/fd");
	*out = pr_int(n);
	return 0;
}

static int v_children_left(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)d;
	*out = pr_int(drv_children_left());
	return 0;
}

static const char *const fault_params[] = { "name" };
static const char *const fault_kwonly[] = { "errno", "count", "after", "thread" };

const pr_func drv_verb_children_left = { .name = "children_left", .fn = v_children_left };
const pr_func drv_verb_fault = { .name = "fault",
				 .params = fault_params,
				 .nparams = 1,
				 .nrequired = 1,
				 .kwonly = fault_kwonly,
				 .nkwonly = 4,
				 .fn = v_fault };
const pr_func drv_verb_faults_clear = { .name = "faults_clear", .fn = v_faults_clear };
const pr_func drv_verb_fds_leaked = { .name = "fds_leaked", .fn = v_fds_leaked };

int drv_errno_value(const char *name)
{
	const char *n;
	int e;

	for (e = 1; e < 4096; e++)
		if ((n = strerrorname_np(e)) != NULL && strcmp(n, name) == 0)
			return e;
	return 0;
}
