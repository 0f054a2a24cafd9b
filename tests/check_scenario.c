/* The scenario parser: every valid form, its canonical text and JSON, and every error. */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "suites.h"
#include "util.h"

static struct ps_scenario *parse_ok(const char *src)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_scenario *sc = NULL;
	int r = ps_scenario_parse("t.scn", src, strlen(src), &sc, &d);

	ck_assert_msg(r == 0, "parse failed: %s", d.msg);
	return sc;
}

/* Statements and the canonical text the transcript shows for them. */
static const struct {
	const char *src, *canon;
} valid[] = {
	{ "p = Process()", "p = Process()" },
	{ "p = Process(target=child.blocks)", "p = Process(target=child.blocks)" },
	{ "p = Process( target = child.exits , args = ( 3 , ) )",
	  "p = Process(target=child.exits, args=(3,))" },
	{ "p = Process(None, child.returns, 'n')", "p = Process(None, child.returns, 'n')" },
	{ "p = Process(args=[1, 2], kwargs={'a': 1, \"b\": None})",
	  "p = Process(args=[1, 2], kwargs={'a': 1, 'b': None})" },
	{ "p = Process(args=((), (1, 2), []))", "p = Process(args=((), (1, 2), []))" },
	{ "p = Process(args=(True, False, None))", "p = Process(args=(True, False, None))" },
	{ "p = Process(args=(0x1F, 0o17, 0b101, 1_000, -5, -0))",
	  "p = Process(args=(31, 15, 5, 1000, -5, 0))" },
	{ "p = Process(args=(123456789012345678901234567890,))",
	  "p = Process(args=(123456789012345678901234567890,))" },
	{ "p = Process(args=(3.5, 1e16, 1e-5, 0.0001, 2., .5, -1.5, 1E3, 1e15))",
	  "p = Process(args=(3.5, 1e+16, 1e-05, 0.0001, 2.0, 0.5, -1.5, 1000.0, 1000000000000000.0))" },
	{ "p = Process(args=('it\\'s', \"say \\\"hi\\\"\", 'both \\' \"', 'tab\\tnl\\n'))",
	  "p = Process(args=(\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\tnl\\n'))" },
	{ "p = Process(args=('\\x00\\x7f\\u00e9\\U0001F600', 'a' 'b', u'x'))",
	  "p = Process(args=('\\x00\\x7f\xc3\xa9\xf0\x9f\x98\x80', 'ab', 'x'))" },
	{ "p = Process(args=(b'\\x00ab\\xff', B\"q'\", b'\\u1234'))",
	  "p = Process(args=(b'\\x00ab\\xff', b\"q'\", b'\\\\u1234'))" },
	{ "p = Process(args=('\\q', '\\101'))", "p = Process(args=('\\\\q', 'A'))" },
	{ "p = Process(args=(\n  1,\n  2,\n))", "p = Process(args=(1, 2))" },
	{ "p = Process(args=((1),))", "p = Process(args=(1,))" },
	{ "p = Process()\np.start()", "p.start()" },
	{ "p = Process()\np.join(timeout=0.5)", "p.join(timeout=0.5)" },
	{ "p = Process()\np.daemon = True", "p.daemon = True" },
	{ "p = Process()\np", "p" },
	{ "p = Process()\np.exitcode  # trailing comment", "p.exitcode" },
	{ "current_process().name", "current_process().name" },
	{ "pickles(current_process().authkey)", "pickles(current_process().authkey)" },
	{ "p = Process()\nrelease(p)", "release(p)" },
	{ "p = Process()\nstderr(p)", "stderr(p)" },
	{ "p = Process()\np = Process(name='again')", "p = Process(name='again')" },
	{ "active_children()", "active_children()" },
	{ "p = Process(\\\n)", "p = Process()" },
	{ "p = Process()\r\np.start() \\\r\n", "p.start()" },
	{ "p = Process(args=(1e999, -1e999))", "p = Process(args=(1e309, -1e309))" },
	{ "p = Process()\np.name = 1 .real", "p.name = 1 .real" },
	{ "ex = ProcessPoolExecutor(max_workers = 1)", "ex = ProcessPoolExecutor(max_workers=1)" },
	{ "ex = ProcessPoolExecutor()\nex.submit( task.blocks , gate() )",
	  "ex.submit(task.blocks, gate())" },
	{ "g = gate()\nw = started(g)\nkill(w, signal.SIGKILL)", "kill(w, signal.SIGKILL)" },
	{ "ex = ProcessPoolExecutor()\nnext(ex.map(task.returns, [1], timeout=0))",
	  "next(ex.map(task.returns, [1], timeout=0))" },
	{ "ex = ProcessPoolExecutor(mp_context=get_context('spawn'))\nsettles(ex)", "settles(ex)" },
	/* the forms of CPython's own test assertions (vocab.def, issue 16) */
	{ "p = Process()\np.exitcode==0", "p.exitcode == 0" },
	{ "p = Process()\np._popen  is  not   None", "p._popen is not None" },
	{ "p = Process()\nnot  p.is_alive()", "not p.is_alive()" },
	{ "p = Process()\nnot not p.daemon", "not not p.daemon" },
	{ "p = Process()\n(p.daemon == True) == (not p.daemon)",
	  "(p.daemon == True) == (not p.daemon)" },
	{ "p = Process()\n(p.exitcode is None).real", "(p.exitcode is None).real" },
	{ "x = not 1 == 2", "x = not 1 == 2" },
	{ "type(cpu_count()).__name__", "type(cpu_count()).__name__" },
	{ "isinstance(current_process().authkey, bytes)",
	  "isinstance(current_process().authkey, bytes)" },
	{ "len(active_children())", "len(active_children())" },
	{ "p = Process()\nconnection.wait([p.sentinel], timeout=0)",
	  "connection.wait([p.sentinel], timeout=0)" },
	{ "gc.collect()", "gc.collect()" },
	{ "set_start_method('spawn', force=True)", "set_start_method('spawn', force=True)" },
	{ "if   sys.version_info>=(3,8) :  parent_process()",
	  "if sys.version_info >= (3, 8): parent_process()" },
	{ "if sys.version_info < (3, 7): x = 1", "if sys.version_info < (3, 7): x = 1" },
	{ "p = Process()\nif sys.version_info >= (3, 7): p.daemon = True",
	  "if sys.version_info >= (3, 7): p.daemon = True" },
};

