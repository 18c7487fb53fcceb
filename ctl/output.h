/*
 * output.h - how sesgatectl prints results on stdout: a human table
 * (columns aligned, printed when the command ends) or, with --json, one
 * JSON object per line as each record is complete. Not thread-safe; one
 * per run.
 */
#ifndef SESGATE_OUTPUT_H
#define SESGATE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

struct output;

/* A new output to stdout. */
struct output	*output_new(bool json);
bool		 output_is_json(const struct output *o);
/* Start a record; the fields follow, then output_end(). In a table every
   record must name the same fields in the same order (the first record
   gives the header). */
void		 output_begin(struct output *o);
/* A string field (NULL or "" shows as "-" in a table, as "" in JSON). */
void		 output_str(struct output *o, const char *key,
		    const char *value);
void		 output_int(struct output *o, const char *key, long long v);
/* A number; "unlimited" in a table and -1 in JSON when v is -1. */
void		 output_limit(struct output *o, const char *key, double v);
void		 output_bool(struct output *o, const char *key, bool v);
void		 output_end(struct output *o);
/* Print the table (human form); nothing in JSON form. */
void		 output_flush(struct output *o);
/* Flush, then free; *op becomes NULL. Accepts NULL. */
void		 output_free(struct output **op);

/* s as a JSON string with quotes and escapes, appended to fp. */
void		 output_json_string(FILE *fp, const char *s);

#endif
