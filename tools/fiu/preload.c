/*
 * build/libprocspec-fiu.so: libfiu failpoints for the lifecycle calls that
 * libfiu's POSIX preload does not wrap, and the fault control drivers use
 * (psfiu.h).  Loaded with LD_PRELOAD ahead of libfiu's fiu_posix_preload.so.
 *
 * Each wrapper asks libfiu (fiu_fail) under the site's name; when it says
 * fail, errno comes from the failpoint's failinfo, or is the site's first
 * valid errno.  Whether an armed site fails a given call is decided by one
 * libfiu external callback (decide), which counts calls in a page shared
 * with the scenario process's children, so "fail the next N after letting K
 * pass" means the same in every implementation.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stddef.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define FIU_ENABLE 1
#include <fiu.h>
#include <fiu-control.h>

#include "psfiu.h"

#define EXPORT __attribute__((visibility("default")))

enum { MAX_ERRNOS = 12 };

static const struct site {
	const char *name;
	int errnos[MAX_ERRNOS]; /* zero-terminated, the first is the default */
} sites[] = {
#define SITE(name, who, ...) { name, { __VA_ARGS__ } },
#include "sites.def"
#undef SITE
};

#define N_SITES (sizeof(sites) / sizeof(sites[0]))

struct slot {
	int armed, persistent, err;
	int scope;         /* PSFIU_ANY, PSFIU_STEP or PSFIU_BACKGROUND */
	long count, after; /* calls still to fail; calls still to let pass */
	long calls, fired;
	long in[3]; /* calls seen in the stepping thread, in background work */
};

/* Whether a step is running: process-local, so that a fork child keeps the
 * value it was forked with while the parent goes on (a fork child's exec
 * races the parent's return from start(); a vfork child shares it, and its
 * parent waits). */
static int active;

/* The stepping thread: the one that last turned faults on.  A call is
 * background work when another thread of the scenario process makes it
 * (CPython's executor manager and queue feeder threads), or when the
 * calling thread has declared that it is doing that work
 * (psfiu_background: libprocref's manager runs inside the stepping
 * thread's calls).  tid is cached per thread, and is copied into a fork
 * or vfork child with the forking thread's memory, so that an exec in
 * the child counts as the work of the thread that forked it. */
static pid_t step_tid;
static __thread pid_t tls_tid;
static __thread int tls_background;
static __thread int tls_exempt; /* a driver's own thread (psfiu_exempt) */

static pid_t my_tid(void)
{
	if (!tls_tid)
		tls_tid = gettid();
	return tls_tid;
}

static int in_background(void)
{
	return tls_background > 0 || my_tid() != __atomic_load_n(&step_tid, __ATOMIC_SEQ_CST);
}

struct state {
	pid_t owner; /* the scenario process; 0: nothing applies */
	int counting;
	int enabled[N_SITES]; /* registered with libfiu in the owner */
	struct slot slot[N_SITES];
};

static struct state *st;

static int (*real_pipe)(int *);
static int (*real_pipe2)(int *, int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_socketpair)(int, int, int, int *);
static int (*real_execve)(const char *, char *const *, char *const *);
static int (*real_execv)(const char *, char *const *);
static int (*real_execvp)(const char *, char *const *);
static int (*real_execvpe)(const char *, char *const *, char *const *);
static int (*real_posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			       const posix_spawnattr_t *, char *const *, char *const *);
static int (*real_posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
				const posix_spawnattr_t *, char *const *, char *const *);
__attribute__((used, visibility("hidden"))) pid_t (*psfiu_real_vfork)(void);

static int site_index(const char *name)
{
	unsigned i;

	for (i = 0; i < N_SITES; i++)
		if (!strcmp(sites[i].name, name))
			return (int)i;
	return -1;
}

static int is_exec_site(unsigned i)
{
	return !strcmp(sites[i].name, "posix/proc/execve");
}

/* A fresh state page, shared with this process's children from now on
 * (MAP_SHARED survives fork and vfork, not exec). */