START_TEST(test_valid_forms)
{
	struct ps_scenario *sc = parse_ok(valid[_i].src);
	char *text = ps_stmt_unparse(sc->steps[sc->n_steps - 1]);

	ck_assert_str_eq(text, valid[_i].canon);
	free(text);
	ps_scenario_free(sc);
}
END_TEST

START_TEST(test_header_and_summary)
{
	struct ps_scenario *sc = parse_ok(
		"# A second start() raises\n# and leaves the child alone.\n\n# not the summary\n"
		"tags: lifecycle start\nmethods: fork spawn\n\np = Process()\n");

	ck_assert_str_eq(sc->summary, "A second start() raises and leaves the child alone.");
	ck_assert_uint_eq(sc->n_tags, 2);
	ck_assert_str_eq(sc->tags[0], "lifecycle");
	ck_assert_str_eq(sc->tags[1], "start");
	ck_assert_uint_eq(sc->methods, PS_M_FORK | PS_M_SPAWN);
	ck_assert_uint_eq(sc->n_steps, 1);
	ck_assert_int_eq(sc->steps[0]->line, 8);
	ps_scenario_free(sc);

	sc = parse_ok("p = Process()\n");
	ck_assert_uint_eq(sc->methods, PS_M_ALL);
	ck_assert_str_eq(sc->summary, "");
	ps_scenario_free(sc);
}
END_TEST

START_TEST(test_json)
{
	struct ps_scenario *sc = parse_ok(
		"p = Process(target=child.exits, args=(3, 'm', b'k', 2.5, None, True), kwargs={'a': [1]})\n"
		"p.name = 'x'\np.join(timeout=1)\n");
	const char *want[] = {
		("{\"assign\": {\"target\": \"p\", \"value\": {\"call\": {\"args\": [], \"func\": "
		 "{\"global\": \"Process\"}, \"kwargs\": [[\"target\", {\"behaviour\": \"exits\"}], "
		 "[\"args\", {\"tuple\": [{\"int\": \"3\"}, {\"str\": \"m\"}, {\"bytes\": \"6b\"}, "
		 "{\"float\": \"2.5\"}, {\"none\": null}, {\"bool\": true}]}], [\"kwargs\", "
		 "{\"dict\": [[{\"str\": \"a\"}, {\"list\": [{\"int\": \"1\"}]}]]}]]}}}}"),
		"{\"setattr\": {\"attr\": \"name\", \"object\": {\"var\": \"p\"}, \"value\": {\"str\": \"x\"}}}",
		("{\"expr\": {\"call\": {\"args\": [], \"func\": {\"getattr\": {\"attr\": \"join\", "
		 "\"object\": {\"var\": \"p\"}}}, \"kwargs\": [[\"timeout\", {\"int\": \"1\"}]]}}}"),
	};
	size_t i;

	for (i = 0; i < 3; i++) {
		json_t *j = ps_stmt_to_json(sc->steps[i]);
		char *s = json_dumps(j, JSON_SORT_KEYS);

		ck_assert_str_eq(s, want[i]);
		free(s);
		json_decref(j);
	}
	ps_scenario_free(sc);
}
END_TEST

