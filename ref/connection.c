/*
 * multiprocessing.Pipe() and the Connection objects it returns, in the
 * scenario process (Lib/multiprocessing/connection.py, Unix): a duplex
 * pipe is a socketpair, a one-way one an os.pipe() whose read end comes
 * first.  send() writes CPython's frame, a 4-byte big-endian length and
 * the message; the message is libprocref's own encoding of the value
 * (wire.c) where CPython's is a pickle, since only libprocref reads it.
 * A connection given to a child goes as CPython's reduction.DupFd sends
 * it: under spawn its fd stays open across exec at the same number, under
 * forkserver it travels with the request (SCM_RIGHTS), under fork the
 * child simply has it (wire.c, pr__wire_pass_fd).  Anywhere else (an
 * executor's task) libprocref does not send one.
 *
 * 2.7's Connection is the C type of _multiprocessing, whose repr names
 * its mode and fd; from 3.0 it is object.__repr__.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

struct conn {
	int fd; /* -1 once closed */
	int readable, writable;
};

static void conn_free(void *data)
{
	struct conn *c = data;

	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void conn_repr(pr_value *v, struct sbuf *sb)
{
	const struct conn *c = v->u.obj.data;

	if (pr__profile.bytes_type)
		pr__sb_printf(sb, "<multiprocessing.connection.Connection object at %p>",
			      (void *)v);
	else
		pr__sb_printf(sb, "<%s Connection, handle %d>",
			      c->readable && c->writable ? "read-write" :
			      c->readable                ? "read-only" :
							   "write-only",
			      c->fd);
}

static int conn_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d);
static int check(const struct conn *c, int need_read, int need_write, struct pr_diag *d);

/* reduce_connection(): 'c', readable | writable << 1, then the handle the
 * child finds a duplicate of the fd by (DupFd); a closed one raises */
static int conn_wire(struct sbuf *sb, pr_value *v)
{
	const struct conn *c = v->u.obj.data;
	uint64_t handle;
	int r;

	if (c->fd < 0)
		return PR_EUNSUPPORTED;
	if ((r = pr__wire_pass_fd(c->fd, &handle)) < 0)
		return r;
	pr__sb_putc(sb, 'c');
	pr__wire_put_u64(sb, (uint64_t)(c->readable | c->writable << 1));
	pr__wire_put_u64(sb, handle);
	return 0;
}

/* a closed Connection does not pickle: fileno() raises */
static int conn_pickle(pr_value *v, struct pr_diag *d)
{
	return check(v->u.obj.data, 0, 0, d);
}

static const struct pr_objtype conn_type = {
	.name = "Connection",
	.free = conn_free,
	.repr = conn_repr,
	.getattr = conn_getattr,
	.pickle = conn_pickle,
	.wire = conn_wire,
};

/* _check_closed(), then _check_readable() or _check_writable() */
static int check(const struct conn *c, int need_read, int need_write, struct pr_diag *d)
{
	if (c->fd < 0)
		return pr_diag_raise(d, "OSError", "handle is closed");
	if (need_read && !c->readable)
		return pr_diag_raise(d, "OSError", "connection is write-only");
	if (need_write && !c->writable)
		return pr_diag_raise(d, "OSError", "connection is read-only");
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* _recv(size): 1 for EOF before the first byte, 0 when all came */
static int read_all(int fd, char *p, size_t n, struct pr_diag *d)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return pr_diag(d, -errno, NULL);
		if (r == 0) {
			if (got == 0)
				return 1;
			return pr_diag_raise(d, "OSError", "got end of file during message");
		}
		got += (size_t)r;
	}
	return 0;
}

/* the values a message can carry here: what a scenario writes as literals */
static int plain(const pr_value *v)
{
	size_t i, n;

	switch (v->kind) {
	case PR_NONE:
	case PR_BOOL:
	case PR_INT:
	case PR_FLOAT:
	case PR_STR:
	case PR_BYTES:
		return 1;
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		n = v->kind == PR_DICT ? 2 * v->u.seq.len : v->u.seq.len;
		for (i = 0; i < n; i++)
			if (!plain(v->u.seq.items[i]))
				return 0;
		return 1;
	default:
		return 0;
	}
}

static int c_send(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct conn *c = self->u.obj.data;
	struct sbuf sb = SBUF_INIT;
	unsigned char hdr[4];
	char *msg;
	size_t len;
	int r;

	if ((r = check(c, 0, 1, d)) < 0)
		return r;
	if (!plain(argv[0]))
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref's Connection.send() sends None, numbers, strings, "
			       "bytes and containers of them only");
	pr__sb_putc(&sb, 0); /* room for the header, filled below */
	pr__sb_putc(&sb, 0);
	pr__sb_putc(&sb, 0);
	pr__sb_putc(&sb, 0);
	if ((r = pr__wire_put(&sb, argv[0])) < 0 || (r = pr__sb_finish(&sb, &msg, &len)) < 0)
		return pr_diag(d, r, NULL);
	if (len - 4 > INT32_MAX) {
		free(msg);
		return pr_diag(d, PR_EOVERFLOW, "message too long");
	}
	hdr[0] = (unsigned char)((len - 4) >> 24);
	hdr[1] = (unsigned char)((len - 4) >> 16);
	hdr[2] = (unsigned char)((len - 4) >> 8);
	hdr[3] = (unsigned char)(len - 4);
	memcpy(msg, hdr, 4);
	r = write_all(c->fd, msg, len);
	free(msg);
	if (r < 0)
		return pr_diag(d, r, NULL);
	*out = pr_none();
	return 0;
}

