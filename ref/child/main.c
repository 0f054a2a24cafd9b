/*
 * procref-child: the program libprocref's spawn and forkserver start
 * methods run (a fresh image, as CPython runs a fresh interpreter).
 * Everything is in the library: pr_child_main().
 */
#include "procref.h"

int main(int argc, char **argv)
{
	return pr_child_main(argc, argv);
}