/* a, b = Pipe(): the one unpacking, its canonical text, its JSON target a
 * list, both names bound; weakref.ref(x) and the features both ask for. */
START_TEST(test_pipe_unpack_and_weakref)
{
	struct ps_scenario *sc = parse_ok("a ,b=Pipe( duplex = False )\nwr = weakref.ref(a)\n"
					  "connection.wait([a, b], timeout=0) == [a]\nwr() is b\n"
					  "a.close()\n");
	json_t *j = ps_stmt_to_json(sc->steps[0]);
	char *s = json_dumps(j, JSON_SORT_KEYS), *text = ps_stmt_unparse(sc->steps[0]);
	const char *feat[PS_MAX_FEATURES];
	size_t n, i;
	bool pipe = false, weak = false;

	ck_assert_str_eq(text, "a, b = Pipe(duplex=False)");
	ck_assert_str_eq(s, "{\"assign\": {\"target\": [\"a\", \"b\"], \"value\": {\"call\": "
			    "{\"args\": [], \"func\": {\"global\": \"Pipe\"}, \"kwargs\": "
			    "[[\"duplex\", {\"bool\": false}]]}}}}");
	free(text);
	free(s);
	json_decref(j);
	n = ps_scenario_features(sc, feat);
	for (i = 0; i < n; i++) {
		pipe = pipe || !strcmp(feat[i], "Pipe");
		weak = weak || !strcmp(feat[i], "weakref.ref");
	}
	ck_assert(pipe && weak);
	/* a connection's close() is no Process.close; once a is rebound to a
	 * process, a.close() is */
	for (i = 0; i < n; i++)
		ck_assert_str_ne(feat[i], "Process.close");
	ps_scenario_free(sc);
	sc = parse_ok("a, b = Pipe()\na.close()\na = Process()\na.close()\n");
	n = ps_scenario_features(sc, feat);
	for (i = 0, pipe = false; i < n; i++)
		pipe = pipe || !strcmp(feat[i], "Process.close");
	ck_assert(pipe);
	ps_scenario_free(sc);
}
END_TEST

/* ==, is, not in JSON; a gate decides by release and leaves the JSON alone. */
START_TEST(test_compare_not_and_gates)
{
	struct ps_scenario *sc = parse_ok("p = Process()\nnot p._popen is None\n"
					  "if sys.version_info >= (3, 8): p.exitcode == 0\n"
					  "if sys.version_info < (3, 8): p\n");
	json_t *j = ps_stmt_to_json(sc->steps[1]);
	char *s = json_dumps(j, JSON_SORT_KEYS);
	const char *feat[PS_MAX_FEATURES];
	size_t n;

	ck_assert_str_eq(s,
			 "{\"expr\": {\"not\": {\"compare\": {\"left\": {\"getattr\": "
			 "{\"attr\": \"_popen\", \"object\": {\"var\": \"p\"}}}, \"op\": \"is\", "
			 "\"right\": {\"none\": null}}}}}");
	free(s);
	json_decref(j);
	j = ps_stmt_to_json(sc->steps[2]);
	s = json_dumps(j, JSON_SORT_KEYS);
	ck_assert_str_eq(s, "{\"expr\": {\"compare\": {\"left\": {\"getattr\": {\"attr\": "
			    "\"exitcode\", \"object\": {\"var\": \"p\"}}}, \"op\": \"==\", "
			    "\"right\": {\"int\": \"0\"}}}}");
	free(s);
	json_decref(j);
	ck_assert(ps_scenario_gated(sc));
	ck_assert(ps_stmt_applies(sc->steps[1], 0x0207));
	ck_assert(!ps_stmt_applies(sc->steps[2], 0x0307));
	ck_assert(ps_stmt_applies(sc->steps[2], 0x0308));
	ck_assert(ps_stmt_applies(sc->steps[3], 0x0307));
	ck_assert(!ps_stmt_applies(sc->steps[3], 0x030d));
	/* the == of a gated-out step asks for no feature on that release */
	n = ps_scenario_features_on(sc, 0x0307, feat);
	ck_assert_uint_eq(n, 4); /* Process, _popen, is, not */
	n = ps_scenario_features_on(sc, 0x0308, feat);
	ck_assert_uint_eq(n, 5);
	ps_scenario_free(sc);
}
END_TEST

