/*
 * procref-driver: libprocref behind the procspec driver protocol
 * (docs/PROTOCOL.md), with tools/pydriver.py's process model.
 *
 * The program is a zygote: it sets libprocref up once, says hello, and on
 * each begin forks a scenario process that plays the scenario's main
 * program and answers begun, every step and end itself, reading requests
 * from the protocol fd directly.  The zygote meanwhile waits for it in
 * waitpid() (so it never reads the protocol while the scenario process
 * does), then sends exited.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"

/* the library's MAJOR.MINOR (procref_version.h) and the profile */
#define IMPLEMENTATION "procref %d.%d (CPython %s semantics)"

/* What to do with step and end requests after a scenario process is
 * gone (tools/pydriver.py, _zygote_begin). */
enum after {
	IDLE,    /* ended was sent: they are out of place */
	GONE,    /* exited stood in for a due reply: answer errors */
	SWALLOW, /* exited came unasked: it answers the next one */
};

/* The protocol onto high close-on-exec fds, /dev/null on 0 and 1, and
 * copies of the driver's own 1 and 2 to restore after each start(). */
static int move_protocol_fds(void)
{
	struct rlimit rl;
	int null, base = DRV_HIGH_FD;

	/* Under a low RLIMIT_NOFILE (ulimit -n 64) there is no fd 100 to
	 * move to: the lowest free one above the standard three does, as
	 * tools/pydriver.py's _high_fd does. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)DRV_HIGH_FD + 16)
		base = 3;
	if ((drv.proto_in = fcntl(0, F_DUPFD_CLOEXEC, base)) < 0 ||
	    (drv.proto_out = fcntl(1, F_DUPFD_CLOEXEC, base)) < 0)
		return -errno;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (dup2(null, 0) < 0 || dup2(null, 1) < 0) {
		close(null);
		return -errno;
	}
	close(null);
	if ((drv.saved_out = fcntl(1, F_DUPFD_CLOEXEC, base)) < 0 ||
	    (drv.saved_err = fcntl(2, F_DUPFD_CLOEXEC, base)) < 0)
		return -errno;
	return 0;
}

/* The hello: the optional features (PROTOCOL.md, hello) of the release
 * the profile follows, and "faults" when procspec's fault library is
 * preloaded. */
static int hello(void)
{
	char exe[PATH_MAX], impl[64];
	const char *feat[48];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	size_t i, nfeat = pr_profile_features(feat, sizeof feat / sizeof *feat);
	json_t *features = json_array();

	exe[n > 0 ? n : 0] = '\0';
	snprintf(impl, sizeof impl, IMPLEMENTATION, PR_VERSION_MAJOR, PR_VERSION_MINOR,
		 pr_profile_name());
	for (i = 0; i < nfeat && features != NULL; i++)
		json_array_append_new(features, json_string(feat[i]));
	if (features != NULL && drv_faults_init())
		json_array_append_new(features, json_string("faults"));
	if (features != NULL && drv_faults_threads())
		json_array_append_new(features, json_string("faults.thread"));
	/* pipelined: the read buffer is shared with the scenario
	 * processes (proto.c), so requests sent ahead are never lost */
	return drv_send(json_pack(
		"{s:s, s:i, s:s, s:s, s:o, s:s, s:[sss], "
		"s:o*, s:b}",
		"op", "hello", "protocol", 1, "driver", "procref-driver", "implementation", impl,
		"executable", drv_json_text(exe, strlen(exe)), "module", "libprocref", "methods",
		"fork", "spawn", "forkserver", "features", features, "pipelined", 1));
}

/* One scenario: 1 and *status in the scenario process when it is done,
 * 0 in the zygote, with *after set. */
static int zygote_begin(json_t *req, enum after *after, int *status)
{
	const char *method = json_string_value(json_object_get(req, "method"));
	pid_t pid, r;
	int st;

	*after = IDLE;
	if (method == NULL || (strcmp(method, "fork") != 0 && strcmp(method, "spawn") != 0 &&
			       strcmp(method, "forkserver") != 0)) {
		drv_send_error("start method %s%s%s is not supported by "
			       "libprocref (it has fork, spawn, forkserver)",
			       method ? "'" : "", method ? method : "None", method ? "'" : "");
		return 0;
	}
	if ((st = drv_scenario_prepare()) < 0) {
		drv_send_error("cannot list the driver's fds: %s", strerror(-st));
		return 0;
	}
	drv.shared[0] = 1; /* begin is being answered */
	drv.shared[1] = 0;
	fflush(stderr);
	if ((pid = fork()) < 0) {
		drv_send_error("fork: [Errno %d] %s", errno, strerror(errno));
		return 0;
	}
	if (pid == 0) {
		*status = drv_scenario_main(req);
		return 1;
	}
	do
		r = waitpid(pid, &st, 0);
	while (r == -1 && errno == EINTR);
	if (r == pid && WIFSIGNALED(st))
		drv_send(json_pack("{s:s, s:i}", "op", "exited", "signal", WTERMSIG(st)));
	else
		drv_send(json_pack("{s:s, s:i}", "op", "exited", "code",
				   r == pid ? WEXITSTATUS(st) : -1));
	if (drv.shared[1])
		*after = IDLE;
	else if (drv.shared[0])
		*after = GONE;
	else
		*after = SWALLOW;
	return 0;
}

/* 0 at EOF in the zygote; 1 and *status in a scenario process. */
static int zygote_loop(int *status)
{
	enum after after = IDLE;
	json_error_t jerr;
	json_t *req;
	const char *op;
	char *line;
	size_t len;
	int r;

	for (;;) {
		r = drv_read_line(&line, &len);
		if (r <= 0)
			return 0;
		if (r == DRV_TOO_LONG) {
			drv_send_error("request line too long");
			continue;
		}
		if (strspn(line, " \t\r") == len) {
			free(line);
			continue;
		}
		req = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
		free(line);
		if (req == NULL || !json_is_object(req)) {
			drv_send_error("malformed request: %s",
				       req ? "request is not a JSON object" : jerr.text);
			json_decref(req);
			continue;
		}
		op = json_string_value(json_object_get(req, "op"));
		if (op != NULL && strcmp(op, "begin") == 0) {
			r = zygote_begin(req, &after, status);
			json_decref(req);
			if (r)
				return 1;
			continue;
		}
		if (op != NULL && (strcmp(op, "step") == 0 || strcmp(op, "end") == 0)) {
			if (after == SWALLOW)
				after = GONE;
			else if (after == GONE)
				drv_reply_error(req, "the scenario process is gone");
			else
				drv_reply_error(req, "no scenario in progress");
		} else {
			char *m = NULL;

			if (asprintf(&m, "unknown op %s%s%s", op ? "'" : "", op ? op : "None",
				     op ? "'" : "") >= 0) {
				drv_reply_error(req, m);
				free(m);
			}
		}
		json_decref(req);
	}
}

int main(int argc, char **argv)
{
	struct pr_diag d = PR_DIAG_INIT;
	int status = 0, r;

	/* --profile X.Y[-O]: libprocref as that CPython release behaves
	 * (ref/profile.c); a usage error, before the hello, if there is no
	 * such profile */
	if (argc == 3 && strcmp(argv[1], "--profile") == 0) {
		if (pr_set_profile(argv[2], &d) < 0) {
			fprintf(stderr, "procref-driver: %s\n", d.message);
			pr_diag_clear(&d);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: procref-driver [--profile X.Y[-O]] "
				"(speaks the procspec driver protocol on stdin and "
				"stdout)\n");
		return 2;
	}
	/* CPython ignores SIGPIPE: a write to a closed pipe is an EPIPE
	 * error, for the driver and for every child alike */
	signal(SIGPIPE, SIG_IGN);
	if ((r = move_protocol_fds()) < 0) {
		drv_log("cannot move the protocol fds: %s", strerror(-r));
		return 1;
	}
	if (pr_init(&d) < 0) {
		drv_log("cannot set libprocref up: %s", d.message);
		pr_diag_clear(&d);
		return 1;
	}
	if ((r = drv_shared_init()) < 0) {
		drv_log("mmap: %s", strerror(-r));
		pr_fini();
		return 1;
	}
	drv.zygote_pid = getpid();
	if (hello() == 0 && zygote_loop(&status) == 0)
		status = 0;
	pr_fini();
	if (drv.proto_in >= 0)
		close(drv.proto_in);
	if (drv.proto_out >= 0)
		close(drv.proto_out);
	if (drv.saved_out >= 0)
		close(drv.saved_out);
	if (drv.saved_err >= 0)
		close(drv.saved_err);
	/* A scenario process is done once libprocref's exit path has run (at
	 * end) and pr_fini has flushed its streams: the C runtime's own exit
	 * (library destructors, unmapping what the zygote set up) has nothing
	 * of the scenario's to do and cost a sixth of an empty scenario
	 * (make bench). */
	if (getpid() != drv.zygote_pid) {
		fflush(NULL);
		_exit(status);
	}
	drv_shared_fini();
	drv_scenario_fini();
	exit(status);
}
