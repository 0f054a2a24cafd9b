#include "fuzz_fault.h"

#include <string.h>

#include "fault.h"
#include "util.h"

/*
 * Sites the fuzzer does not arm: a close() failed by the preload never
 * releases its fd, so every leak it causes is the injection's own, on every
 * implementation alike, and would drown the findings.
 */
static bool skipped(const char *name)
{
	return !strcmp(name, "posix/io/oc/close");
}

void ps_fuzz_fault_gen(struct ps_fuzz_rng *r, struct ps_buf *b)
{
	const struct ps_fault_site *site, *sites[64];
	size_t n = 0, i, n_err = 0;
	uint64_t x;
	const char *err;

	for (i = 0; (site = ps_fault_site_at(i)) && n < ARRAY_SIZE(sites); i++)
		if (!skipped(site->name))
			sites[n++] = site;
	if (!n)
		return;
	site = sites[ps_fuzz_rng_next(r) % n];
	while (n_err < ARRAY_SIZE(site->errnos) && site->errnos[n_err])
		n_err++;
	err = ps_fault_errno_name(site->errnos[ps_fuzz_rng_next(r) % (n_err ? n_err : 1)]);
	x = ps_fuzz_rng_next(r);
	ps_buf_addf(b, "fault('%s', errno=errno.%s", site->name, err ? err : "EIO");
	/*
	 * EINTR is retried (PEP 475; libprocref's loops alike): failing every
	 * call with it is a hang the injection makes, not the implementation.
	 */
	if (x % 5 || (err && !strcmp(err, "EINTR")))
		ps_buf_addf(b, ", count=%u", (unsigned)(x / 5 % 3) + 1);
	else
		ps_buf_adds(b, ", count=None");
	ps_buf_addf(b, ", after=%u)", (unsigned)(x / 15 % 3));
}

bool ps_fuzz_fault_call_ok(const struct ps_expr *call)
{
	char msg[256];

	return ps_fault_check(call, msg, sizeof(msg)) == NULL;
}
