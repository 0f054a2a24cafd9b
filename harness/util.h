/* Small helpers shared by the harness, the ref driver and libprocref. */
#ifndef PS_UTIL_H
#define PS_UTIL_H

/* The number of elements of an array (not a pointer), as git-compat-util.h. */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A record of getdents64(2), which glibc declares no struct for: read by
 * syscall(SYS_getdents64), as opendir/readdir would malloc and are not
 * async-signal-safe (the sweeps of proc.c and tmp.c run in signal handlers).
 */
struct ps_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#endif
