/*
 * The protocol stream: request lines in, JSON replies out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "driver.h"

struct drv_state drv = { -1, -1, -1, -1, 0, 0, NULL };

void drv_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "procref-driver[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/*
 * The memory the zygote shares with every scenario process it forks: the
 * flags of drv.shared, and the read buffer.  They take turns on the
 * protocol fd (the zygote waits while a scenario process answers), so
 * whatever one of them read past its last line is where the other looks
 * next.  Reading a byte at a time instead cost a system call per byte,
 * the driver's largest cost in a fuzz session (make bench).  One mapping
 * for both: every mapping is one more to copy at each fork and to tear
 * down at each exit.
 */
#define INBUF_CAP 65536
struct inbuf {
	unsigned char flags[2]; /* drv.shared */
	size_t head, tail;      /* the unread bytes are data[head..tail) */
	char data[INBUF_CAP];
};
static struct inbuf *in;

int drv_shared_init(void)
{
	void *p = mmap(NULL, sizeof(*in), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		       0);

	if (p == MAP_FAILED)
		return -errno;
	in = p;
	drv.shared = in->flags;
	return 0;
}

void drv_shared_fini(void)
{
	if (in != NULL)
		munmap(in, sizeof(*in));
	in = NULL;
	drv.shared = NULL;
}

/* Refill an empty buffer: the byte count, 0 at EOF, or -errno. */
static ssize_t refill(void)
{
	ssize_t r;

	in->head = in->tail = 0;
	do
		r = read(drv.proto_in, in->data, sizeof(in->data));
	while (r == -1 && errno == EINTR);
	if (r < 0)
		return -errno;
	in->tail = (size_t)r;
	return r;
}

int drv_read_line(char **line, size_t *len)
{
	size_t n = 0, cap = 256, take;
	char *buf = malloc(cap), *p, *src, *nl;
	int too_long = 0;
	ssize_t r;

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		if (in->head == in->tail) {
			if ((r = refill()) < 0) {
				free(buf);
				return (int)r;
			}
			if (r == 0) {
				if (n == 0 && !too_long) {
					free(buf);
					return 0;
				}
				break;
			}
		}
		src = in->data + in->head;
		nl = memchr(src, '\n', in->tail - in->head);
		take = nl != NULL ? (size_t)(nl - src) : in->tail - in->head;
		in->head += take + (nl != NULL);
		if (!too_long && n + take > DRV_MAX_LINE) {
			too_long = 1;
			n = 0;
		}
		if (!too_long) {
			if (n + take + 1 > cap) {
				while (n + take + 1 > cap)
					cap *= 2;
				if ((p = realloc(buf, cap)) == NULL) {
					free(buf);
					return -ENOMEM;
				}
				buf = p;
			}
			memcpy(buf + n, src, take);
			n += take;
		}
		if (nl != NULL)
			break;
	}
	if (too_long) {
		free(buf);
		return DRV_TOO_LONG;
	}
	buf[n] = '\0';
	*line = buf;
	*len = n;
	return 1;
}

int drv_send(json_t *msg)
{
	char *s;
	size_t len, off = 0;
	ssize_t n;
	int r = 0;

	if (msg == NULL)
		return -ENOMEM;
	/* a process that forked and came back through the driver must
	 * never speak the protocol */
	if (drv.scenario_pid != 0 && getpid() != drv.scenario_pid)
		_exit(DRV_SCENARIO_FAILED);
	s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	json_decref(msg);
	if (s == NULL)
		return -ENOMEM;
	len = strlen(s);
	s[len++] = '\n'; /* json_dumps leaves room: this replaces the NUL */
	while (off < len) {
		do
			n = write(drv.proto_out, s + off, len - off);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(s);
	return r;
}

int drv_send_error(const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	n = drv_send(
		json_pack("{s:s, s:o}", "op", "error", "message", drv_json_text(m, strlen(m))));
	free(m);
	return n;
}

int drv_reply_error(json_t *req, const char *message)
{
	json_t *id = json_object_get(req, "id");
	const char *op = json_string_value(json_object_get(req, "op"));

	if (op != NULL && strcmp(op, "step") == 0)
		return drv_send(json_pack("{s:s, s:O, s:o, s:{}}", "op", "result", "id",
					  id ? id : json_null(), "error",
					  drv_json_text(message, strlen(message)), "pids"));
	return drv_send_error("%s", message);
}

/*
 * The maximal subpart of a UTF-8 sequence at s (Unicode 3.9, as CPython's
 * decoder reads it: no overlong forms, no surrogates, nothing past
 * U+10FFFF): how many bytes from s[0] can start a valid sequence, at least
 * one.  *need is the length the lead byte asks for (1 for ASCII, 0 for a
 * byte that leads nothing); the sequence is valid when the two are equal.
 */
static size_t utf8_prefix(const unsigned char *s, size_t len, size_t *need)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t i;

	if (s[0] < 0x80)
		*need = 1;
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		*need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		*need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		*need = 4;
	else
		*need = 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (i = 1; i < *need && i < len && s[i] >= lo && s[i] <= hi; i++)
		lo = 0x80, hi = 0xbf;
	return i;
}

/* The length of the valid UTF-8 sequence at s, 0 if none starts there. */
static size_t utf8_valid(const unsigned char *s, size_t len)
{
	size_t need, got = utf8_prefix(s, len, &need);

	return got == need ? need : 0;
}

/* The length of the ill-formed sequence at s that Python's 'replace'
 * handler makes one U+FFFD: its maximal subpart, at least one byte. */
static size_t utf8_bad(const unsigned char *s, size_t len)
{
	size_t need;

	return utf8_prefix(s, len, &need);
}

char *drv_backslashreplace(const char *s, size_t len, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	/* Python 2.7 has no backslashreplace for decoding: the Python driver
	 * decodes with 'replace' there (tools/pydriver.py, _clean) */
	int py2 = pr_profile_name()[0] == '2';
	char *buf, *p;
	size_t i, n;

	if (len > (SIZE_MAX - 1) / 4 || (buf = malloc(4 * len + 1)) == NULL)
		return NULL;
	for (i = 0, p = buf; i < len; i += n) {
		if ((n = utf8_valid(u + i, len - i)) == 0 && py2) {
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
			n = utf8_bad(u + i, len - i);
		} else if (n == 0) {
			p += sprintf(p, "\\x%02x", u[i]);
			n = 1;
		} else {
			memcpy(p, u + i, n);
			p += n;
		}
	}
	*p = '\0';
	*outlen = (size_t)(p - buf);
	return buf;
}

json_t *drv_json_text(const char *s, size_t len)
{
	char *clean;
	size_t n;
	json_t *j;

	if ((clean = drv_backslashreplace(s, len, &n)) == NULL)
		return NULL;
	j = json_stringn(clean, n);
	free(clean);
	return j;
}
