/*
 * Error codes and the caller-owned diagnostic.
 *
 * Every harness function that can fail returns 0 or a negative code: one of
 * PS_E* below, or -errno for a failed system call.  The human detail goes
 * into a struct ps_diag owned by the caller, filled by ps_diag(), which
 * returns the code so that a failure reads `return ps_diag(d, PS_EPARSE, ...)`.
 */
#ifndef PS_DIAG_H
#define PS_DIAG_H

#include <stddef.h>

/* X(NAME, value, message).  Values sit far below -errno's range. */
/* clang-format off */
#define PS_ERRNO_MAP(X)                                                  \
	X(PS_EUSAGE,   -1001, "usage error")                             \
	X(PS_EPARSE,   -1002, "scenario parse error")                    \
	X(PS_EPROTO,   -1003, "driver broke the protocol")               \
	X(PS_ETIMEOUT, -1004, "time limit exceeded")                     \
	X(PS_EDRIVER,  -1005, "driver failed")                           \
	X(PS_ENOGOLD,  -1006, "no golden file")                          \
	X(PS_ETOOLONG, -1007, "line too long")
/* clang-format on */

enum ps_errno {
#define PS_ENUM_(name, val, msg) name = val,
	PS_ERRNO_MAP(PS_ENUM_)
#undef PS_ENUM_
};

struct ps_diag {
	int code;       /* the last code filled in, 0 if none */
	char msg[4096]; /* human detail, one or more lines */
};

/* clang-format off */
#define PS_DIAG_INIT { 0, "" }
/* clang-format on */

/* Fill d with code and a printf-style message; return code.  A NULL d is allowed. */
int ps_diag(struct ps_diag *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Name ("PS_EPARSE", "ENOENT") and message of a code. */
const char *ps_strerror(int code);

#endif
