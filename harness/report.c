#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "file.h"

void ps_report_init(struct ps_report *rep, const char *label, const char *against,
		    const char *dir, FILE *out)
{
	memset(rep, 0, sizeof(*rep));
	rep->label = label;
	rep->against = against;
	rep->dir = dir;
	rep->out = out;
	rep->results = json_array();
	rep->skips = json_object();
}

static void write_file(struct ps_report *rep, const char *method, const char *id,
		       const char *ext, const char *text)
{
	struct ps_buf b = PS_BUF_INIT;
	char *path;
	int r;

	if (!rep->dir || !text)
		return;
	ps_buf_addf(&b, "%s/%s/%s.%s", rep->dir, method, id, ext);
	path = ps_buf_detach(&b);
	r = path ? ps_file_write_atomic(path, text, strlen(text)) : -ENOMEM;
	if (r && !rep->write_err) {
		rep->write_err = r;
		fprintf(stderr, "procspec: cannot write %s: %s\n", path ? path : "a report",
			strerror(-r));
	}
	free(path);
}

static void indent(FILE *out, const char *text)
{
	const char *s = text, *nl;

	while (*s) {
		nl = strchr(s, '\n');
		fprintf(out, "    %.*s\n", (int)(nl ? nl - s : (long)strlen(s)), s);
		if (!nl)
			break;
		s = nl + 1;
	}
}

void ps_report_add(struct ps_report *rep, const char *id, const char *method,
		   const struct ps_outcome *o, const char *diff, const char *where, bool verbose)
{
	bool bad = o->verdict != PS_V_PASS && o->verdict != PS_V_NOTRUN;

	rep->counts[o->verdict]++;
	if (o->verdict == PS_V_NOTRUN) {
		/* One line per reason at the end, not one per scenario. */
		char key[512];
		json_t *n;

		snprintf(key, sizeof(key), "%s: %s", method, o->detail ? o->detail : "not applicable");
		n = json_object_get(rep->skips, key);
		json_object_set_new(rep->skips, key, json_integer(n ? json_integer_value(n) + 1 : 1));
		if (verbose)
			fprintf(rep->out, "%-8s %s [%s]: %s\n", ps_verdict_word(o->verdict), id, method,
				o->detail ? o->detail : "not applicable");
	} else {
		fprintf(rep->out, "%-8s %s [%s] %.2fs%s%s\n", ps_verdict_word(o->verdict), id, method,
			o->seconds, bad && where ? ": " : "", bad && where ? where : "");
	}
	if (bad && o->detail)
		indent(rep->out, o->detail);
	if (bad && diff)
		indent(rep->out, diff);
	if ((verbose || (bad && !diff && o->verdict != PS_V_NOGOLDEN)) && o->text && *o->text) {
		fprintf(rep->out, "    transcript:\n");
		indent(rep->out, o->text);
	} else if (o->verdict == PS_V_NOGOLDEN && o->text) {
		fprintf(rep->out, "    actual transcript:\n");
		indent(rep->out, o->text);
	}
	if (o->verdict != PS_V_NOTRUN) {
		write_file(rep, method, id, "actual", o->text);
		if (diff)
			write_file(rep, method, id, "diff", diff);
	}
	json_array_append_new(rep->results,
			      json_pack("{s:s, s:s, s:s, s:f, s:s?, s:s?}", "scenario", id,
					"method", method, "verdict", ps_verdict_word(o->verdict),
					"seconds", o->seconds, "detail", o->detail, "diff", diff));
	fflush(rep->out);
}

int ps_report_finish(struct ps_report *rep, const char *implementation)
{
	unsigned failed = 0, v;
	struct ps_buf b = PS_BUF_INIT;
	json_t *root, *counts;
	char *s, *path;

	for (v = PS_V_FAIL; v < PS_V_COUNT; v++)
		failed += rep->counts[v];
	{
		const char *why;
		json_t *n;

		json_object_foreach(rep->skips, why, n)
			fprintf(rep->out, "skipped  %lld scenario(s) under %s\n",
				(long long)json_integer_value(n), why);
	}
	if (failed) {
		fprintf(rep->out, "%s:", rep->label);
		for (v = PS_V_FAIL; v < PS_V_COUNT; v++)
			if (rep->counts[v])
				fprintf(rep->out, " %u %s", rep->counts[v], ps_verdict_word(v));
		fprintf(rep->out, "\n");
	}
	fprintf(rep->out, "%s: %u passed, %u failed, %u skipped\n", rep->label,
		rep->counts[PS_V_PASS], failed, rep->counts[PS_V_NOTRUN]);
	if (rep->dir) {
		counts = json_object();
		for (v = 0; v < PS_V_COUNT; v++)
			json_object_set_new(counts, ps_verdict_word(v), json_integer(rep->counts[v]));
		root = json_pack("{s:i, s:s, s:s?, s:s?, s:o, s:O}", "format", 1,
				 "implementation", implementation ? implementation : rep->label,
				 "label", rep->label, "golden", rep->against, "counts", counts,
				 "results", rep->results);
		s = root ? json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
		ps_buf_addf(&b, "%s/results.json", rep->dir);
		path = ps_buf_detach(&b);
		if (s && path) {
			int r = ps_file_write_atomic(path, s, strlen(s));

			if (r && !rep->write_err) {
				rep->write_err = r;
				fprintf(stderr, "procspec: cannot write %s: %s\n", path, strerror(-r));
			}
		}
		free(path);
		free(s);
		json_decref(root);
	}
	return failed ? 1 : 0;
}

void ps_report_release(struct ps_report *rep)
{
	json_decref(rep->results);
	json_decref(rep->skips);
	rep->results = NULL;
	rep->skips = NULL;
}
