/*
 * receipt.c - parsing and matching receipt rules (see receipt.h). The
 * limits and forms are SES's: rule names of letters, digits, '_', '-'
 * and '.', starting and ending alphanumeric, at most 64; header names of
 * 1 to 50 letters, digits and '-'; values under 2,048 characters. No
 * state; safe in any thread.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "receipt.h"
#include "str.h"

#define RECEIPT_HEADER_NAME_MAX		50
#define RECEIPT_HEADER_VALUE_MAX	2047
#define RECEIPT_TEXT_MAX		400

static bool
receipt_name_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(extra, *p) == NULL)
			return false;
	return true;
}

static bool
receipt_printable(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p == 127)
			return false;
	return true;
}

/* "550 5.1.1 Mailbox does not exist": a 4xx or 5xx code, an enhanced
   status of the same class (RFC 3463), some text. */
static const char *
receipt_bounce(char *args, struct receipt_action *a)
{
	char	*code = strtok_r(args, " \t", &args);
	char	*x = strtok_r(NULL, " \t", &args);
	int	 d1, d2, d3;
	char	 tail;

	if (code == NULL || strlen(code) != 3 ||
	    (code[0] != '4' && code[0] != '5') ||
	    !isdigit((unsigned char)code[1]) ||
	    !isdigit((unsigned char)code[2]))
		return "bounce: want a 4xx or 5xx reply code";
	if (x == NULL || sscanf(x, "%d.%d.%d%c", &d1, &d2, &d3, &tail) != 3 ||
	    d1 != code[0] - '0' || d2 < 0 || d2 > 999 || d3 < 0 ||
	    d3 > 999 || strlen(x) >= sizeof(a->xcode))
		return "bounce: want an enhanced status code of the reply "
		    "code's class (such as 550 5.1.1)";
	args = str_trim(args);
	if (*args == '\0' || strlen(args) > RECEIPT_TEXT_MAX ||
	    !receipt_printable(args))
		return "bounce: want a reply text (printable, at most 400 "
		    "characters)";
	memcpy(a->rcode, code, 4);
	(void)str_copy(a->xcode, sizeof(a->xcode), x);
	a->text = xstrdup(args);
	return NULL;
}

/* "X-Name: value" */
static const char *
receipt_add_header(char *args, struct receipt_action *a)
{
	char *colon = strchr(args, ':'), *value;

	if (colon == NULL)
		return "add_header: want NAME: VALUE";
	*colon = '\0';
	args = str_trim(args);
	value = str_trim(colon + 1);
	if (!receipt_name_ok(args, RECEIPT_HEADER_NAME_MAX, "-"))
		return "add_header: want a header name of 1 to 50 letters, "
		    "digits and '-'";
	if (strlen(value) > RECEIPT_HEADER_VALUE_MAX ||
	    !receipt_printable(value))
		return "add_header: want a value under 2048 characters, "
		    "without control characters";
	a->name = xstrdup(args);
	a->text = xstrdup(value);
	return NULL;
}

static const char *
receipt_action(char *s, struct receipt_action *a)
{
	char *verb = strtok_r(s, " \t", &s);

	s = str_trim(s != NULL ? s : (char *)"");
	if (verb == NULL)
		return "empty action";
	if (strcmp(verb, "bounce") == 0) {
		a->type = RECEIPT_BOUNCE;
		return receipt_bounce(s, a);
	}
	if (strcmp(verb, "add_header") == 0) {
		a->type = RECEIPT_ADD_HEADER;
		return receipt_add_header(s, a);
	}
	if (strcmp(verb, "stop") == 0) {
		a->type = RECEIPT_STOP;
		return *s == '\0' ? NULL : "stop takes no argument";
	}
	if (strcmp(verb, "notify") == 0) {
		a->type = RECEIPT_NOTIFY;
		if (!receipt_name_ok(s, RECEIPT_NAME_MAX, "_-.:"))
			return "notify: want a stream name (letters, digits, "
			    "'_', '-', '.', ':'; at most 64)";
		a->name = xstrdup(s);
		return NULL;
	}
	return "unknown action (want bounce, add_header, stop or notify)";
}