/* Each error: the source and the exact first line of the message. */
static const struct {
	const char *src, *msg;
} errors[] = {
	{ "p = Process(args=(0x1g,))", "t.scn:1:22: invalid digit 'g' in hexadecimal literal" },
	{ "p = Process(args=(0x,))", "t.scn:1:19: invalid hexadecimal literal" },
	{ "p = Process(args=(1e,))", "t.scn:1:19: invalid float literal" },
	{ "p = Process(args=(12abc,))", "t.scn:1:19: invalid decimal literal" },
	{ "p = Process(args=(012,))",
	  "t.scn:1:19: leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers" },
	{ "p = Process(name='''x''')", "t.scn:1:18: triple-quoted strings are not supported" },
	{ "p = Process(name='abc)", "t.scn:1:18: unterminated string literal" },
	{ "p = Process(args=(b'\xc3\xa9',))",
	  "t.scn:1:21: bytes can only contain ASCII literal characters" },
	{ "p = Process(name='\\x4')", "t.scn:1:19: truncated \\xXX escape" },
	{ "p = Process(name='\\U00110000')", "t.scn:1:19: illegal Unicode character" },
	{ "p = Process(name='\\N{DASH}')", "t.scn:1:19: \\N{...} escapes are not supported" },
	{ "p = Process(name=r'x')", "t.scn:1:18: string prefix 'r' is not supported" },
	{ "p = Process()\np.exitcode == 0 == 0",
	  "t.scn:2:17: chained comparisons are not part of the scenario language: use brackets" },
	{ "p = Process()\np.exitcode is not not None",
	  "t.scn:2:19: 'not' after 'is not' needs brackets: is not (not ...)" },
	{ "p = Process()\np.exitcode + 0",
	  "t.scn:2:12: unexpected character '+': operators are not part of the scenario language" },
	{ "x = gc", "t.scn:1:5: gc is only used as gc.collect()" },
	{ "gc.collect(1)", "t.scn:1:1: gc.collect() takes no arguments here" },
	{ "x = gc.collect", "t.scn:1:5: gc.collect is only called" },
	{ "connection.wait()",
	  "t.scn:1:1: connection.wait(objects, timeout=T) takes a list of sentinels and an optional timeout" },
	{ "x = connection",
	  "t.scn:1:5: connection is only used as connection.wait(objects, timeout=T)" },
	{ "x = Pipe()",
	  "t.scn:1:5: Pipe() is only unpacked: a, b = Pipe() (or Pipe(duplex=False))" },
	{ "a, b = Process()",
	  "t.scn:1:1: only a Pipe() is unpacked: a, b = Pipe() (or Pipe(duplex=False))" },
	{ "a, a = Pipe()", "t.scn:1:4: 'a' is assigned twice" },
	{ "a, gc = Pipe()", "t.scn:1:4: cannot assign to 'gc'" },
	{ "a, b = Pipe(True, duplex=False)",
	  "t.scn:1:8: Pipe() takes one argument at most, duplex=" },
	{ "a, b = Pipe(gc)", "t.scn:1:13: gc is only used as gc.collect()" },
	{ "x = weakref", "t.scn:1:5: weakref is only used as weakref.ref(x)" },
	{ "weakref.ref()", "t.scn:1:1: weakref.ref(x) takes one argument" },
	{ "weakref.proxy(1)", "t.scn:1:1: weakref is only used as weakref.ref(x)" },
	{ "type(1)",
	  "t.scn:1:1: type(x) is only read as type(x).__name__ (a class's repr() differs between implementations)" },
	{ "type(1, 2).__name__", "t.scn:1:1: type(x) takes one argument" },
	{ "x = type", "t.scn:1:5: type is only used as type(x).__name__" },
	{ "len()", "t.scn:1:1: len(x) takes one argument" },
	{ "isinstance(1, list)",
	  "t.scn:1:1: isinstance(x, C) takes an object and one of Process, int, str, bytes or a "
	  "subclass() variable" },
	{ "x = int", "t.scn:1:5: int is only used as isinstance(x, int)" },
	{ "is = 1", "t.scn:1:1: cannot assign to 'is'" },
	{ "if x: p = 1",
	  "t.scn:1:4: a step's gate reads `if sys.version_info >= (X, Y): STATEMENT` or "
	  "`if sys.version_info < (X, Y): STATEMENT`" },
	{ "if sys.version_info > (3, 8): x = 1",
	  "t.scn:1:21: a step's gate reads `if sys.version_info >= (X, Y): STATEMENT` or `if "
	  "sys.version_info < (X, Y): STATEMENT`" },
	{ "if sys.version_info >= (3,): x = 1",
	  "t.scn:1:27: expected a release number, as in (3, 8)" },
	{ "if sys.version_info >= (3, 300): x = 1",
	  "t.scn:1:28: release number 300 out of range (0 to 255)" },
	{ "if sys.version_info >= (2, 6): x = 1",
	  "t.scn:1:1: no CPython before 2.7 is a profile or golden set: (2, 6)" },
	{ "if sys.version_info >= (3, 8) x = 1",
	  "t.scn:1:31: expected ':' after the gate, then the statement on the same line" },
	{ "if sys.version_info >= (3, 8):\nx = 1",
	  "t.scn:1:31: expected the gated statement on the same line as its gate" },
	{ "if sys.version_info >= (3, 8): if sys.version_info < (3, 9): x = 1",
	  "t.scn:1:32: a step has one gate" },
	{ "x = sys", "t.scn:1:5: unknown name 'sys'" },
	{ "p = Process(name=\xc3\xa9)", "t.scn:1:18: invalid non-ASCII character in a name" },
	{ "p = Process()\np.exitcode + 1",
	  "t.scn:2:12: unexpected character '+': operators are not part of the scenario language" },
	{ "p = Process(target=child.blocks",
	  "t.scn:1:32: expected ')' to close the call, found end of file" },
	{ "p = Process(target=child)", "t.scn:1:20: 'child' needs a behaviour: child.NAME" },
	{ "p = Process(target=child.'x')", "t.scn:1:26: expected a behaviour name after 'child.'" },
	{ "p = Process(target=child.sleeps)",
	  "t.scn:1:26: unknown child behaviour 'child.sleeps'" },
	{ "p = Process(target=child.blocks())",
	  "t.scn:1:32: a child behaviour is a target, not something to call: write target=child.blocks" },
	{ "p = Proces(target=child.blocks)", "t.scn:1:5: unknown name 'Proces'" },
	{ "q.start()", "t.scn:1:1: unknown name 'q'" },
	{ "p = Process(name='a', name='b')", "t.scn:1:23: keyword argument repeated: name" },
	{ "p = Process(name='a', child.blocks)",
	  "t.scn:1:23: positional argument follows keyword argument" },
	{ "p = Process(kwargs={'a' 1})",
	  "t.scn:1:25: expected ':' between a dict key and its value, found number" },
	{ "p = ", "t.scn:1:5: expected an expression, found end of file" },
	{ "p = Process(args=(-'x',))", "t.scn:1:20: '-' is allowed only before a number" },
	{ "p = Process())", "t.scn:1:14: unexpected ')' after the statement" },
	{ "p = Process()\np.", "t.scn:2:3: expected an attribute name after '.'" },
	{ "x = (1)()", "t.scn:1:8: only scenario functions, methods and variables can be called" },
	{ "active_children()[0]", "t.scn:1:18: subscripts are not part of the scenario language" },
	{ "p = Process()\ntags: x",
	  "t.scn:2:5: unexpected ':' (a header line must come before the first statement)" },
	{ "p = Process() p.start()",
	  "t.scn:1:15: unexpected name after the statement: one statement per line" },
	{ "p = Process()\n  p.start()", "t.scn:2:3: unexpected indent" },
	{ "Process = 1", "t.scn:1:1: cannot assign to 'Process'" },
	{ "p = Process()\np.start() = 1",
	  "t.scn:2:1: cannot assign to a call: only NAME = ... and x.attr = ... are statements" },
	{ "tags: a\ntags: b\np = Process()", "t.scn:2:1: 'tags:' given twice" },
	{ "methods: fork vfork\np = Process()",
	  "t.scn:1:15: unknown start method 'vfork' (known: fork spawn forkserver)" },
	{ "methods:\np = Process()",
	  "t.scn:1:9: 'methods:' needs at least one of fork spawn forkserver" },
	{ "timeout: 3\np = Process()",
	  "t.scn:1:1: unknown header key 'timeout' (known: tags, methods)" },
	{ "# nothing here\ntags: x\n", "t.scn:3:1: the scenario has no statements" },
	{ "p = Process()\0", "t.scn:1:14: not a text file (it holds a NUL byte)" },
	{ "x = '\xff'", "t.scn:1:6: invalid UTF-8 (byte 0xff): scenarios are UTF-8 text" },
	{ "p = Process(name='\\ud800')", "t.scn:1:19: surrogate code points are not supported" },
	{ "p = Process(args=(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
	  "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
	  "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
	  "t.scn:1:217: expression nested too deeply (more than 200 levels)" },
	{ "p = Process(args=(12345678901234567890123456789012345678901234567890"
	  "X,))",
	  "t.scn:1:19: invalid decimal literal" },
	{ "fault('posix/proc/frok')",
	  "t.scn:1:7: unknown fault site 'posix/proc/frok' (procspec sweep --list-sites lists them)" },
	{ "fault('posix/io/oc/pipe2', errno=errno.ESRCH)",
	  "t.scn:1:34: posix/io/oc/pipe2 cannot fail with ESRCH (it can with EMFILE, EINVAL, ENFILE)" },
	{ "fault('posix/proc/fork', errno=errno.EWHAT)",
	  "t.scn:1:32: unknown errno 'errno.EWHAT'" },
	{ "fault('posix/proc/fork', errno=11)", "t.scn:1:32: errno= takes errno.NAME" },
	{ "fault('posix/proc/fork', count=0)",
	  "t.scn:1:32: count= takes a number of calls from 1, or None for every call" },
	{ "fault('posix/proc/fork', after=-1)",
	  "t.scn:1:32: after= takes a number of calls from 0" },
	{ "fault('posix/proc/fork', when=1)",
	  "t.scn:1:31: fault() has no argument 'when' (errno=, count=, after=, thread=)" },
	{ "fault()",
	  "t.scn:1:1: fault() takes the site's name as a string: fault(\"posix/proc/fork\", errno=errno.EAGAIN)" },
	{ "fds_leaked(1)", "t.scn:1:1: fds_leaked() takes no arguments" },
	{ "x = errno", "t.scn:1:5: errno is only used as errno.NAME" },
	{ "x = task.frob", "t.scn:1:10: unknown task behaviour 'task.frob'" },
	{ "x = task", "t.scn:1:5: 'task' needs a behaviour: task.NAME" },
	{ "task.returns(1)",
	  "t.scn:1:13: a task behaviour is a function to submit, not something to call: "
	  "write ex.submit(task.returns, ...)" },
	{ "task = 1", "t.scn:1:1: cannot assign to 'task'" },
	{ "x = signal.SIGFOO", "t.scn:1:5: unknown signal 'signal.SIGFOO'" },
	{ "x = signal", "t.scn:1:5: signal is only used as signal.NAME" },
	{ "g = gate(1)", "t.scn:1:5: gate() takes no arguments" },
	{ "started()", "t.scn:1:1: started(g) takes one argument, a gate" },
	{ "g = gate()\nkill(g)",
	  "t.scn:2:1: kill(w, sig) takes a worker handle and a signal: kill(w, signal.SIGKILL)" },
	{ "settles(x=1)", "t.scn:1:1: settles(ex) takes one argument, an executor" },
	{ "list = 1", "t.scn:1:1: cannot assign to 'list'" },
	/* the signal verbs and behaviours (docs/PROTOCOL.md, Signals) */
	{ "p = Process(target=child.blocks)\nsend_signal(p)",
	  "t.scn:2:1: send_signal(target, sig) takes a process, 'forkserver' or "
	  "current_process(), and a signal: send_signal(p, signal.SIGTERM)" },
	{ "send_signal('server', signal.SIGTERM)",
	  "t.scn:1:13: send_signal(): the target is a process variable, 'forkserver' or "
	  "current_process()" },
	{ "p = Process(target=child.blocks)\nsend_signal(p, 65)",
	  "t.scn:2:16: send_signal(): the signal is signal.NAME or 1 to 64" },
	{ "p = Process(target=child.blocks)\nsend_signal(p, signal.SIGFOO)",
	  "t.scn:2:16: unknown signal 'signal.SIGFOO'" },
	{ "ready(1)",
	  "t.scn:1:1: ready(p) takes a process variable, and ready(p, n) a number of lines" },
	{ "p = Process(target=child.blocks)\nready(p, 0)",
	  "t.scn:2:10: ready(p, n): n is an integer from 1" },
	{ "p = Process(target=child.blocks)\nready(p, 'x')",
	  "t.scn:2:10: ready(p, n): n is an integer from 1" },
	{ "p = Process(target=child.blocks)\nready(p, 1, 2)",
	  "t.scn:2:1: ready(p) takes a process variable, and ready(p, n) a number of lines" },
	{ "p = Process(target=child.ignores, args=(signal.SIGKILL,))",
	  "t.scn:1:41: child.ignores: SIGKILL and SIGSTOP cannot be ignored" },
	{ "p = Process(target=child.handles, args=(signal.SIGTERM,))",
	  "t.scn:1:40: child.handles takes a signal and an exit code: args=(signal.NAME, CODE)" },
	{ "p = Process(target=child.ignores)",
	  "t.scn:1:20: child.ignores takes a signal: args=(signal.NAME,)" },
	/* callable_object() */
	{ "c = callable_object(1, call=child.exits)",
	  "t.scn:1:21: callable_object(NAME, call=child.X) takes a class name, an identifier "
	  "in a string" },
	{ "c = callable_object('Dummy')",
	  "t.scn:1:5: callable_object() takes one keyword, call=child.X" },
	{ "c = callable_object('Dummy', call=1)",
	  "t.scn:1:35: callable_object(): call= is a child behaviour, child.NAME" },
	/* set_executable() and executable() */
	{ "x = executable()",
	  "t.scn:1:5: executable() is only given to set_executable(): the path is each "
	  "implementation's own" },
	{ "set_executable()", "t.scn:1:1: set_executable(path) takes one argument" },
	/* the comparison operators */
	{ "x = 1 < 2 < 3",
	  "t.scn:1:11: chained comparisons are not part of the scenario language: use brackets" },
	{ "x = 1 not 2", "t.scn:1:11: expected 'in' after 'not' in a comparison" },
	{ "x = 1 << 2",
	  "t.scn:1:7: unexpected character '<': operators are not part of the scenario language" },
	{ "x = 1 ! 2",
	  "t.scn:1:7: unexpected character '!': operators are not part of the scenario language" },
	/* subclass() (docs/SCENARIOS.md, Subclasses) */
	{ "W = subclass('1W')",
	  "t.scn:1:14: subclass(NAME, run=child.X, args=(...)) takes a class name, an identifier "
	  "in a string" },
	{ "W = subclass()",
	  "t.scn:1:5: subclass(NAME, run=child.X, args=(...)) takes a class name, an identifier "
	  "in a string" },
	{ "W = subclass('W', run=Process)",
	  "t.scn:1:23: subclass(): run= is a child behaviour, child.NAME" },
	{ "W = subclass('W', run=child.exits, args=[1])",
	  "t.scn:1:41: subclass(): args= is a tuple, (...)" },
	{ "W = subclass('W', args=(1,))", "t.scn:1:24: subclass(): args= goes with run=" },
	{ "W = subclass('W', target=child.exits)",
	  "t.scn:1:26: subclass() takes the keywords run= and args=" },
	{ "W = subclass('W', run=child.ignores, args=(signal.SIGKILL,))",
	  "t.scn:1:44: child.ignores: SIGKILL and SIGSTOP cannot be ignored" },
	{ "p = Process()\nisinstance(p, 1)",
	  "t.scn:2:1: isinstance(x, C) takes an object and one of Process, int, str, bytes or a "
	  "subclass() variable" },
};

