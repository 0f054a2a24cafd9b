/* The subcommands; each takes its own argv (argv[0] is the subcommand) and returns an exit code. */
#ifndef PS_COMMANDS_H
#define PS_COMMANDS_H

int ps_cmd_capture(int argc, char **argv);
int ps_cmd_drift(int argc, char **argv);
int ps_cmd_driver_check(int argc, char **argv);
int ps_cmd_fuzz(int argc, char **argv);
int ps_cmd_list(int argc, char **argv);
int ps_cmd_matrix(int argc, char **argv);
int ps_cmd_run(int argc, char **argv);
int ps_cmd_sweep(int argc, char **argv);
int ps_cmd_vocabulary(int argc, char **argv);

/* Exit codes: everything matched; something diverged or failed; usage, input or harness error. */
enum { PS_EXIT_OK = 0, PS_EXIT_FAIL = 1, PS_EXIT_ERROR = 2 };

#endif
