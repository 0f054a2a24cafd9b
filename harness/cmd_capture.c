/*
 * procspec capture: play scenarios through a real interpreter and write its
 * transcripts as a golden set.  Golden files come only from here.
 *
 * The new transcripts go to a staging set beside the old one
 * (DIR/.NAME.new/), each file atomically; then each is compared with the
 * old set and the differences shown.  The old set changes only with
 * --replace (or when it does not exist yet): the staging set is completed
 * with the old set's other files (hard links) and the two directories are
 * exchanged in one renameat2(RENAME_EXCHANGE), so that a reader, and an
 * interrupted or failed capture, sees the old set or the new one, never a
 * mix.  One capture at a time per golden directory (an flock on it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "impl.h"
#include "commands.h"
#include "file.h"
#include "golden.h"
#include "outdir.h"
#include "proc.h"
#include "suite.h"

static const struct ps_command_help help = {
	"capture",
	"usage: procspec capture [PATH...] --impl python:INTERPRETER[:MODULE] --set NAME\n"
	"                        [options]\n"
	"  captures into DIR/.NAME.new/, shows what changed against DIR/NAME/ (DIR: golden),\n"
	"  and with --replace (or when DIR/NAME does not exist) moves the new files in",
	NULL,
};

/* The options of capture, into s. */
static int options(struct ps_suite *s, int argc, char **argv, struct ps_diag *d)
{
	const struct ps_option opts[] = {
		PS_OPT_IMPL(&s->impl_spec, "the interpreter to capture from"),
		PS_OPT_STRING(0, "set", &s->out_set, "NAME",
			      "the golden set to write (cpython-3.11)"),
		PS_OPT_FLAG(0, "replace", &s->replace, "accept the new set over the old one"),
		PS_OPT_GOLDEN_DIR(&s->golden_dir),
		PS_OPT_METHOD(&s->methods, "fork, spawn or forkserver; repeatable "
					   "(default: all that apply)"),
		PS_OPT_PATTERN(&s->patterns),
		PS_OPT_TAG(&s->tags),
		PS_OPT_TIMEOUT(&s->step_timeout),
		PS_OPT_VERBOSE(&s->verbose, "print every transcript"),
		PS_OPT_END(),
	};

	return ps_suite_options(s, &help, opts, argc, argv, d);
}

static int remove_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) ? -errno : 0;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct ps_buf b = PS_BUF_INIT;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ps_buf_addf(&b, "%s/%s", path, de->d_name);
		if (!ps_buf_oom(&b))
			remove_tree(b.data);
		ps_buf_release(&b);
	}
	closedir(d);
	return rmdir(path) ? -errno : 0;
}

struct captured {
	char *staged, *final;
};

/*
 * Give staging every file of set it does not have yet: a hard link (the
 * same bytes, no copy), else a copy.  0 or -errno.
 */
static int complete_from(const char *set, const char *staging)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(set);
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	if (mkdir(staging, 0777) && errno != EEXIST)
		r = -errno;
	while (!r && (de = readdir(d))) {
		struct ps_buf from = PS_BUF_INIT, to = PS_BUF_INIT;
		char *data = NULL;
		size_t len;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ps_buf_addf(&from, "%s/%s", set, de->d_name);
		ps_buf_addf(&to, "%s/%s", staging, de->d_name);
		if (ps_buf_oom(&from) || ps_buf_oom(&to))
			r = -ENOMEM;
		else if (lstat(from.data, &st))
			r = -errno;
		else if (S_ISDIR(st.st_mode))
			r = complete_from(from.data, to.data);
		else if (lstat(to.data, &st) == 0)
			; /* captured anew */
		else if (link(from.data, to.data) &&
			 (r = ps_file_read(from.data, &data, &len)) == 0)
			r = ps_file_write_atomic(to.data, data, len, true);
		free(data);
		ps_buf_release(&from);
		ps_buf_release(&to);
	}
	closedir(d);
	return r;
}

/*
 * Put the complete staging set in place of setdir in one step.  Where the
 * file system has no RENAME_EXCHANGE, setdir goes aside to old first (the
 * next capture puts it back if it is interrupted in between).  0 or -errno.
 */
