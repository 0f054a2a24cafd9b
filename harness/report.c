#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file.h"

bool ps_verdict_failed(enum ps_verdict v)
{
	return v >= PS_V_FAIL;
}

void ps_report_init(struct ps_report *rep, const char *label, const char *against, const char *dir,
		    FILE *out, size_t total, bool verbose)
{
	const char *nc = getenv("NO_COLOR");

	memset(rep, 0, sizeof(*rep));
	rep->reporters = ps_report_run_reporters;
	rep->label = label;
	rep->against = against;
	rep->dir = dir;
	rep->out = out;
	rep->total = total;
	rep->verbose = verbose;
	rep->tty = isatty(fileno(out)) && !verbose;
	rep->color = isatty(fileno(out)) && !(nc && *nc) && getenv("TERM") &&
		     strcmp(getenv("TERM"), "dumb");
	rep->results = json_array();
	rep->skips = json_object();
	rep->junit_extra = getenv("XML_OUTPUT_FILE");
}

static void write_file(struct ps_report *rep, const char *path, const char *text, size_t len)
{
	int r = ps_file_write_atomic(path, text, len, false);

	if (r && !rep->write_err) {
		rep->write_err = r;
		fprintf(stderr, "procspec: cannot write %s: %s\n", path, strerror(-r));
	}
}

static void write_scenario_file(struct ps_report *rep, const char *method, const char *id,
				const char *ext, const char *text)
{
	struct ps_buf b = PS_BUF_INIT;

	if (!rep->dir || !text)
		return;
	ps_buf_addf(&b, "%s/%s/%s.%s", rep->dir, method, id, ext);
	if (!ps_buf_oom(&b))
		write_file(rep, b.data, text, strlen(text));
	ps_buf_release(&b);
}

static void indent(FILE *out, const char *text)
{
	const char *s = text, *nl;
	char *safe = NULL;

	/* A child's output and a driver's stderr go to a terminal as text:
	 * no escape sequences of theirs (ps_buf_add_text). */
	if (isatty(fileno(out)) && (safe = ps_text_escape(text)))
		s = safe;
	while (*s) {
		nl = strchr(s, '\n');
		fprintf(out, "    %.*s\n", (int)(nl ? nl - s : (long)strlen(s)), s);
		if (!nl)
			break;
		s = nl + 1;
	}
	free(safe);
}

static const char *paint(const struct ps_report *rep, enum ps_verdict v)
{
	if (!rep->color)
		return "";
	if (ps_verdict_failed(v))
		return "\033[1;31m";
	return v == PS_V_PASS ? "\033[32m" : "\033[33m";
}

/* XML character data: escapes, and characters XML 1.0 cannot hold become U+FFFD. */
static void xml_text(struct ps_buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '&')
			ps_buf_adds(b, "&amp;");
		else if (c == '<')
			ps_buf_adds(b, "&lt;");
		else if (c == '>')
			ps_buf_adds(b, "&gt;");
		else if (c == '"')
			ps_buf_adds(b, "&quot;");
		else if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
			ps_buf_adds(b, "\xef\xbf\xbd");
		else
			ps_buf_addc(b, (char)c);
	}
}

/* A YAML block scalar, indented four spaces; its first line (a diff header or
 * ">>> ") never starts with a space, so no indentation indicator is needed,
 * which Perl's TAP::Parser YAMLish reader does not understand. */
static void yaml_block(struct ps_buf *b, const char *key, const char *text)
{
	const char *s = text, *nl;

	ps_buf_addf(b, "  %s: |\n", key);
	while (*s) {
		nl = strchr(s, '\n');
		ps_buf_addf(b, "    %.*s\n", (int)(nl ? nl - s : (long)strlen(s)), s);
		if (!nl)
			break;
		s = nl + 1;
	}
}

static void yaml_string(struct ps_buf *b, const char *key, const char *value)
{
	json_t *j = json_string(value);
	char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL; /* JSON strings are YAML */

	if (q)
		ps_buf_addf(b, "  %s: %s\n", key, q);
	free(q);
	json_decref(j);
}

