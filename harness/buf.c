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