START_TEST(test_errors)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_scenario *sc = NULL;
	const char *src = errors[_i].src;
	size_t len = strlen(src) + (strstr(errors[_i].msg, "NUL") ? 1 : 0);
	int r = ps_scenario_parse("t.scn", src, len, &sc, &d);
	size_t n = strcspn(d.msg, "\n");

	ck_assert_int_eq(r, PS_EPARSE);
	ck_assert_ptr_null(sc);
	ck_assert_msg(n == strlen(errors[_i].msg) && !strncmp(d.msg, errors[_i].msg, n),
		      "source %s\nwant: %s\ngot:  %.*s", src, errors[_i].msg, (int)n, d.msg);
}
END_TEST

START_TEST(test_error_shows_line_and_caret)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_scenario *sc = NULL;
	const char *src = "# c\np = Process()\np.strat(\n";

	ck_assert_int_eq(ps_scenario_parse("x/y.scn", "tags: a\nq = Proces()\n", 21, &sc, &d),
			 PS_EPARSE);
	ck_assert_str_eq(d.msg, "x/y.scn:2:5: unknown name 'Proces'\nq = Proces()\n    ^");
	ck_assert_int_eq(ps_scenario_parse("t.scn", src, strlen(src), &sc, &d), PS_EPARSE);
	ck_assert_str_eq(d.msg, "t.scn:4:1: expected an expression, found end of file\n\n^");
}
END_TEST