/*
 * Text for one TAP line: a newline would end it, so it becomes a space;
 * in a description (desc) '#' starts a directive and '\\' escapes, so both
 * are escaped (TAP 14, "Escaping"): a file "fail # TODO.scn" must not turn
 * a failure into a TODO.  Returns a string owned by tmp.
 */
static const char *tap_text(struct ps_buf *tmp, const char *s, bool desc)
{
	ps_buf_release(tmp);
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r')
			ps_buf_addc(tmp, ' ');
		else if (desc && (*s == '#' || *s == '\\'))
			ps_buf_addf(tmp, "\\%c", *s);
		else
			ps_buf_addc(tmp, *s);
	}
	return tmp->data && !ps_buf_oom(tmp) ? tmp->data : "";
}

static void add_tap(struct ps_report *rep, size_t n, const char *raw_id, const char *method,
		    const struct ps_job_result *r)
{
	struct ps_buf *b = &rep->tap, idb = PS_BUF_INIT, why = PS_BUF_INIT;
	const char *word = ps_verdict_word(r->verdict);
	const char *id = tap_text(&idb, raw_id, true);

	if (r->verdict == PS_V_NOTRUN || r->verdict == PS_V_UNSUPPORTED) {
		ps_buf_addf(b, "ok %zu - %s [%s] # SKIP %s\n", n, id, method,
			    tap_text(&why, r->detail ? r->detail : word, false));
		goto out;
	}
	if (r->verdict == PS_V_XFAIL) {
		ps_buf_addf(b, "not ok %zu - %s [%s] # TODO expected divergence: %s\n", n, id,
			    method, tap_text(&why, r->detail ? r->detail : "", false));
		goto out;
	}
	ps_buf_addf(b, "%s %zu - %s [%s]\n", ps_verdict_failed(r->verdict) ? "not ok" : "ok", n, id,
		    method);
	if (!ps_verdict_failed(r->verdict))
		goto out;
	ps_buf_adds(b, "  ---\n");
	ps_buf_addf(b, "  verdict: %s\n", word);
	yaml_string(b, "message", r->where ? r->where : r->detail ? r->detail : word);
	if (r->where && r->detail)
		yaml_string(b, "detail", r->detail);
	ps_buf_addf(b, "  duration_ms: %.0f\n", r->seconds * 1000.0);
	if (r->diff)
		yaml_block(b, "diff", r->diff);
	else if (r->text && *r->text)
		yaml_block(b, "transcript", r->text);
	ps_buf_adds(b, "  ...\n");
out:
	ps_buf_release(&idb);
	ps_buf_release(&why);
}

static void add_junit(struct ps_report *rep, const char *id, const char *method,
		      const struct ps_job_result *r)
{
	struct ps_buf *b = &rep->junit;
	const char *slash = strrchr(id, '/');
	enum ps_verdict v = r->verdict;

	ps_buf_adds(b, "    <testcase name=\"");
	xml_text(b, id);
	ps_buf_addf(b, " [%s]\" classname=\"", method);
	xml_text(b, rep->label);
	ps_buf_addf(b, ".%s.%.*s\" time=\"%.3f\">\n", method,
		    slash ? (int)(slash - id) : (int)strlen(id), id, r->seconds);
	if (v == PS_V_NOTRUN || v == PS_V_UNSUPPORTED) {
		ps_buf_adds(b, "      <skipped message=\"");
		xml_text(b, r->detail ? r->detail : ps_verdict_word(v));
		ps_buf_adds(b, "\"/>\n");
	} else if (ps_verdict_failed(v)) {
		/* divergences are failures; a driver that broke is an error */
		bool err = v >= PS_V_DRIVER;

		ps_buf_addf(b, "      <%s type=\"%s\" message=\"", err ? "error" : "failure",
			    ps_verdict_word(v));
		xml_text(b, r->where ? r->where : r->detail ? r->detail : ps_verdict_word(v));
		ps_buf_adds(b, "\">");
		if (r->detail && r->where) {
			xml_text(b, r->detail);
			ps_buf_adds(b, "\n");
		}
		xml_text(b, r->diff ? r->diff : r->detail ? (r->where ? "" : r->detail) : "");
		ps_buf_addf(b, "</%s>\n", err ? "error" : "failure");
	}
	if (r->text && *r->text && v != PS_V_NOTRUN && v != PS_V_UNSUPPORTED) {
		ps_buf_adds(b, "      <system-out>");
		xml_text(b, r->text);
		ps_buf_adds(b, "</system-out>\n");
	}
	if (v == PS_V_XFAIL && r->detail) {
		ps_buf_adds(b, "      <system-err>expected divergence: ");
		xml_text(b, r->detail);
		ps_buf_adds(b, "</system-err>\n");
	}
	ps_buf_adds(b, "    </testcase>\n");
}

