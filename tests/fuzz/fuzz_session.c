/* mixdesk fuzz target: the session parser and loader (json-c, validation into a console) on any bytes;
 * a console that loads is cloned and freed, so the copy paths meet every shape the loader accepts. */
#include "tests/fuzz/fuzz.h"

#include "engine/model/console.h"
#include "sessions/session.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int fuzz_session(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct md_console *c = NULL;
	char err[512];
	enum md_err e = session_parse(text, "fuzz.json", &c, err, sizeof err);
	if (e == MD_OK) {
		assert(c);
		struct md_console *copy = console_clone(c);
		console_free(copy);
		console_free(c);
	} else {
		assert(!c);
		assert(err[0] != '\0' && memchr(err, '\0', sizeof err)); /* every refusal says why */
	}
	free(text);
	return 0;
}

FUZZ_ENTRY(fuzz_session)