static struct state *state_new(void)
{
	void *p = mmap(NULL, sizeof(struct state), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* libfiu's external callback: whether this call of an enabled site fails. */
static int decide(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
	struct slot *s;
	long left;
	pid_t me;
	int i = site_index(name), bg, on, scope;

	(void)failnum;
	(void)flags;
	if (i < 0 || !st || !st->owner || tls_exempt)
		return 0;
	me = getpid();
	if (me != st->owner && !(is_exec_site((unsigned)i) && getppid() == st->owner))
		return 0;
	/* background work meets its faults whenever it runs: a step's
	 * boundary means nothing to the executor's own threads */
	on = __atomic_load_n(&active, __ATOMIC_SEQ_CST);
	bg = in_background();
	if (!on && !bg)
		return 0;
	s = &st->slot[i];
	if (on)
		__atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&s->in[bg ? PSFIU_BACKGROUND : PSFIU_STEP], 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&s->armed, __ATOMIC_SEQ_CST))
		return 0;
	scope = __atomic_load_n(&s->scope, __ATOMIC_SEQ_CST);
	if (scope == PSFIU_ANY ? !on : scope != (bg ? PSFIU_BACKGROUND : PSFIU_STEP))
		return 0;
	left = __atomic_fetch_sub(&s->after, 1, __ATOMIC_SEQ_CST);
	if (left > 0)
		return 0;
	__atomic_add_fetch(&s->after, 1, __ATOMIC_SEQ_CST);
	if (!s->persistent) {
		left = __atomic_fetch_sub(&s->count, 1, __ATOMIC_SEQ_CST);
		if (left <= 0) {
			__atomic_add_fetch(&s->count, 1, __ATOMIC_SEQ_CST);
			return 0;
		}
	}
	__atomic_add_fetch(&s->fired, 1, __ATOMIC_SEQ_CST);
	*failinfo = (void *)(long)s->err;
	return 1;
}

/* Whether the wrapped call of site i fails now; errno is set when it does. */
static int fails(unsigned i)
{
	long e;

	if (!fiu_fail(sites[i].name))
		return 0;
	e = (long)fiu_failinfo();
	errno = e ? (int)e : sites[i].errnos[0];
	return 1;
}

/* Wrappers name their site; the table is small. */
#define SITE_OF(name) ((unsigned)site_index(name))

static int enable(unsigned i)
{
	if (st->enabled[i])
		return 0;
	if (fiu_enable_external(sites[i].name, 1, NULL, 0, decide) < 0)
		return -ENOMEM;
	st->enabled[i] = 1;
	return 0;
}

EXPORT int psfiu_begin(void)
{
	struct state *fresh;
	unsigned i;

	for (i = 0; st && i < N_SITES; i++)
		if (st->enabled[i] && st->owner == getpid())
			fiu_disable(sites[i].name);
	/* The page inherited from the zygote is shared with every other
	 * scenario process: take one of our own. */
	fresh = state_new();
	if (!fresh)
		return -errno;
	if (st)
		munmap(st, sizeof(*st));
	st = fresh;
	/* failpoints enabled in an ancestor are inherited through fork */
	for (i = 0; i < N_SITES; i++)
		fiu_disable(sites[i].name);
	st->owner = getpid();
	__atomic_store_n(&step_tid, my_tid(), __ATOMIC_SEQ_CST);
	return 0;
}

EXPORT int psfiu_arm_in(const char *name, int err, long count, long after, int scope)
{
	struct slot *s;
	int i = site_index(name), k;

	if (i < 0)
		return -ENOENT;
	if (scope != PSFIU_ANY && scope != PSFIU_STEP && scope != PSFIU_BACKGROUND)
		return -EINVAL;
	for (k = 0; k < MAX_ERRNOS && sites[i].errnos[k] && sites[i].errnos[k] != err; k++)
		;
	if (err && (k == MAX_ERRNOS || !sites[i].errnos[k]))
		return -EINVAL;
	if (!st || st->owner != getpid())
		return -ECHILD;
	s = &st->slot[i];
	s->err = err ? err : sites[i].errnos[0];
	s->persistent = count < 0;
	s->count = count < 0 ? 0 : count;
	s->after = after < 0 ? 0 : after;
	s->scope = scope;
	__atomic_store_n(&s->armed, 1, __ATOMIC_SEQ_CST);
	return enable((unsigned)i);
}

EXPORT int psfiu_arm(const char *name, int err, long count, long after)
{
	return psfiu_arm_in(name, err, count, after, PSFIU_ANY);
}

EXPORT void psfiu_clear(void)
{
	unsigned i;

	if (!st)
		return;
	for (i = 0; i < N_SITES; i++) {
		__atomic_store_n(&st->slot[i].armed, 0, __ATOMIC_SEQ_CST);
		if (st->enabled[i] && !st->counting && st->owner == getpid()) {
			fiu_disable(sites[i].name);
			st->enabled[i] = 0;
		}
	}
}

EXPORT void psfiu_active(int on)
{
	if (on)
		__atomic_store_n(&step_tid, my_tid(), __ATOMIC_SEQ_CST);
	__atomic_store_n(&active, on, __ATOMIC_SEQ_CST);
}

EXPORT void psfiu_background(int on)
{
	tls_background += on ? 1 : tls_background > 0 ? -1 : 0;
}

EXPORT void psfiu_exempt(int on)
{
	tls_exempt = on;
}

EXPORT void psfiu_count_all(void)
{
	unsigned i;

	if (!st || st->owner != getpid())
		return;
	st->counting = 1;
	for (i = 0; i < N_SITES; i++)
		enable(i);
}

