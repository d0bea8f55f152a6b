/* mixdesk: session files (placeholder until the session work lands). */
#include "session.h"

#include <stdio.h>

enum md_err session_load(const char *path, struct md_console **out, char *err, size_t errlen)
{
	(void)out;
	snprintf(err, errlen, "%s: sessions are not implemented yet", path);
	return MD_ERR_FORMAT;
}

enum md_err session_parse(const char *text, const char *path, struct md_console **out, char *err, size_t errlen)
{
	(void)text;
	return session_load(path, out, err, errlen);
}

enum md_err session_save(const char *path, const struct md_console *c, char *err, size_t errlen)
{
	(void)c;
	snprintf(err, errlen, "%s: sessions are not implemented yet", path);
	return MD_ERR_IO;
}

int session_check_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mixdesk check: not implemented yet\n");
	return 1;
}