/* --- the console -------------------------------------------------------- */

static void console_add(struct ps_report *rep, const struct ps_report_item *it)
{
	const struct ps_job_result *r = it->res;
	const char *id = it->id, *method = it->method;
	bool bad = ps_verdict_failed(r->verdict);
	FILE *out = rep->out;

	if (r->verdict == PS_V_NOTRUN || r->verdict == PS_V_UNSUPPORTED) {
		/* One line per reason at the end, not one per scenario. */
		char key[600];
		json_t *n;

		snprintf(key, sizeof(key), "%s: %s%s", method,
			 r->verdict == PS_V_UNSUPPORTED ? "unsupported: " : "",
			 r->detail ? r->detail : "not applicable");
		n = json_object_get(rep->skips, key);
		json_object_set_new(rep->skips, key,
				    json_integer(n ? json_integer_value(n) + 1 : 1));
		if (rep->verbose)
			fprintf(out, "%-8s %s [%s]: %s\n", ps_verdict_word(r->verdict), id, method,
				r->detail ? r->detail : "");
		goto progress;
	}
	if (rep->tty && !bad)
		goto progress;
	if (rep->tty)
		fputs("\r\033[K", out);
	fprintf(out, "%s%-8s%s %s [%s] %.2fs%s%s\n", paint(rep, r->verdict),
		ps_verdict_word(r->verdict), rep->color ? "\033[0m" : "", id, method, r->seconds,
		bad && r->where ? ": " : "", bad && r->where ? r->where : "");
	if ((bad || r->verdict == PS_V_XFAIL) && r->detail)
		indent(out, r->detail);
	if (bad && r->diff)
		indent(out, r->diff);
	if ((rep->verbose || (bad && !r->diff)) && r->text && *r->text) {
		fprintf(out, "    transcript:\n");
		indent(out, r->text);
	}
progress:
	if (rep->tty)
		fprintf(out, "\r\033[K[%zu/%zu] %s [%s]", rep->done, rep->total, id, method);
	fflush(out);
}

static void console_finish(struct ps_report *rep, const struct ps_report_totals *t)
{
	const char *why;
	json_t *n;
	unsigned v;

	if (rep->tty)
		fputs("\r\033[K", rep->out);
	json_object_foreach(rep->skips, why, n)
		fprintf(rep->out, "skipped  %lld scenario(s) under %s\n",
			(long long)json_integer_value(n), why);
	if (t->failed || rep->counts[PS_V_XFAIL]) {
		fprintf(rep->out, "%s:", rep->label);
		for (v = PS_V_XFAIL; v < PS_V_COUNT; v++)
			if (rep->counts[v] && v != PS_V_NOTRUN && v != PS_V_UNSUPPORTED)
				fprintf(rep->out, " %u %s", rep->counts[v], ps_verdict_word(v));
		fprintf(rep->out, "\n");
	}
	fprintf(rep->out, "%s: %u passed, %u failed, %u skipped\n", rep->label,
		rep->counts[PS_V_PASS] + rep->counts[PS_V_XFAIL], t->failed, t->skipped);
}