EXPORT const char *psfiu_site(unsigned i)
{
	return i < N_SITES ? sites[i].name : NULL;
}

EXPORT long psfiu_calls(unsigned i)
{
	return st && i < N_SITES ? __atomic_load_n(&st->slot[i].calls, __ATOMIC_SEQ_CST) : 0;
}

EXPORT long psfiu_calls_in(unsigned i, int scope)
{
	if (!st || i >= N_SITES)
		return 0;
	if (scope == PSFIU_STEP || scope == PSFIU_BACKGROUND)
		return __atomic_load_n(&st->slot[i].in[scope], __ATOMIC_SEQ_CST);
	return psfiu_calls(i);
}

EXPORT long psfiu_fired(unsigned i)
{
	return st && i < N_SITES ? __atomic_load_n(&st->slot[i].fired, __ATOMIC_SEQ_CST) : 0;
}

/* --- the wrappers ------------------------------------------------------ */

EXPORT int pipe(int fds[2])
{
	return fails(SITE_OF("posix/io/oc/pipe")) ? -1 : real_pipe(fds);
}

EXPORT int pipe2(int fds[2], int flags)
{
	return fails(SITE_OF("posix/io/oc/pipe2")) ? -1 : real_pipe2(fds, flags);
}

EXPORT int dup(int fd)
{
	return fails(SITE_OF("posix/io/oc/dup")) ? -1 : real_dup(fd);
}

EXPORT int dup2(int fd, int to)
{
	return fails(SITE_OF("posix/io/oc/dup2")) ? -1 : real_dup2(fd, to);
}

EXPORT int dup3(int fd, int to, int flags)
{
	return fails(SITE_OF("posix/io/oc/dup3")) ? -1 : real_dup3(fd, to, flags);
}

EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	return fails(SITE_OF("posix/io/net/socketpair")) ?
		       -1 :
		       real_socketpair(domain, type, protocol, sv);
}

/* Every exec entry point ends in the execve system call: one site for all
 * (CPython's _posixsubprocess calls execv when env is None, execve otherwise;
 * libprocref calls execv). */
EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return fails(SITE_OF("posix/proc/execve")) ? -1 : real_execve(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	return fails(SITE_OF("posix/proc/execve")) ? -1 : real_execv(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return fails(SITE_OF("posix/proc/execve")) ? -1 : real_execvp(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return fails(SITE_OF("posix/proc/execve")) ? -1 : real_execvpe(file, argv, envp);
}

/* posix_spawn reports its error as the return value, not in errno. */
EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return fails(SITE_OF("posix/proc/posix_spawn")) ?
		       errno :
		       real_posix_spawn(pid, path, fa, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return fails(SITE_OF("posix/proc/posix_spawn")) ?
		       errno :
		       real_posix_spawnp(pid, file, fa, attr, argv, envp);
}

/*
 * vfork cannot be wrapped by a C function that calls the real one: the child
 * would return through the wrapper's frame and clobber it under the
 * suspended parent.  So vfork asks the failpoint first, in C, and then
 * jumps to libc's vfork with the caller's own return address on the stack.
 * (CPython >= 3.10 spawns through vfork in _posixsubprocess.)
 */
__attribute__((used, visibility("hidden"))) void *psfiu_vfork_gate(void);
void *psfiu_vfork_gate(void)
{
	my_tid(); /* the child runs on this thread's memory */
	return fails(SITE_OF("posix/proc/vfork")) ? NULL : (void *)psfiu_real_vfork;
}

#if defined(__x86_64__)
__asm__(".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"\tsub $8, %rsp\n"
	"\tcall psfiu_vfork_gate\n"
	"\tadd $8, %rsp\n"
	"\ttest %rax, %rax\n"
	"\tjz 1f\n"
	"\tjmp *%rax\n"
	"1:\tmov $-1, %eax\n"
	"\tret\n"
	".size vfork, .-vfork\n");
#endif

#define RESOLVE(fn) (*(void **)&real_##fn = dlsym(RTLD_NEXT, #fn))

/* Resolve everything now: execv may run in a vfork child, where dlsym must
 * not. */
static void cache_tid(void)
{
	my_tid(); /* copied into the child */
}

__attribute__((constructor)) static void psfiu_init(void)
{
	fiu_init(0);
	pthread_atfork(cache_tid, NULL, NULL);
	RESOLVE(pipe);
	RESOLVE(pipe2);
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(socketpair);
	RESOLVE(execve);
	RESOLVE(execv);
	RESOLVE(execvp);
	RESOLVE(execvpe);
	RESOLVE(posix_spawn);
	RESOLVE(posix_spawnp);
	*(void **)&psfiu_real_vfork = dlsym(RTLD_NEXT, "vfork");
	st = state_new();
}
