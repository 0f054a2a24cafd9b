/*
 * sys.stdout and sys.stderr as CPython 3.11 sets them up when fds 1 and 2
 * are no terminals (they are files or pipes under a driver): stdout
 * block-buffered, stderr line-buffered (always, since 3.9).  What a child
 * writes reaches its fd when CPython's would, which decides the order of
 * lines from different processes sharing a capture file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* io.DEFAULT_BUFFER_SIZE: a block-buffered stream writes through once
 * this much is pending */
#define BLOCK 8192

struct stream {
	int fd;
	int removed; /* sys.stdout is None (child.breaks_stdio, 'remove') */
	int line_buffered;
	char *buf;
	size_t len, cap;
};

static struct stream streams[2] = {
	{ 1, 0, 0, NULL, 0, 0 },
	{ 2, 0, 1, NULL, 0, 0 },
};

int pr__stream_flush(int which)
{
	struct stream *s = &streams[which];
	size_t off = 0;
	ssize_t n;

	if (s->fd < 0) {
		s->len = 0;
		return 0;
	}
	while (off < s->len) {
		do
			n = write(s->fd, s->buf + off, s->len - off);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			s->len = 0;
			return -errno;
		}
		off += (size_t)n;
	}
	s->len = 0;
	return 0;
}

int pr__stream_write(int which, const char *data, size_t len)
{
	struct stream *s = &streams[which];
	size_t cap;
	char *p;

	if (len == 0) /* nothing to buffer; s->buf may still be NULL */
		return 0;
	if (len > s->cap - s->len) {
		cap = s->cap ? s->cap : 256;
		while (cap - s->len < len)
			cap *= 2;
		if ((p = realloc(s->buf, cap)) == NULL)
			return PR_EMEMORY;
		s->buf = p;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	/* TextIOWrapper: line_buffering flushes on "\n" or "\r" */
	if (s->line_buffered && (memchr(data, '\n', len) || memchr(data, '\r', len)))
		return pr__stream_flush(which);
	if (s->len >= BLOCK)
		return pr__stream_flush(which);
	return 0;
}

int pr__stream_removed(int which)
{
	return streams[which].removed;
}

void pr__stream_break(int which, int removed)
{
	streams[which].removed = removed;
	/* the old stream object goes with whatever it held; the new one
	 * writes nowhere, and its flush() fails in a way
	 * util._flush_std_streams() swallows */
	streams[which].len = 0;
	streams[which].fd = -1;
}

int pr__flush_std_streams(void)
{
	int r1 = pr__stream_flush(PR_STDOUT);
	int r2 = pr__stream_flush(PR_STDERR);

	return r1 < 0 ? r1 : r2;
}

void pr__streams_fini(void)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		free(streams[i].buf);
		streams[i].buf = NULL;
		streams[i].len = streams[i].cap = 0;
	}
}
