/*
 * libprocref's version, for the preprocessor (libuv's uv/version.h).  The
 * Makefile reads these three lines for the shared library's name and
 * soname (libprocref.so.MAJOR) and for procref.pc: change them here only.
 * MAJOR changes when a program built against an older release could break
 * (a symbol removed or changed); MINOR when symbols are added.
 */
#ifndef PROCREF_VERSION_H
#define PROCREF_VERSION_H

#define PR_VERSION_MAJOR 0
#define PR_VERSION_MINOR 2
#define PR_VERSION_PATCH 0

/* MAJOR << 16 | MINOR << 8 | PATCH: what pr_version() returns, to compare
 * the header a program was built with against the library it runs with. */
#define PR_VERSION_HEX ((PR_VERSION_MAJOR << 16) | (PR_VERSION_MINOR << 8) | PR_VERSION_PATCH)

#endif
