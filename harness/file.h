/*
 * Whole-file reads and atomic writes.  A report or golden file is never seen
 * half-written: it is written to a temporary file beside its final name,
 * flushed, and renamed over it.
 */
#ifndef PS_FILE_H
#define PS_FILE_H

#include <stddef.h>

/* Read the whole file into a malloc'd, NUL-terminated buffer. 0 or -errno. */
int ps_file_read(const char *path, char **out, size_t *len);

/* Write data to path atomically, creating missing parent directories. 0 or -errno. */
int ps_file_write_atomic(const char *path, const char *data, size_t len);

/* mkdir -p. 0 or -errno. */
int ps_mkdirs(const char *dir);

#endif
