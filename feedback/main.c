/*
 * main.c - sesgate-feedbackd: the shared daemon start (progopt.c), then
 * the SNS endpoint (endpoint.c).
 */
#include "endpoint.h"
#include "progopt.h"

int
main(int argc, char **argv)
{
	return progopt_daemon("sesgate-feedbackd", argc, argv, endpoint_run);
}
