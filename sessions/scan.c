/* mixdesk: a small scanner over a session's raw JSON text, for what json-c's tree cannot say: whether a file on
 * disk is a mixdesk session at all (its top-level "format", without building a tree: a save checks the file it
 * would replace), and where in the text a field is (a line and a column for messages that may not quote the
 * file). It never allocates, never reads past len, and gives up (SESS_NOWHERE, false) on text that is not
 * JSON of the expected shape.
 *
 * Every function here is [any]: no state but its arguments. */
#include "sessions/session_int.h"

#include <stdlib.h>
#include <string.h>

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static size_t skip_ws(const char *t, size_t n, size_t i)
{
	while (i < n && is_ws(t[i]))
		i++;
	return i;
}

/* t[i] is '"': the index just after the closing quote (n when there is none) */
static size_t string_end(const char *t, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return n;
}

/* the index just after the value that starts at t[i] (n when it does not end) */
static size_t value_end(const char *t, size_t n, size_t i)
{
	if (i >= n)
		return n;
	if (t[i] == '"')
		return string_end(t, n, i);
	if (t[i] == '{' || t[i] == '[') {
		int depth = 0;
		while (i < n) {
			char ch = t[i];
			if (ch == '"') {
				i = string_end(t, n, i);
				continue;
			}
			if (ch == '{' || ch == '[')
				depth++;
			else if ((ch == '}' || ch == ']') && --depth == 0)
				return i + 1;
			i++;
		}
		return n;
	}
	while (i < n && !is_ws(t[i]) && t[i] != ',' && t[i] != '}' && t[i] != ']')
		i++;
	return i;
}

/* In the object at t[i] ('{'), the last member named key (json-c keeps the last of duplicates): the start of
 * its value, and of its key in *keypos; SESS_NOWHERE when there is none. */
static size_t object_member(const char *t, size_t n, size_t i, const char *key, size_t keylen, size_t *keypos)
{
	size_t found = SESS_NOWHERE;
	if (i >= n || t[i] != '{')
		return SESS_NOWHERE;
	i = skip_ws(t, n, i + 1);
	while (i < n && t[i] == '"') {
		size_t ke = string_end(t, n, i);
		bool match = ke - i == keylen + 2 && memcmp(t + i + 1, key, keylen) == 0;
		size_t v = skip_ws(t, n, ke);
		if (v >= n || t[v] != ':')
			return found;
		v = skip_ws(t, n, v + 1);
		if (match) {
			found = v;
			*keypos = i;
		}
		size_t j = skip_ws(t, n, value_end(t, n, v));
		if (j >= n || t[j] != ',')
			return found;
		i = skip_ws(t, n, j + 1);
	}
	return found;
}

/* In the array at t[i] ('['), the start of element idx, or SESS_NOWHERE. */
static size_t array_element(const char *t, size_t n, size_t i, long idx)
{
	if (i >= n || t[i] != '[')
		return SESS_NOWHERE;
	i = skip_ws(t, n, i + 1);
	for (long k = 0; i < n && t[i] != ']'; k++) {
		if (k == idx)
			return i;
		i = skip_ws(t, n, value_end(t, n, i));
		if (i >= n || t[i] != ',')
			return SESS_NOWHERE;
		i = skip_ws(t, n, i + 1);
	}
	return SESS_NOWHERE;
}

bool sess_scan_is_session(const char *t, size_t n)
{
	static const char want[] = "\"" SESS_FORMAT_NAME "\"";
	size_t keypos, v = object_member(t, n, skip_ws(t, n, 0), "format", 6, &keypos);
	if (v == SESS_NOWHERE || n - v < sizeof want - 1 || memcmp(t + v, want, sizeof want - 1) != 0)
		return false;
	size_t after = skip_ws(t, n, v + sizeof want - 1);
	return after < n && (t[after] == ',' || t[after] == '}');
}

size_t sess_scan_locate(const char *t, size_t n, const char *where)
{
	size_t at = skip_ws(t, n, 0), mark = SESS_NOWHERE;
	const char *p = where;
	while (p && *p && at != SESS_NOWHERE) {
		if (*p == '[') {
			char *end;
			long idx = strtol(p + 1, &end, 10);
			if (*end != ']' || idx < 0)
				return SESS_NOWHERE;
			at = mark = array_element(t, n, at, idx);
			p = end + 1;
		} else {
			if (*p == '.')
				p++;
			size_t len = strcspn(p, ".[");
			size_t keypos = SESS_NOWHERE;
			at = object_member(t, n, at, p, len, &keypos);
			mark = keypos; /* a field is shown at its key */
			p += len;
		}
	}
	return at == SESS_NOWHERE ? SESS_NOWHERE : mark;
}

void sess_line_col(const char *text, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++; /* count characters, not UTF-8 continuation bytes */
		}
	}
}
