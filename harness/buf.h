/*
 * A growable byte buffer, always NUL-terminated.  Out of memory is sticky:
 * once an append fails, every later one fails too and ps_buf_oom() says so,
 * so a caller may append freely and check once.
 */
#ifndef PS_BUF_H
#define PS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct ps_buf {
	char *data;
	size_t len, cap;
	bool oom;
};

/* clang-format off */
#define PS_BUF_INIT { NULL, 0, 0, false }
/* clang-format on */

int ps_buf_add(struct ps_buf *b, const void *p, size_t n);
int ps_buf_adds(struct ps_buf *b, const char *s);
int ps_buf_addf(struct ps_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ps_buf_addc(struct ps_buf *b, char c);
/*
 * Append n bytes of untrusted text (a driver's stderr, a file name) so that
 * the result is valid UTF-8 without terminal controls: a byte that does not
 * start a well-formed UTF-8 sequence, and every control byte but newline and
 * tab, becomes "\\xNN"; a backslash stays as it is.  JSON reports need
 * valid UTF-8 (jansson refuses anything else), a terminal needs no escape
 * sequences from a child.
 */
int ps_buf_add_text(struct ps_buf *b, const char *s, size_t n);
/* ps_buf_add_text of a NUL-terminated s into a new string; NULL when out of memory. */
char *ps_text_escape(const char *s);
bool ps_buf_oom(const struct ps_buf *b);
/* Hand the string over to the caller (never NULL unless out of memory) and reset b. */
char *ps_buf_detach(struct ps_buf *b);
void ps_buf_release(struct ps_buf *b);

#endif
