/*
 * Escaped children (docs/PROTOCOL.md, end: "escaped"): a child whose
 * os._exit() raises comes back out of the code that forked it, into its
 * parent's code (fork) or the fork server's loop (forkserver).  It
 * appends one JSON line to the file $PROCSPEC_ESCAPES names, which the
 * driver's scenario process sets at begin and reads at end, as
 * tools/pydriver.py does.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* s as a JSON string: '"', '\\' and control characters escaped */
static void json_string(struct sbuf *sb, const char *s, size_t len)
{
	size_t i;

	pr__sb_putc(sb, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			pr__sb_printf(sb, "\\%c", c);
		else if (c < 0x20)
			pr__sb_printf(sb, "\\u%04x", c);
		else
			pr__sb_putc(sb, (char)c);
	}
	pr__sb_putc(sb, '"');
}

void pr_escape_note(const char *into, const struct pr_diag *d)
{
	const char *path = getenv("PROCSPEC_ESCAPES"), *type;
	struct sbuf name = SBUF_INIT, sb = SBUF_INIT;
	int fd;

	if (path == NULL || *path == '\0')
		return;
	if (pr__rt.current != NULL)
		pr__value_str(pr__rt.current->u.proc->name != NULL ? pr__rt.current->u.proc->name :
								     pr_none(),
			      &name);
	pr__sb_puts(&sb, "{\"process\":");
	json_string(&sb, name.oom ? "?" : name.p ? name.p : "", name.oom ? 1 : name.len);
	pr__sb_printf(&sb, ",\"into\":\"%s\"", into);
	if (d != NULL) {
		/* what the driver could not carry out is pydriver's DriverError */
		type = d->type != NULL ? d->type : "DriverError";
		pr__sb_puts(&sb, ",\"raised\":{\"type\":");
		json_string(&sb, type, strlen(type));
		pr__sb_puts(&sb, ",\"message\":");
		json_string(&sb, d->message ? d->message : "", d->message ? d->message_len : 0);
		pr__sb_putc(&sb, '}');
	}
	pr__sb_puts(&sb, "}\n");
	if (!sb.oom && (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
		pr__write_all(fd, sb.p, sb.len);
		close(fd);
	}
	pr__sb_release(&name);
	pr__sb_release(&sb);
}
