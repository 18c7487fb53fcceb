/*
 * output.c - sesgatectl's result printer: records of named fields shown
 * as an aligned table, or as one JSON object per line with --json. The
 * table keeps its cells until output_flush(). One per run; not
 * thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "output.h"

struct output_cell {
	char	*key;
	char	*text;		/* table form */
};

struct output {
	bool			 json;
	bool			 open;
	struct buf		 line;		/* JSON record being built */
	size_t			 nfields;	/* fields in this record */
	struct output_cell	*cells;		/* table: every cell */
	size_t			 ncells, capcells;
	size_t			 ncols;		/* from the first record */
};

struct output *
output_new(bool json)
{
	struct output *o = xcalloc(1, sizeof(*o));

	o->json = json;
	return o;
}

bool
output_is_json(const struct output *o)
{
	return o->json;
}

void
output_begin(struct output *o)
{
	o->open = true;
	o->nfields = 0;
	buf_reset(&o->line);
	if (o->json)
		buf_puts(&o->line, "{");
}

static void
output_json_buf(struct buf *b, const char *s)
{
	buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_append(b, p, 1);
		}
	}
	buf_puts(b, "\"");
}

void
output_json_string(FILE *fp, const char *s)
{
	struct buf b = BUF_INIT;

	output_json_buf(&b, s);
	fputs(b.data, fp);
	buf_free(&b);
}

/* Add a cell: raw is the JSON text of the value, text its table form. */
static void
output_field(struct output *o, const char *key, const char *raw,
    const char *text)
{
	if (o->json) {
		if (o->nfields > 0)
			buf_puts(&o->line, ",");
		output_json_buf(&o->line, key);
		buf_puts(&o->line, ":");
		buf_puts(&o->line, raw);
	} else {
		char *t = xstrdup(text != NULL && *text != '\0' ? text : "-");

		/* A table cell is one line: control characters would let a
		   stored value forge rows. */
		for (char *p = t; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		if (o->ncells == o->capcells) {
			o->capcells = o->capcells ? 2 * o->capcells : 32;
			o->cells = xrealloc(o->cells, o->capcells *
			    sizeof(*o->cells));
		}
		o->cells[o->ncells].key = xstrdup(key);
		o->cells[o->ncells++].text = t;
	}
	o->nfields++;
}

void
output_str(struct output *o, const char *key, const char *value)
{
	struct buf b = BUF_INIT;

	if (value == NULL)
		value = "";
	if (o->json)
		output_json_buf(&b, value);
	output_field(o, key, b.data, value);
	buf_free(&b);
}

void
output_int(struct output *o, const char *key, long long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", v);
	output_field(o, key, s, s);
}

void
output_limit(struct output *o, const char *key, double v)
{
	char s[64];

	snprintf(s, sizeof(s), "%.15g", v);
	output_field(o, key, s, v == -1 ? "unlimited" : s);
}

void
output_bool(struct output *o, const char *key, bool v)
{
	output_field(o, key, v ? "true" : "false", v ? "yes" : "no");
}

void
output_end(struct output *o)
{
	if (!o->open)
		return;
	o->open = false;
	if (o->json) {
		buf_puts(&o->line, "}\n");
		fputs(o->line.data, stdout);
		return;
	}
	if (o->ncols == 0)
		o->ncols = o->nfields;
}

void
output_flush(struct output *o)
{
	size_t	*w, ncols = o->ncols;

	if (o->json || ncols == 0 || o->ncells == 0) {
		fflush(stdout);
		return;
	}
	w = xcalloc(ncols, sizeof(*w));
	for (size_t c = 0; c < ncols; c++)
		w[c] = strlen(o->cells[c].key);
	for (size_t i = 0; i < o->ncells; i++) {
		size_t n = strlen(o->cells[i].text);

		if (n > w[i % ncols])
			w[i % ncols] = n;
	}
	for (size_t c = 0; c < ncols; c++) {
		for (const char *k = o->cells[c].key; *k != '\0'; k++)
			putchar(*k >= 'a' && *k <= 'z' ? *k - 'a' + 'A' : *k);
		if (c + 1 < ncols)
			printf("%*s", (int)(w[c] - strlen(o->cells[c].key) + 2),
			    "");
	}
	putchar('\n');
	for (size_t i = 0; i < o->ncells; i++) {
		size_t c = i % ncols;

		if (c + 1 < ncols)
			printf("%-*s  ", (int)w[c], o->cells[i].text);
		else
			printf("%s\n", o->cells[i].text);
	}
	for (size_t i = 0; i < o->ncells; i++) {
		free(o->cells[i].key);
		free(o->cells[i].text);
	}
	o->ncells = 0;
	o->ncols = 0;
	free(w);
	fflush(stdout);
}

void
output_free(struct output **op)
{
	struct output *o = *op;

	if (o == NULL)
		return;
	*op = NULL;
	output_flush(o);
	free(o->cells);
	buf_free(&o->line);
	free(o);
}