static int c_recv(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct conn *c = self->u.obj.data;
	unsigned char hdr[4];
	const char *p;
	char *buf;
	uint32_t n;
	int r;

	(void)argv;
	if ((r = check(c, 1, 0, d)) < 0)
		return r;
	if ((r = read_all(c->fd, (char *)hdr, 4, d)) < 0)
		return r;
	if (r == 1)
		return pr_diag_raise(d, "EOFError", "%s", "");
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if ((buf = malloc(n ? n : 1)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	if ((r = read_all(c->fd, buf, n, d)) != 0) {
		free(buf);
		return r < 0 ? r : pr_diag_raise(d, "OSError", "got end of file during message");
	}
	p = buf;
	r = pr__wire_get(&p, buf + n, out);
	free(buf);
	return r < 0 ? pr_diag(d, PR_EUNSUPPORTED, "libprocref cannot read that message") : 0;
}

/* poll(timeout=0.0): bool(wait([self], timeout)) */
static int c_poll(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct conn *c = self->u.obj.data;
	struct pollfd pfd;
	double timeout = 0;
	int r, ms;

	if ((r = check(c, 1, 0, d)) < 0)
		return r;
	if (argv[0] != NULL && argv[0]->kind != PR_NONE &&
	    (r = pr__value_as_double(argv[0], &timeout, d)) < 0)
		return r;
	ms = argv[0] != NULL && argv[0]->kind == PR_NONE ? -1 :
	     timeout <= 0                                ? 0 :
	     timeout > 1e6                               ? 1000000000 :
							   (int)(timeout * 1000 + 0.999);
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return pr_diag(d, -errno, NULL);
	*out = pr_bool(r > 0);
	return 0;
}

static int c_close(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct conn *c = self->u.obj.data;

	(void)argv;
	(void)d;
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	*out = pr_none();
	return 0;
}

static int c_fileno(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct conn *c = self->u.obj.data;
	int r;

	(void)argv;
	if ((r = check(c, 0, 0, d)) < 0)
		return r;
	*out = pr_int(c->fd);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static const char *const no_params[] = { NULL };
static const char *const obj_params[] = { "obj" };
static const char *const timeout_params[] = { "timeout" };

static const pr_func conn_methods[] = {
	{ .name = "_ConnectionBase.close", .params = no_params, .fn = c_close },
	{ .name = "_ConnectionBase.fileno", .params = no_params, .fn = c_fileno },
	{ .name = "_ConnectionBase.poll", .params = timeout_params, .nparams = 1, .fn = c_poll },
	{ .name = "_ConnectionBase.recv", .params = no_params, .fn = c_recv },
	{ .name = "_ConnectionBase.send",
	  .params = obj_params,
	  .nparams = 1,
	  .nrequired = 1,
	  .fn = c_send },
};

static int conn_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d)
{
	const struct conn *c = v->u.obj.data;
	size_t i;

	if (strcmp(name, "closed") == 0)
		*out = pr_bool(c->fd < 0);
	else if (strcmp(name, "readable") == 0)
		*out = pr_bool(c->readable);
	else if (strcmp(name, "writable") == 0)
		*out = pr_bool(c->writable);
	else {
		for (i = 0; i < ARRAY_SIZE(conn_methods); i++)
			if (strcmp(strchr(conn_methods[i].name, '.') + 1, name) == 0) {
				*out = pr__method(&conn_methods[i], v);
				return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
			}
		if (name[0] == '_' || strcmp(name, "send_bytes") == 0 ||
		    strcmp(name, "recv_bytes") == 0 || strcmp(name, "recv_bytes_into") == 0)
			return pr_diag(d, PR_EUNSUPPORTED,
				       "libprocref does not model Connection.%s", name);
		return pr_diag(d, PR_EATTRIBUTE, "'Connection' object has no attribute '%s'", name);
	}
	return 0;
}

static pr_value *conn_new(int fd, int readable, int writable)
{
	struct conn *c = malloc(sizeof *c);

	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->readable = readable;
	c->writable = writable;
	return pr__object_new(&conn_type, c);
}

pr_value *pr__connection_from_fd(int fd, int readable, int writable)
{
	return conn_new(fd, readable, writable);
}

int pr__connection_fd(const pr_value *v, int *fd, struct pr_diag *d)
{
	const struct conn *c = pr__object_data(v, &conn_type);
	int r;

	if (c == NULL)
		return 1;
	if ((r = check(c, 0, 0, d)) < 0)
		return r;
	*fd = c->fd;
	return 0;
}

static const char *const pipe_params[] = { "duplex" };

/* Pipe(duplex=True) -> (conn1, conn2) */
static int m_pipe(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *ends[2];
	int fds[2], duplex = 1;

	(void)self;
	if (argv[0] != NULL)
		duplex = pr_truth(argv[0]);
	if (duplex ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 :
		     pipe2(fds, O_CLOEXEC) < 0)
		return pr_diag(d, -errno, NULL);
	ends[0] = conn_new(fds[0], 1, duplex);
	ends[1] = conn_new(fds[1], duplex, 1);
	if (ends[0] == NULL || ends[1] == NULL) {
		pr_decref(ends[0]);
		pr_decref(ends[1]);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	*out = pr_tuple(ends, 2);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static const pr_func pipe_func = {
	.name = "Pipe", .params = pipe_params, .nparams = 1, .fn = m_pipe
};

pr_value *pr__pipe_global(void)
{
	return pr_function(&pipe_func);
}
