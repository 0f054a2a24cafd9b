/*
 * Growable text for repr() and messages.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int grow(struct sbuf *sb, size_t more)
{
	size_t want, cap;
	char *p;

	if (sb->oom)
		return -1;
	if (more > SIZE_MAX - sb->len - 1)
		goto fail;
	want = sb->len + more + 1;
	if (want <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if ((p = realloc(sb->p, cap)) == NULL)
		goto fail;
	sb->p = p;
	sb->cap = cap;
	return 0;
fail:
	sb->oom = 1;
	return -1;
}

void pr__sb_put(struct sbuf *sb, const void *data, size_t len)
{
	if (grow(sb, len) < 0)
		return;
	if (len)
		memcpy(sb->p + sb->len, data, len);
	sb->len += len;
	sb->p[sb->len] = '\0';
}

void pr__sb_puts(struct sbuf *sb, const char *s)
{
	pr__sb_put(sb, s, strlen(s));
}

void pr__sb_putc(struct sbuf *sb, char c)
{
	pr__sb_put(sb, &c, 1);
}

void pr__sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->oom = 1;
		return;
	}
	if (grow(sb, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

int pr__sb_finish(struct sbuf *sb, char **out, size_t *len)
{
	if (grow(sb, 0) < 0) {
		pr__sb_release(sb);
		return PR_EMEMORY;
	}
	sb->p[sb->len] = '\0';
	*out = sb->p;
	if (len != NULL)
		*len = sb->len;
	sb->p = NULL;
	sb->len = sb->cap = 0;
	return 0;
}

void pr__sb_release(struct sbuf *sb)
{
	free(sb->p);
	sb->p = NULL;
	sb->len = sb->cap = 0;
	sb->oom = 0;
}
