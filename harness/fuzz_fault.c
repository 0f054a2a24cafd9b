#include "fuzz_fault.h"

#include "fault.h"

void ps_fuzz_fault_gen(struct ps_fuzz_rng *r, struct ps_buf *b)
{
	const struct ps_fault_site *site;
	size_t n = 0, n_err = 0;
	uint64_t x;
	const char *err;

	while (ps_fault_site_at(n))
		n++;
	if (!n)
		return;
	site = ps_fault_site_at((size_t)(ps_fuzz_rng_next(r) % n));
	while (n_err < sizeof(site->errnos) / sizeof(site->errnos[0]) && site->errnos[n_err])
		n_err++;
	err = ps_fault_errno_name(site->errnos[ps_fuzz_rng_next(r) % (n_err ? n_err : 1)]);
	x = ps_fuzz_rng_next(r);
	ps_buf_addf(b, "fault('%s', errno=errno.%s", site->name, err ? err : "EIO");
	if (x % 5)
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
