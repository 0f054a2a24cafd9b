#include "normalize.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int ps_transcript_add(struct ps_transcript *t, char *stmt, enum ps_result_kind kind, char *value,
		      bool sentinel)
{
	struct ps_entry *e = realloc(t->entries, (t->n_entries + 1) * sizeof(*e));

	if (!e) {
		free(stmt);
		free(value);
		return -ENOMEM;
	}
	t->entries = e;
	e[t->n_entries++] = (struct ps_entry){ stmt, kind, value, sentinel };
	return 0;
}

int ps_transcript_pid(struct ps_transcript *t, const char *name, long pid)
{
	struct ps_pid *p;
	size_t i;

	for (i = 0; i < t->n_pids; i++) {
		if (!strcmp(t->pids[i].name, name)) {
			t->pids[i].pid = pid;
			return 0;
		}
	}
	p = realloc(t->pids, (t->n_pids + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->pids = p;
	p[t->n_pids].name = strdup(name);
	if (!p[t->n_pids].name)
		return -ENOMEM;
	p[t->n_pids++].pid = pid;
	return 0;
}

int ps_transcript_escaped(struct ps_transcript *t, const char *process, const char *into,
			  const char *type, const char *message)
{
	static const struct {
		const char *into, *text;
	} where[] = {
		{ "main", "the main program" },
		{ "target", "its parent's target" },
		{ "server", "the fork server" },
	};
	struct ps_buf b = PS_BUF_INIT;
	const char *text = NULL;
	char **grown, *line;
	size_t i;

	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (!strcmp(where[i].into, into))
			text = where[i].text;
	if (!text)
		return -EINVAL;
	ps_buf_addf(&b, "%s into %s", process, text);
	if (type) {
		ps_buf_addf(&b, ", raising %s", type);
		if (message && *message)
			ps_buf_addf(&b, ": %s", message);
	}
	if (!(line = ps_buf_detach(&b)))
		return -ENOMEM;
	if (!(grown = realloc(t->escaped, (t->n_escaped + 1) * sizeof(*grown)))) {
		free(line);
		return -ENOMEM;
	}
	t->escaped = grown;
	/* kept sorted: children that escape at once do so in any order */
	for (i = t->n_escaped; i > 0 && strcmp(grown[i - 1], line) > 0; i--)
		grown[i] = grown[i - 1];
	grown[i] = line;
	t->n_escaped++;
	return 0;
}

void ps_transcript_release(struct ps_transcript *t)
{
	size_t i;

	for (i = 0; i < t->n_entries; i++) {
		free(t->entries[i].stmt);
		free(t->entries[i].value);
	}
	free(t->entries);
	for (i = 0; i < t->n_pids; i++)
		free(t->pids[i].name);
	free(t->pids);
	free(t->authkey);
	for (i = 0; i < t->n_escaped; i++)
		free(t->escaped[i]);
	free(t->escaped);
	*t = (struct ps_transcript)PS_TRANSCRIPT_INIT;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_word(char c)
{
	return is_hex(c) || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '_';
}

static const char *pid_name(const struct ps_transcript *t, long pid)
{
	size_t i;

	/* A variable's name wins over "main" should the two ever coincide. */
	for (i = 0; i < t->n_pids; i++)
		if (t->pids[i].pid == pid && strcmp(t->pids[i].name, "main"))
			return t->pids[i].name;
	for (i = 0; i < t->n_pids; i++)
		if (t->pids[i].pid == pid)
			return t->pids[i].name;
	return NULL;
}

char *ps_normalize_value(const struct ps_transcript *t, const char *v)
{
	struct ps_buf b = PS_BUF_INIT;
	size_t ak = t->authkey ? strlen(t->authkey) : 0;
	const char *s = v, *name;

	while (*s) {
		if (ak && !strncmp(s, t->authkey, ak)) {
			ps_buf_adds(&b, "<authkey>");
			s += ak;
		} else if (s[0] == '0' && s[1] == 'x' && (s == v || !is_word(s[-1]))) {
			size_t n = 0;

			while (is_hex(s[2 + n]))
				n++;
			if (n >= 6 && !is_word(s[2 + n])) {
				ps_buf_adds(&b, "0x<addr>");
				s += 2 + n;
			} else {
				ps_buf_add(&b, s, 2);
				s += 2;
			}
		} else if (is_digit(*s) &&
			   (s == v || (!is_word(s[-1]) && s[-1] != '.' && s[-1] != '-'))) {
			size_t n = 0;
			bool pidctx;

			while (is_digit(s[n]))
				n++;
			if (is_word(s[n]) || (s[n] == '.' && is_digit(s[n + 1]))) {
				ps_buf_add(&b, s, n); /* part of a longer token */
				s += n;
				continue;
			}
			name = n < 12 ? pid_name(t, strtol(s, NULL, 10)) : NULL;
			pidctx = (s - v >= 4 && !strncmp(s - 4, "pid=", 4)) ||
				 (s - v >= 7 && !strncmp(s - 7, "parent=", 7));
			if (name)
				ps_buf_addf(&b, "<%s>", name);
			else if (pidctx)
				ps_buf_adds(&b, "<pid>");
			else
				ps_buf_add(&b, s, n);
			s += n;
		} else {
			ps_buf_addc(&b, *s++);
		}
	}
	return ps_buf_detach(&b);
}

/*
 * Collapse traceback frames: the lines between "Traceback (most recent call
 * last):" and the exception line hold file paths, line numbers and, from
 * CPython 3.11, caret markers; none of them is the implementation's contract.
 */
static void add_text(struct ps_buf *b, const char *text)
{
	const char *s = text, *nl;
	bool in_tb = false;

	while (*s) {
		nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		if (in_tb && n > 0 && s[0] == ' ') {
			s += n + (nl ? 1 : 0);
			continue;
		}
		if (in_tb) {
			ps_buf_adds(b, "|   ...\n");
			in_tb = false;
		}
		ps_buf_adds(b, n ? "| " : "|");
		ps_buf_add(b, s, n);
		ps_buf_addc(b, '\n');
		if (n == 34 && !strncmp(s, "Traceback (most recent call last):", 34))
			in_tb = true;
		if (!nl) {
			ps_buf_adds(b, "\\ no newline at end\n");
			break;
		}
		s = nl + 1;
	}
	if (in_tb)
		ps_buf_adds(b, "|   ...\n");
}

char *ps_transcript_render(const struct ps_transcript *t)
{
	struct ps_buf b = PS_BUF_INIT;
	const struct ps_entry *e;
	char *v;
	size_t i;

	for (i = 0; i < t->n_entries; i++) {
		e = &t->entries[i];
		ps_buf_addf(&b, ">>> %s\n", e->stmt);
		if (e->kind == PS_R_NONE)
			continue;
		if (e->kind == PS_R_REPR && e->sentinel && e->value[0] &&
		    strspn(e->value, "0123456789") == strlen(e->value)) {
			ps_buf_adds(&b, "<fd>\n");
			continue;
		}
		v = ps_normalize_value(t, e->value);
		if (!v) {
			ps_buf_release(&b);
			return NULL;
		}
		if (e->kind == PS_R_TEXT) {
			add_text(&b, v);
		} else {
			ps_buf_adds(&b, v);
			ps_buf_addc(&b, '\n');
		}
		free(v);
	}
	for (i = 0; i < t->n_escaped; i++) {
		if (!(v = ps_normalize_value(t, t->escaped[i]))) {
			ps_buf_release(&b);
			return NULL;
		}
		ps_buf_addf(&b, "--- escaped: %s\n", v);
		free(v);
	}
	if (t->ended)
		ps_buf_addf(&b, "--- end: fds_leaked=%ld children_left=%ld\n", t->fds_leaked,
			    t->children_left);
	return ps_buf_detach(&b);
}