START_TEST(test_task_json)
{
	struct ps_scenario *sc = parse_ok("ex = ProcessPoolExecutor()\nex.submit(task.pid)\n");
	json_t *j = ps_stmt_to_json(sc->steps[1]);
	char *s = json_dumps(j, JSON_SORT_KEYS);

	ck_assert_str_eq(s, "{\"expr\": {\"call\": {\"args\": [{\"task\": \"pid\"}], \"func\": "
			    "{\"getattr\": {\"attr\": \"submit\", \"object\": {\"var\": \"ex\"}}}, "
			    "\"kwargs\": []}}}");
	free(s);
	json_decref(j);
	ps_scenario_free(sc);
}
END_TEST

/* The features a scenario needs, inferred from what it uses (docs/PROTOCOL.md,
 * hello), in the order of harness/vocab.def. */
static const struct {
	const char *src, *want;
} feature_cases[] = {
	{ "p = Process()\np.start()", "Process" },
	{ "p = Process()\np.close()", "Process Process.close" },
	{ "ex = ProcessPoolExecutor()", "ProcessPoolExecutor" },
	{ "x = task.returns", "ProcessPoolExecutor" },
	{ "ex = ProcessPoolExecutor(mp_context=get_context('spawn'))",
	  "Executor.mp_context ProcessPoolExecutor start_method" },
	{ "ex = ProcessPoolExecutor(initargs=(1,))", "Executor.initializer ProcessPoolExecutor" },
	{ "ex = ProcessPoolExecutor(max_tasks_per_child=1)",
	  "Executor.max_tasks_per_child ProcessPoolExecutor" },
	{ "ex = ProcessPoolExecutor()\nex.shutdown(cancel_futures=True)",
	  "Executor.cancel_futures ProcessPoolExecutor" },
	{ "ex = ProcessPoolExecutor()\nit = ex.map(task.returns, [1], timeout=0)",
	  "Executor.map_timeout ProcessPoolExecutor" },
	/* a keyword of another call is not the constructor's */
	{ "p = Process(kwargs={'mp_context': 1})", "Process" },
	{ "ex = ProcessPoolExecutor()\nex.submit(task.returns, max_tasks_per_child=1)",
	  "ProcessPoolExecutor" },
	/* kill(w, sig) is a harness verb, not Process.kill */
	{ "g = gate()\nw = started(g)\nkill(w, signal.SIGTERM)", "" },
};

