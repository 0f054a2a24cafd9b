#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"

int ps_outdir_lock(const char *dir, bool create, int *fd, struct ps_diag *d)
{
	int r;

	*fd = -1;
	if (create && (r = ps_mkdirs(dir)))
		return ps_diag(d, r, "%s: %s", dir, strerror(-r));
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return ps_diag(d, -errno, "%s: %s", dir, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	r = errno == EWOULDBLOCK ? ps_diag(d, PS_EUSAGE,
					   "%s is in use by another procspec run; "
					   "give each run a directory of its own",
					   dir) :
				   ps_diag(d, -errno, "%s: flock: %s", dir, strerror(errno));
	close(*fd);
	*fd = -1;
	return r;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && !strcmp(s + n - k, tail);
}

/* Remove the *.actual, *.diff and *.tmp files under dir, then dir itself if empty. */
static int clear_tree(const char *dir)
{
	struct dirent *de;
	struct stat st;
	DIR *dp = opendir(dir);
	int r = 0;

	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dp))) {
		struct ps_buf b = PS_BUF_INIT;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ps_buf_addf(&b, "%s/%s", dir, de->d_name);
		if (ps_buf_oom(&b)) {
			r = r ? r : -ENOMEM;
		} else if (lstat(b.data, &st) == 0 && S_ISDIR(st.st_mode)) {
			int k = clear_tree(b.data);

			r = r ? r : k;
		} else if ((ends_with(de->d_name, ".actual") || ends_with(de->d_name, ".diff") ||
			    ends_with(de->d_name, ".tmp")) &&
			   unlink(b.data) && errno != ENOENT) {
			r = r ? r : -errno;
		}
		ps_buf_release(&b);
	}
	closedir(dp);
	rmdir(dir); /* fails, as it should, while anything else is in it */
	return r;
}

int ps_outdir_clear_report(const char *dir)
{
	static const char *const files[] = { "results.json", "results.tap", "junit.xml" };
	static const char *const subdirs[] = { "fork", "spawn", "forkserver" };
	struct dirent *de;
	DIR *dp;
	size_t i;
	int r = 0, k;

	for (i = 0; i < sizeof(files) / sizeof(files[0]) + sizeof(subdirs) / sizeof(subdirs[0]);
	     i++) {
		struct ps_buf b = PS_BUF_INIT;
		bool file = i < sizeof(files) / sizeof(files[0]);

		ps_buf_addf(&b, "%s/%s", dir,
			    file ? files[i] : subdirs[i - sizeof(files) / sizeof(files[0])]);
		if (ps_buf_oom(&b))
			k = -ENOMEM;
		else if (file)
			k = unlink(b.data) && errno != ENOENT ? -errno : 0;
		else
			k = clear_tree(b.data);
		r = r ? r : k;
		ps_buf_release(&b);
	}
	/* results.json.XXXXXX.tmp and the like, from a run killed mid-write */
	dp = opendir(dir);
	if (!dp)
		return r ? r : -errno;
	while ((de = readdir(dp))) {
		struct ps_buf b = PS_BUF_INIT;

		if (!ends_with(de->d_name, ".tmp") || de->d_name[0] == '.')
			continue;
		ps_buf_addf(&b, "%s/%s", dir, de->d_name);
		if (!ps_buf_oom(&b) && unlink(b.data) && errno != ENOENT && !r)
			r = -errno;
		ps_buf_release(&b);
	}
	closedir(dp);
	return r;
}

char *ps_outdir_component(const char *label)
{
	char *s = strdup(*label ? label : "_");
	char *c;

	if (!s)
		return NULL;
	for (c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("._+@-", *c)))
			*c = '_';
	if (s[0] == '.')
		s[0] = '_';
	return s;
}
