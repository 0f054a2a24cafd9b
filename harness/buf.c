#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct ps_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -ENOMEM;
	if (b->len + need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < b->len + need + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int ps_buf_add(struct ps_buf *b, const void *p, size_t n)
{
	int r = grow(b, n);

	if (r)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ps_buf_adds(struct ps_buf *b, const char *s)
{
	return ps_buf_add(b, s, strlen(s));
}

int ps_buf_addc(struct ps_buf *b, char c)
{
	return ps_buf_add(b, &c, 1);
}

int ps_buf_addf(struct ps_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = grow(b, (size_t)n);
	if (r)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* no overlong forms, no surrogates, nothing above U+10FFFF */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int ps_buf_add_text(struct ps_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_len(u + i, n - i);
		if (k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
			k = 0; /* U+0080..U+009F: C1 controls, CSI among them */
		if (k == 1 && (u[i] >= 0x20 || u[i] == '\n' || u[i] == '\t') && u[i] != 0x7f)
			ps_buf_addc(b, (char)u[i]);
		else if (k > 1)
			ps_buf_add(b, u + i, k);
		else
			ps_buf_addf(b, "\\x%02x", u[i]);
		i += k ? k : 1;
	}
	return b->oom ? -ENOMEM : 0;
}

char *ps_text_escape(const char *s)
{
	struct ps_buf b = PS_BUF_INIT;

	ps_buf_add_text(&b, s, strlen(s));
	return ps_buf_detach(&b);
}

bool ps_buf_oom(const struct ps_buf *b)
{
	return b->oom;
}

char *ps_buf_detach(struct ps_buf *b)
{
	char *s;

	if (b->oom) {
		ps_buf_release(b);
		return NULL;
	}
	if (!b->data) {
		if (grow(b, 0))
			return NULL;
		b->data[0] = '\0';
	}
	s = b->data;
	*b = (struct ps_buf)PS_BUF_INIT;
	return s;
}

void ps_buf_release(struct ps_buf *b)
{
	free(b->data);
	*b = (struct ps_buf)PS_BUF_INIT;
}