START_TEST(test_features)
{
	struct ps_scenario *sc = parse_ok(feature_cases[_i].src);
	const char *feat[PS_MAX_FEATURES];
	size_t n = ps_scenario_features(sc, feat), i;
	char got[256] = "";

	for (i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
			 feat[i]);
	ck_assert_msg(!strcmp(got, feature_cases[_i].want), "source %s\nwant: %s\ngot:  %s",
		      feature_cases[_i].src, feature_cases[_i].want, got);
	ps_scenario_free(sc);
}
END_TEST

START_TEST(test_int_literal_limit)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_scenario *sc = NULL;
	char src[4400];

	/* 4300 digits are the most; the literal here is at line 1, column 19 */
	memcpy(src, "p = Process(args=(", 18);
	memset(src + 18, '7', 4300);
	strcpy(src + 18 + 4300, ",))");
	ck_assert_int_eq(ps_scenario_parse("t.scn", src, strlen(src), &sc, &d), 0);
	ps_scenario_free(sc);
	memset(src + 18, '7', 4301);
	strcpy(src + 18 + 4301, ",))");
	ck_assert_int_eq(ps_scenario_parse("t.scn", src, strlen(src), &sc, &d), PS_EPARSE);
	ck_assert_msg(
		strstr(d.msg,
		       "t.scn:1:19: integer literal too large: more than 4300 decimal digits"),
		"%.200s", d.msg);
}
END_TEST

