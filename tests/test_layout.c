/* mixdesk tests: the tablet page generator (control/layout.c, `mixdesk-osc layout`): for a 24-strip console
 * with 3 buses, the text is Open Stage Control's session format (type, version, a root with tabs, widgets with
 * the fields it reads), every strip, bus and the master has a fader on the console's fader law whose touch
 * address drives touch and latch automation, and every address the page sends is one docs/OSC.md lists. */
#include "control/layout.h"
#include "sessions/session.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
	return v;
}

/* the docs' OSC reference, for the addresses the page uses */
static char *read_docs(void)
{
	const char *top = getenv("MIXDESK_TOP");
	char path[1024];
	snprintf(path, sizeof path, "%s/docs/OSC.md", top ? top : ".");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* "/ch/12/eq/3/gain" as the docs write it: "/ch/N/eq/B/gain" (numbers become N, the second one B) */
static void doc_form(const char *addr, char *out, size_t len)
{
	int nums = 0;
	size_t k = 0;
	for (const char *p = addr; *p && k + 2 < len;) {
		if (*p >= '0' && *p <= '9' && p[-1] == '/') {
			const char *sym = strncmp(addr, "/master", 7) == 0 ? "K" : nums == 0 ? "N" : "B";
			out[k++] = sym[0];
			nums++;
			while (*p >= '0' && *p <= '9')
				p++;
		} else
			out[k++] = *p++;
	}
	out[k] = 0;
}

static void test_layout_24_strips(void **state)
{
	(void)state;
	struct md_console *c = console_new(48000);
	for (int i = 0; i < 24; i++) {
		char name[16];
		snprintf(name, sizeof name, "In %d", i + 1);
		assert_int_equal(console_add_strip(c, name, i % 3 == 0, NULL), MD_OK);
	}
	for (int b = 0; b < 3; b++) {
		char name[16];
		snprintf(name, sizeof name, "Aux %d", b + 1);
		assert_int_equal(console_add_bus(c, name, NULL), MD_OK);
	}
	char *text = layout_osc_session(c);
	assert_non_null(text);
	json_object *root = json_tokener_parse(text);
	assert_non_null(root);
	assert_string_equal(json_object_get_string(get(root, "type")), "session");
	assert_non_null(json_object_get_string(get(root, "version")));
	json_object *content = get(root, "content");
	assert_string_equal(json_object_get_string(get(content, "type")), "root");
	json_object *tabs = get(content, "tabs");
	assert_int_equal((int)json_object_array_length(tabs), 1 + 24);
	const char *docs = read_docs();
	int faders = 0, touches = 0, widgets = 0, checked = 0;
	for (size_t t = 0; t < json_object_array_length(tabs); t++) {
		json_object *ws = get(json_object_array_get_idx(tabs, t), "widgets");
		for (size_t i = 0; i < json_object_array_length(ws); i++) {
			json_object *w = json_object_array_get_idx(ws, i);
			static const char *const fields[] = {"type", "id", "left", "top", "width", "height", "address"};
			for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
				get(w, fields[f]);
			widgets++;
			const char *addr = json_object_get_string(get(w, "address"));
			if (strcmp(addr, "false") == 0)
				continue;
			char form[128];
			doc_form(addr, form, sizeof form);
			/* the docs write families in short: "/ch/N/eq/B/gain" is listed as /ch/N/eq/B/type,freq,gain,q,on */
			const char *leaf = strrchr(form, '/');
			char family[128];
			snprintf(family, sizeof family, "%.*s", (int)(leaf - form), form);
			if (!strstr(docs, form) && !strstr(docs, family))
				fail_msg("%s (%s) is not in docs/OSC.md", addr, form);
			checked++;
			if (strcmp(json_object_get_string(get(w, "type")), "fader") == 0 &&
			    strstr(addr, "/fader/pos")) {
				faders++;
				char want[128];
				snprintf(want, sizeof want, "%.*s/fader/touch",
					 (int)(strstr(addr, "/fader/pos") - addr), addr);
				assert_string_equal(json_object_get_string(get(w, "touchAddress")), want);
				touches++;
			}
		}
	}
	printf("24 strips, 3 buses: %zu tabs, %d widgets, %d addresses found in docs/OSC.md, %d faders with a touch "
	       "address\n",
	       json_object_array_length(tabs), widgets, checked, touches);
	assert_int_equal(faders, 24 + 3 + 1);
	assert_int_equal(touches, faders);
	json_object_put(root);
	free(text);
	console_free(c);
}

/* The command: mixdesk-osc layout on the demo session prints the same page the library builds. */
static void test_layout_command(void **state)
{
	(void)state;
	const char *top = getenv("MIXDESK_TOP"), *bld = getenv("MIXDESK_BUILD");
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "%s/mixdesk-osc layout %s/sessions/demo.json", bld ? bld : "build", top ? top : ".");
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	static char out[1 << 20];
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = 0;
	assert_int_equal(pclose(p), 0);
	json_object *root = json_tokener_parse(out);
	assert_non_null(root);
	assert_string_equal(json_object_get_string(get(root, "type")), "session");
	json_object_put(root);
	snprintf(cmd, sizeof cmd, "%s/mixdesk-osc layout /nonexistent.json 2>/dev/null", bld ? bld : "build");
	assert_int_not_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_24_strips),
		cmocka_unit_test(test_layout_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