const struct ps_reporter ps_reporter_console = { "console", console_add, console_finish };

/* --- every scenario's transcript and diff ----------------------------------- */

static void transcripts_add(struct ps_report *rep, const struct ps_report_item *it)
{
	const struct ps_job_result *r = it->res;

	if (r->verdict == PS_V_NOTRUN || r->verdict == PS_V_UNSUPPORTED)
		return;
	write_scenario_file(rep, it->method, it->id, "actual", r->text);
	if (r->diff)
		write_scenario_file(rep, it->method, it->id, "diff", r->diff);
}

const struct ps_reporter ps_reporter_transcripts = { "transcripts", transcripts_add, NULL };

/* --- JUnit ------------------------------------------------------------------ */

static void junit_add(struct ps_report *rep, const struct ps_report_item *it)
{
	add_junit(rep, it->id, it->method, it->res);
}

static void junit_finish(struct ps_report *rep, const struct ps_report_totals *t)
{
	struct ps_buf b = PS_BUF_INIT, path = PS_BUF_INIT;
	char stamp[64], host[256] = "localhost";
	unsigned failed = t->failed - t->errors, errors = t->errors, skipped = t->skipped;
	const char *implementation = t->implementation;
	time_t now = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime(&now));
	gethostname(host, sizeof(host) - 1);
	ps_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	ps_buf_addf(&b,
		    "<testsuites name=\"procspec\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" "
		    "skipped=\"%u\" time=\"%.3f\">\n",
		    rep->done, failed, errors, skipped, rep->seconds);
	ps_buf_adds(&b, "  <testsuite name=\"procspec.");
	xml_text(&b, rep->label);
	if (rep->against) {
		ps_buf_addc(&b, '.');
		xml_text(&b, rep->against);
	}
	ps_buf_addf(&b,
		    "\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.3f\" "
		    "timestamp=\"%s\" hostname=\"",
		    rep->done, failed, errors, skipped, rep->seconds, stamp);
	xml_text(&b, host);
	ps_buf_adds(&b, "\">\n    <properties>\n      <property name=\"implementation\" value=\"");
	xml_text(&b, implementation ? implementation : rep->label);
	ps_buf_adds(&b, "\"/>\n");
	if (rep->against) {
		ps_buf_adds(&b, "      <property name=\"golden\" value=\"");
		xml_text(&b, rep->against);
		ps_buf_adds(&b, "\"/>\n");
	}
	ps_buf_adds(&b, "    </properties>\n");
	if (rep->junit.data)
		ps_buf_adds(&b, rep->junit.data);
	ps_buf_adds(&b, "  </testsuite>\n</testsuites>\n");
	if (!ps_buf_oom(&b)) {
		if (rep->dir) {
			ps_buf_addf(&path, "%s/junit.xml", rep->dir);
			write_file(rep, path.data, b.data, b.len);
			ps_buf_release(&path);
		}
		if (rep->junit_extra && *rep->junit_extra)
			write_file(rep, rep->junit_extra, b.data, b.len);
	}
	ps_buf_release(&b);
}

const struct ps_reporter ps_reporter_junit = { "junit", junit_add, junit_finish };

/* --- TAP -------------------------------------------------------------------- */

static void tap_add(struct ps_report *rep, const struct ps_report_item *it)
{
	add_tap(rep, it->n, it->id, it->method, it->res);
}

static void tap_finish(struct ps_report *rep, const struct ps_report_totals *t)
{
	struct ps_buf b = PS_BUF_INIT, path = PS_BUF_INIT;

	(void)t;
	if (!rep->dir)
		return;
	/* TAP 14 by default; PROCSPEC_TAP_VERSION=13 for harnesses that refuse 14
	 * (Perl's Test::Harness before 3.48).  What is written is valid in both. */
	ps_buf_addf(&b, "TAP version %s\n1..%zu\n",
		    getenv("PROCSPEC_TAP_VERSION") &&
				    !strcmp(getenv("PROCSPEC_TAP_VERSION"), "13") ?
			    "13" :
			    "14",
		    rep->done);
	if (rep->tap.data)
		ps_buf_adds(&b, rep->tap.data);
	ps_buf_addf(&path, "%s/results.tap", rep->dir);
	if (!ps_buf_oom(&b) && !ps_buf_oom(&path))
		write_file(rep, path.data, b.data, b.len);
	ps_buf_release(&b);
	ps_buf_release(&path);
}