static const char *
receipt_rcpts(char *list, struct receipt_rule *r)
{
	char *save = NULL;

	if (strcmp(list, "*") == 0)
		return NULL;
	/* An empty item would leave a narrow rule matching everyone. */
	if (list[0] == ',' || list[strlen(list) - 1] == ',' ||
	    strstr(list, ",,") != NULL)
		return "want recipients as *, or addresses, domains and "
		    ".domains separated by commas";
	for (char *t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		const char *dom = strchr(t, '@') != NULL ?
		    strchr(t, '@') + 1 : t[0] == '.' ? t + 1 : t;

		if (r->nrcpts == RECEIPT_MAX_RCPTS)
			return "more than 100 recipients";
		if (*dom == '\0' || strchr(dom, '@') != NULL ||
		    strchr(dom, '.') == NULL || dom[strlen(dom) - 1] == '.' ||
		    !receipt_printable(t))
			return "want recipients as *, or addresses, domains "
			    "and .domains separated by commas";
		r->rcpts[r->nrcpts++] = str_lower(xstrdup(t));
	}
	return NULL;
}

int
receipt_rule_parse(const char *line, struct receipt_rule *out, char *why,
    size_t whylen)
{
	char		*copy = xstrdup(line), *p = copy, *name, *rcpts;
	char		*save = NULL;
	const char	*err = NULL;

	memset(out, 0, sizeof(*out));
	name = strtok_r(p, " \t", &p);
	rcpts = strtok_r(NULL, " \t", &p);
	if (name == NULL || rcpts == NULL || p == NULL ||
	    *str_trim(p) == '\0') {
		err = "want NAME RECIPIENTS ACTION [; ACTION ...]";
		goto done;
	}
	if (!receipt_name_ok(name, RECEIPT_NAME_MAX, "_-.")) {
		err = "want a rule name of letters, digits, '_', '-' and '.', "
		    "starting and ending with a letter or digit, at most 64";
		goto done;
	}
	(void)str_copy(out->name, sizeof(out->name), name);
	err = receipt_rcpts(rcpts, out);
	for (char *a = strtok_r(p, ";", &save); err == NULL && a != NULL;
	    a = strtok_r(NULL, ";", &save)) {
		if (out->nact == RECEIPT_MAX_ACTIONS) {
			err = "more than 10 actions";
			break;
		}
		err = receipt_action(a, &out->act[out->nact]);
		out->nact++;
	}
	if (err == NULL && out->nact == 0)
		err = "want NAME RECIPIENTS ACTION [; ACTION ...]";
done:
	if (err != NULL) {
		(void)str_copy(why, whylen, err);
		receipt_rule_clear(out);
	}
	free(copy);
	return err != NULL ? -1 : 0;
}

void
receipt_rule_clear(struct receipt_rule *r)
{
	for (size_t i = 0; i < r->nrcpts; i++)
		free(r->rcpts[i]);
	for (size_t i = 0; i < r->nact; i++) {
		free(r->act[i].name);
		free(r->act[i].text);
	}
	memset(r, 0, sizeof(*r));
}

bool
receipt_rule_matches(const struct receipt_rule *r, const char *rcpt)
{
	char		 addr[400];
	const char	*at, *dom;
	size_t		 n = strlen(rcpt);

	if (r->nrcpts == 0)
		return true;
	if (n >= 2 && rcpt[0] == '<' && rcpt[n - 1] == '>') {
		rcpt++;
		n -= 2;
	}
	if (n >= sizeof(addr))
		return false;
	memcpy(addr, rcpt, n);
	addr[n] = '\0';
	str_lower(addr);
	at = strrchr(addr, '@');
	dom = at != NULL ? at + 1 : "";
	for (size_t i = 0; i < r->nrcpts; i++) {
		const char *c = r->rcpts[i];

		if (strchr(c, '@') != NULL) {
			if (strcmp(c, addr) == 0)
				return true;
		} else if (c[0] == '.') {
			size_t dl = strlen(dom), cl = strlen(c);

			/* ".example.com": every subdomain, not the domain. */
			if (dl > cl && strcmp(dom + dl - cl, c) == 0)
				return true;
		} else if (strcmp(c, dom) == 0) {
			return true;
		}
	}
	return false;
}