static int swap_in(const char *staging, const char *setdir, const char *old, bool fresh)
{
	if (fresh)
		return rename(staging, setdir) ? -errno : 0;
	if (renameat2(AT_FDCWD, staging, AT_FDCWD, setdir, RENAME_EXCHANGE) == 0)
		return remove_tree(staging); /* the old set, now */
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (rename(setdir, old) || rename(staging, setdir))
		return -errno;
	return remove_tree(old);
}

int ps_cmd_capture(int argc, char **argv)
{
	struct ps_suite s;
	struct ps_diag d = PS_DIAG_INIT;
	struct captured *cap = NULL;
	struct ps_buf b = PS_BUF_INIT;
	char *staging = NULL, *setdir = NULL, *old_aside = NULL;
	size_t i, n = 0, created = 0, changed = 0, same = 0, failed = 0;
	unsigned m, methods;
	bool fresh;
	struct stat st;
	int r, code = PS_EXIT_ERROR, lock_fd = -1;

	ps_suite_init(&s);
	r = options(&s, argc, argv, &d);
	if (r == PS_OPT_HELP_SHOWN) {
		ps_suite_release(&s);
		return PS_EXIT_OK;
	}
	if (!r && !s.out_set)
		r = ps_diag(&d, PS_EUSAGE, "procspec capture: --set is required");
	if (!r && (!*s.out_set || strchr(s.out_set, '/') || s.out_set[0] == '.'))
		r = ps_diag(&d, PS_EUSAGE,
			    "procspec capture: --set '%s': a plain name, "
			    "like cpython-3.11",
			    s.out_set);
	if (!r && !*s.golden_dir)
		r = ps_diag(&d, PS_EUSAGE,
			    "procspec capture: --golden-dir '': a directory, like golden");
	if (!r && s.impl.is_ref)
		r = ps_diag(&d, PS_EUSAGE,
			    "procspec capture: golden files come from real "
			    "interpreters, never from the reference implementation");
	if (r) {
		fprintf(stderr, "%s\n", d.msg);
		ps_suite_release(&s);
		return PS_EXIT_ERROR;
	}
	r = ps_outdir_lock(s.golden_dir, true, &lock_fd, &d);
	if (!r)
		r = ps_suite_load(&s, &d);
	if (!r)
		r = ps_runner_ready(&s.runner, &d);
	if (r) {
		fprintf(stderr, "procspec capture: %s\n", d.msg);
		goto out;
	}
	ps_buf_addf(&b, "%s/.%s.new", s.golden_dir, s.out_set);
	staging = ps_buf_detach(&b);
	ps_buf_addf(&b, "%s/%s", s.golden_dir, s.out_set);
	setdir = ps_buf_detach(&b);
	ps_buf_addf(&b, "%s/.%s.old", s.golden_dir, s.out_set);
	old_aside = ps_buf_detach(&b);
	cap = calloc(s.n_scenarios * 3 + 1, sizeof(*cap));
	if (!staging || !setdir || !old_aside || !cap) {
		fprintf(stderr, "procspec capture: out of memory\n");
		goto out;
	}
	/* a capture interrupted between the two renames of swap_in */
	if (stat(setdir, &st) != 0 && stat(old_aside, &st) == 0)
		rename(old_aside, setdir);
	remove_tree(old_aside);
	fresh = stat(setdir, &st) != 0;
	r = remove_tree(staging); /* what an earlier, interrupted capture left */
	if (r) {
		fprintf(stderr, "procspec capture: cannot clear %s: %s\n", staging, strerror(-r));
		goto out;
	}
	printf("procspec: capturing %s from %s (%s) into %s\n", s.out_set,
	       s.runner.drv->implementation, s.runner.drv->executable, staging);
	for (i = 0; i < s.n_scenarios; i++) {
		const struct ps_scenario *sc = s.scenarios[i];

		methods = ps_suite_methods(&s, sc);
		for (m = 1; m <= PS_M_FORKSERVER; m <<= 1) {
			struct ps_outcome o;
			const char *mname = ps_method_name(m);
			const char *feat[PS_MAX_FEATURES];
			size_t nf = ps_scenario_features_on(
				       sc, s.runner.drv ? ps_impl_version(s.runner.drv) : 0, feat),
			       k;
			char *header = NULL;
			bool lacks = false;

			if (!(methods & m))
				continue;
			for (k = 0; k < nf; k++)
				lacks = lacks ||
					(s.runner.drv && !ps_driver_has(s.runner.drv, feat[k]));
			if (lacks)
				continue; /* not applicable to this interpreter: no golden file */
			r = ps_run_scenario(&s.runner, sc, m, &o, &d);
			if (r) {
				fprintf(stderr, "procspec capture: %s\n", d.msg);
				goto out;
			}
			if (o.verdict != PS_V_PASS && o.verdict != PS_V_LEAK &&
			    o.verdict != PS_V_ORPHAN) {
				/* A leak is the interpreter's behaviour and is recorded; anything else is not. */
				printf("%-8s %s [%s]: not captured\n", ps_verdict_word(o.verdict),
				       sc->id, mname);
				if (o.detail)
					printf("    %s\n", o.detail);
				failed++;
				ps_outcome_release(&o);
				continue;
			}
			header = ps_golden_header(s.runner.drv->implementation,
						  s.runner.drv->executable, s.runner.drv->module,
						  sc->id, mname);
			ps_buf_adds(&b, header ? header : "");
			ps_buf_adds(&b, o.text ? o.text : "");
			if (asprintf(&cap[n].staged, "%s/%s/%s.out", staging, mname, sc->id) < 0)
				cap[n].staged = NULL;
			cap[n].final = ps_golden_path(s.golden_dir, s.out_set, mname, sc->id);
			if (!header || ps_buf_oom(&b) || !cap[n].staged || !cap[n].final) {
				fprintf(stderr, "procspec capture: out of memory\n");
				free(header);
				ps_outcome_release(&o);
				goto out;
			}
			r = ps_file_write_atomic(cap[n].staged, b.data, b.len, true);
			if (r) {
				fprintf(stderr, "procspec capture: cannot write %s: %s\n",
					cap[n].staged, strerror(-r));
				free(header);
				ps_outcome_release(&o);
				goto out;
			}
			n++;
			if (s.verbose)
				fputs(o.text, stdout);
			free(header);
			ps_buf_release(&b);
			ps_outcome_release(&o);
		}
	}
	/* What changed against the old set. */
	for (i = 0; i < n; i++) {
		char *old = NULL, *new = NULL, *diff;
		int oom = 0;

		if (ps_golden_read(cap[i].final, &old, &d) == PS_ENOGOLD) {
			printf("new      %s\n", cap[i].final);
			created++;
			continue;
		}
		if (!old || ps_golden_read(cap[i].staged, &new, &d)) {
			free(old);
			fprintf(stderr, "procspec capture: %s\n", d.msg);
			goto out;
		}
		diff = ps_diff_unified(old, new, cap[i].final, cap[i].staged, &oom);
		if (diff) {
			printf("changed  %s\n", cap[i].final);
			fputs(diff, stdout);
			changed++;
		} else {
			same++;
		}
		free(diff);
		free(old);
		free(new);
	}
	printf("capture: %zu new, %zu changed, %zu unchanged, %zu not captured\n", created, changed,
	       same, failed);
	if (failed) {
		printf("capture: nothing replaced, since not every scenario could be captured; "
		       "the new files are in %s\n",
		       staging);
		code = PS_EXIT_FAIL;
		goto out;
	}
	if (!s.replace && !fresh && (created || changed)) {
		printf("capture: %s left as it was; run again with --replace (make golden REPLACE=1) "
		       "to accept, or look at %s\n",
		       setdir, staging);
		code = PS_EXIT_OK;
		goto out;
	}
	r = fresh ? 0 : complete_from(setdir, staging);
	if (!r)
		r = swap_in(staging, setdir, old_aside, fresh);
	if (r) {
		fprintf(stderr, "procspec capture: cannot put %s in place of %s: %s\n", staging,
			setdir, strerror(-r));
		goto out;
	}
	if (created || changed)
		printf("capture: %s updated\n", setdir);
	code = PS_EXIT_OK;
out:
	for (i = 0; cap && i < n + 1; i++) {
		free(cap[i].staged);
		free(cap[i].final);
	}
	free(cap);
	free(staging);
	free(setdir);
	free(old_aside);
	if (lock_fd >= 0)
		close(lock_fd);
	ps_buf_release(&b);
	ps_suite_release(&s);
	return code;
}