START_TEST(test_method_names)
{
	ck_assert_str_eq(ps_method_name(PS_M_FORKSERVER), "forkserver");
	ck_assert_uint_eq(ps_method_parse("spawn"), PS_M_SPAWN);
	ck_assert_uint_eq(ps_method_parse("vfork"), 0);
	ck_assert_ptr_null(ps_method_name(PS_M_ALL));
}
END_TEST

Suite *scenario_suite(void)
{
	const struct ps_test tests[] = { PS_LOOP(test_valid_forms, ARRAY_SIZE(valid)),
					 PS_TEST(test_header_and_summary),
					 PS_TEST(test_json),
					 PS_TEST(test_pipe_unpack_and_weakref),
					 PS_TEST(test_compare_not_and_gates),
					 PS_LOOP(test_errors, ARRAY_SIZE(errors)),
					 PS_TEST(test_error_shows_line_and_caret),
					 PS_TEST(test_method_names),
					 PS_TEST(test_int_literal_limit),
					 PS_TEST(test_task_json),
					 PS_LOOP(test_features, ARRAY_SIZE(feature_cases)) };
	const struct ps_case cases[] = {
		{ PS_CASE("parse", tests) },
	};

	return ps_suite("scenario", cases, ARRAY_SIZE(cases));
}
