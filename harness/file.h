/*
 * Whole-file reads and atomic writes.  A report or golden file is never seen
 * half-written: it is written to a temporary file beside its final name,
 * flushed, and renamed over it.
 */
#ifndef PS_FILE_H
#define PS_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* The largest file ps_file_read takes: scenarios, golden files and lists are a few kB. */
#define PS_FILE_MAX (16u << 20)

/*
 * Read the whole file into a malloc'd, NUL-terminated buffer. 0 or -errno:
 * -EFBIG past PS_FILE_MAX bytes (/dev/zero ends there), -EAGAIN for a FIFO
 * with a writer that has not written (it is opened without blocking, and
 * one without a writer reads as empty, as /dev/null does).
 */
int ps_file_read(const char *path, char **out, size_t *len);

/*
 * Write data to path atomically (temporary file, then rename), creating
 * missing parent directories. 0 or -errno.  With durable, the data is
 * fsync()ed before the rename, so it survives a crash too: golden files
 * are; reports, rewritten on every run, are not (an fsync per scenario
 * stalled runs under disk contention, make bench).
 */
int ps_file_write_atomic(const char *path, const char *data, size_t len, bool durable);

/* Write all n bytes of p to fd, again after EINTR and short writes. 0 or -errno. */
int ps_write_all(int fd, const void *p, size_t n);

/* mkdir -p. 0 or -errno. */
int ps_mkdirs(const char *dir);

#endif