const struct ps_reporter ps_reporter_tap = { "tap", tap_add, tap_finish };

/* --- JSON ------------------------------------------------------------------- */

static void json_add(struct ps_report *rep, const struct ps_report_item *it)
{
	const struct ps_job_result *r = it->res;
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:f, s:s?, s:s?, s:s?}", "scenario", it->id, "method",
		      it->method, "verdict", ps_verdict_word(r->verdict), "seconds", r->seconds,
		      "detail", r->detail, "where", r->where, "diff", r->diff);
	/* FLAKY (run --repeat): each distinct outcome with its repetitions */
	if (o && r->verdict == PS_V_FLAKY && r->extra)
		json_object_set_new(o, "variants", json_loads(r->extra, 0, NULL));
	json_array_append_new(rep->results, o);
}

static void json_finish(struct ps_report *rep, const struct ps_report_totals *t)
{
	struct ps_buf path = PS_BUF_INIT;
	const char *implementation = t->implementation;
	json_t *root, *counts;
	unsigned v;
	char *s;

	if (!rep->dir)
		return;
	counts = json_object();
	for (v = 0; v < PS_V_COUNT; v++)
		json_object_set_new(counts, ps_verdict_word(v), json_integer(rep->counts[v]));
	root = json_pack("{s:i, s:s, s:s, s:s?, s:o, s:O}", "format", 1, "implementation",
			 implementation ? implementation : rep->label, "label", rep->label,
			 "golden", rep->against, "counts", counts, "results", rep->results);
	s = root ? json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	ps_buf_addf(&path, "%s/results.json", rep->dir);
	if (s && !ps_buf_oom(&path))
		write_file(rep, path.data, s, strlen(s));
	ps_buf_release(&path);
	free(s);
	json_decref(root);
}

const struct ps_reporter ps_reporter_json = { "json", json_add, json_finish };

const struct ps_reporter *const ps_report_run_reporters[] = {
	&ps_reporter_console, &ps_reporter_transcripts, &ps_reporter_junit,
	&ps_reporter_tap,     &ps_reporter_json,        NULL,
};

/* --- every reporter in turn ------------------------------------------------- */

void ps_report_add(struct ps_report *rep, const char *id, const char *method,
		   const struct ps_job_result *r)
{
	const struct ps_reporter *const *p;
	struct ps_report_item it;

	rep->counts[r->verdict]++;
	rep->done++;
	rep->seconds += r->seconds;
	it.n = rep->done;
	it.id = id;
	it.method = method;
	it.res = r;
	for (p = rep->reporters; *p; p++)
		if ((*p)->add)
			(*p)->add(rep, &it);
}

int ps_report_finish(struct ps_report *rep, const char *implementation)
{
	const struct ps_reporter *const *p;
	struct ps_report_totals t = { implementation, 0, 0, 0 };
	unsigned v;

	for (v = PS_V_FAIL; v < PS_V_COUNT; v++) {
		t.failed += rep->counts[v];
		if (v >= PS_V_DRIVER)
			t.errors += rep->counts[v];
	}
	t.skipped = rep->counts[PS_V_NOTRUN] + rep->counts[PS_V_UNSUPPORTED];
	for (p = rep->reporters; *p; p++)
		if ((*p)->finish)
			(*p)->finish(rep, &t);
	fflush(rep->out);
	return t.failed ? 1 : 0;
}

void ps_report_release(struct ps_report *rep)
{
	json_decref(rep->results);
	json_decref(rep->skips);
	ps_buf_release(&rep->tap);
	ps_buf_release(&rep->junit);
	rep->results = rep->skips = NULL;
}
