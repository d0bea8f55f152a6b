/* mixdesk fuzz target: the render's source reading on any bytes. They become a strip's source file in a private
 * temporary folder, and render_console bounces a one-strip console (48 kHz) on it for 40 ms into a WAV beside it
 * (from 10 ms in for inputs of odd size, so that the seek is fuzzed too): the sources' check (check.c),
 * libsndfile's header and data reading through source.c, pass 1 and pass 2. A refusal is fine but must say why,
 * and must be exactly what render_check_sources (the check `mixdesk check` makes) finds; a crash, a sanitizer
 * report, a leak or a hang is a bug. The strip is stereo when the file says it has two channels, so both of
 * source.c's paths are reached. */
#include "tests/fuzz/fuzz.h"

#include "engine/model/console.h"
#include "tools/render/render.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_RATE 48000
/* 40 ms (1,920 frames, after the render's own 50 ms pre-roll): the first read already decodes 16,384 frames of the
 * file (more than a seed holds), so a longer range would add DSP time, not coverage of the reading */
#define FUZZ_SECONDS 0.04
#define FUZZ_START 0.01 /* where inputs of odd size start, so the seek into the source is fuzzed too */

static char dir[PATH_MAX - 32]; /* created on the first run, reused by every run */

static void remove_dir(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/src.wav", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/mix.wav", dir);
	unlink(path);
	rmdir(dir);
}

static bool make_dir(void)
{
	if (dir[0])
		return true;
	/* tmpfs when there is one: every render syncs its output */
	const char *tmp = getenv("TMPDIR");
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp && *tmp ? tmp : "/tmp";
	snprintf(dir, sizeof dir, "%s/mixdesk-fuzz-render.XXXXXX", base);
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		return false;
	}
	atexit(remove_dir);
	return true;
}

static bool write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(data, 1, size, f) == size;
	return fclose(f) == 0 && ok;
}

int fuzz_render(const uint8_t *data, size_t size)
{
	char src[PATH_MAX], out[PATH_MAX], err[1024];
	if (!make_dir())
		return 0;
	snprintf(src, sizeof src, "%s/src.wav", dir);
	snprintf(out, sizeof out, "%s/mix.wav", dir);
	if (!write_file(src, data, size))
		return 0;
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(src, SFM_READ, &info);
	const bool stereo = sf && info.channels == 2;
	if (sf)
		sf_close(sf);
	struct md_console *c = console_new(FUZZ_RATE);
	struct render_report *rep = calloc(1, sizeof *rep);
	int idx;
	if (!c || !rep || console_add_strip(c, "Src", stereo, &idx) != MD_OK ||
	    !(c->strips[idx]->source = strdup("src.wav"))) {
		free(rep);
		console_free(c);
		return 0;
	}
	const double start = size % 2 ? FUZZ_START : 0.0;
	struct render_opts o = {.out = out, .start = start, .end_set = true, .end = start + FUZZ_SECONDS, .threads = 1};
	err[0] = '\0';
	enum md_err e = render_console(c, dir, &o, rep, err, sizeof err);
	const int problems = render_check_sources(c, dir, false, NULL, NULL);
	if (e != MD_OK)
		assert(err[0] != '\0' && memchr(err, '\0', sizeof err)); /* every refusal says why */
	else
		assert(rep->frames == (uint64_t)llround(FUZZ_SECONDS * FUZZ_RATE) && access(out, F_OK) == 0);
	assert((problems == 0) == (e == MD_OK)); /* `mixdesk check` says what the render does */
	unlink(out);
	free(rep);
	console_free(c);
	return 0;
}

FUZZ_ENTRY(fuzz_render)
