/* The version of the library a program runs with (procref_version.h has
 * the one it was built with). */
#include "internal.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)

unsigned pr_version(void)
{
	return PR_VERSION_HEX;
}

const char *pr_version_string(void)
{
	return STRINGIFY(PR_VERSION_MAJOR) "." STRINGIFY(PR_VERSION_MINOR) "." STRINGIFY(
		PR_VERSION_PATCH);
}
