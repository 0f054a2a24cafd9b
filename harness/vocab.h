/*
 * The values of harness/vocab.def's columns, for the files that expand the
 * table and look at them.  Unprefixed, so that a line of the table reads
 * plainly; only those files include this header.
 */
#ifndef PS_VOCAB_H
#define PS_VOCAB_H

enum ps_vocab_how { MODULE, ATTRS, EXECUTOR, BUILTIN, CALLS };      /* GLOBAL: how */
enum ps_vocab_args { ARGS, NOARGS };                                /* VERB: args */
enum ps_vocab_use { ATTR, GLOBAL, CHILD, TASK, KEYWORD, OPERATOR }; /* FEATURE: use */

/* FEATURE: since, a CPython release as libprocref's profiles number it */
#define PY(major, minor) ((unsigned)(major) << 8 | (unsigned)(minor))

#endif
