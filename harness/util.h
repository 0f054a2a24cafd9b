/* Small helpers shared by the harness, the ref driver and libprocref. */
#ifndef PS_UTIL_H
#define PS_UTIL_H

/* The number of elements of an array (not a pointer), as git-compat-util.h. */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
