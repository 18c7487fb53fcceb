/*
 * main.c - sesgate-policyd: the shared daemon start (progopt.c), then the
 * event loop (server.c).
 */
#include "confcheck.h"
#include "progopt.h"
#include "server.h"

int
main(int argc, char **argv)
{
	return progopt_daemon("sesgate-policyd", argc, argv, CONFCHECK_REDIS,
	    server_run);
}
