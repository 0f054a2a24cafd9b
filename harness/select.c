#include "select.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ps_select_shard(struct ps_select *s, const char *arg, struct ps_diag *d)
{
	const char *given = arg;
	char *end;
	unsigned long k, n;

	k = strtoul(arg, &end, 10);
	if (end == arg || *end != '/')
		goto bad;
	arg = end + 1;
	n = strtoul(arg, &end, 10);
	if (end == arg || *end || n == 0 || k == 0 || k > n || n > 100000)
		goto bad;
	s->shard_index = (unsigned)(k - 1);
	s->shard_total = (unsigned)n;
	return 0;
bad:
	return ps_diag(d, PS_EUSAGE, "--shard %s: expected K/N with 1 <= K <= N", given);
}

int ps_select_bazel(struct ps_select *s, struct ps_diag *d)
{
	const char *total = getenv("TEST_TOTAL_SHARDS"), *index = getenv("TEST_SHARD_INDEX");
	const char *status = getenv("TEST_SHARD_STATUS_FILE");
	unsigned long t, i;
	char *end;
	int fd;

	if (status && *status) {
		fd = open(status, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return ps_diag(d, -errno, "TEST_SHARD_STATUS_FILE %s: %s", status,
				       strerror(errno));
		close(fd);
	}
	if (s->shard_total || !total || !*total)
		return 0;
	t = strtoul(total, &end, 10);
	if (*end || t == 0)
		return ps_diag(d, PS_EUSAGE, "TEST_TOTAL_SHARDS=%s: expected a positive number",
			       total);
	i = index ? strtoul(index, &end, 10) : 0;
	if (!index || *end || i >= t)
		return ps_diag(d, PS_EUSAGE, "TEST_SHARD_INDEX=%s: expected 0 to %lu",
			       index ? index : "(unset)", t - 1);
	s->shard_total = (unsigned)t;
	s->shard_index = (unsigned)i;
	return 0;
}

static bool matches(const struct ps_select *s, const struct ps_scenario *sc)
{
	size_t i, j;
	bool ok;

	if (s->n_patterns) {
		ok = false;
		for (i = 0; i < s->n_patterns && !ok; i++) {
			const char *p = s->patterns[i];

			ok = strpbrk(p, "*?[") ? fnmatch(p, sc->id, 0) == 0 :
						 strstr(sc->id, p) != NULL;
		}
		if (!ok)
			return false;
	}
	if (s->n_tags) {
		ok = false;
		for (i = 0; i < s->n_tags && !ok; i++)
			for (j = 0; j < sc->n_tags && !ok; j++)
				ok = !strcmp(s->tags[i], sc->tags[j]);
		if (!ok)
			return false;
	}
	return true;
}

void ps_select_apply(const struct ps_select *s, struct ps_scenario **v, size_t *n)
{
	size_t i, kept = 0, seen = 0;

	for (i = 0; i < *n; i++) {
		bool keep = matches(s, v[i]);

		/* shards are dealt from the selected list, so -k and --shard compose */
		if (keep && s->shard_total > 1)
			keep = seen++ % s->shard_total == s->shard_index;
		if (keep)
			v[kept++] = v[i];
		else
			ps_scenario_free(v[i]);
	}
	*n = kept;
}

void ps_select_release(struct ps_select *s)
{
	free(s->patterns);
	free(s->tags);
	memset(s, 0, sizeof(*s));
}
