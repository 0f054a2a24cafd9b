#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ps_diag(struct ps_diag *d, int code, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return code;
	d->code = code;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *ps_strerror(int code)
{
	switch (code) {
/* clang-format off */
#define PS_CASE_(name, val, msg) case name: return msg;
	PS_ERRNO_MAP(PS_CASE_)
#undef PS_CASE_
		/* clang-format on */
	}
	if (code < 0 && code > -1000)
		return strerror(-code);
	return "unknown error";
}
