/* mixdesk: what a render checks before any work. Each strip's source, by the one check that both the render
 * (through rdr_source_open and render_check_sources) and `mixdesk check` (render_check_sources) use, so the
 * two can never disagree about a session; and every output's name (the mix, the JSON report, each stem)
 * against the session file, the sources and the other outputs, so a bounce cannot overwrite what it reads or
 * write two results into one file. Every function here is [control]. */
#include "tools/render/render_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the sources ---- */

static int problem(render_problem_fn fn, void *ctx, int strip, enum render_problem_kind kind, enum md_err code,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int problem(render_problem_fn fn, void *ctx, int strip, enum render_problem_kind kind, enum md_err code,
		   const char *fmt, ...)
{
	if (!fn)
		return 1;
	struct render_problem p = {.strip = strip, .kind = kind, .code = code};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p.msg, sizeof p.msg, fmt, ap);
	va_end(ap);
	fn(ctx, &p);
	return 1;
}

void rdr_keep_first(void *ctx, const struct render_problem *p)
{
	struct rdr_first *f = ctx;
	if (f->n++ == 0) {
		f->code = p->code;
		snprintf(f->err, f->errlen, "%s", p->msg);
	}
}

int rdr_source_probe(const struct md_strip_model *m, int strip, const char *base, uint32_t rate, bool resample,
		     char *path, size_t pathlen, SNDFILE **sf, SF_INFO *info, render_problem_fn fn, void *ctx)
{
	const int n = strip + 1, nch = m->stereo ? 2 : 1;
	SF_INFO local;
	SNDFILE *f = NULL;
	if (sf)
		*sf = NULL;
	if (!info)
		info = &local;
	memset(info, 0, sizeof *info);
	console_source_path(path, pathlen, m->source, base);
	struct stat st;
	if (stat(path, &st) != 0) {
		const bool missing = errno == ENOENT || errno == ENOTDIR;
		return problem(fn, ctx, strip, missing ? RENDER_SRC_MISSING : RENDER_SRC_UNREADABLE,
			       missing ? MD_ERR_NOTFOUND : MD_ERR_IO,
			       "strip %d (%s): source '%s' (%s): %s (expected %s)", n, m->name, m->source, path,
			       strerror(errno), missing ? "an audio file there" : "a readable audio file");
	}
	if (S_ISDIR(st.st_mode))
		return problem(fn, ctx, strip, RENDER_SRC_UNREADABLE, MD_ERR_IO,
			       "strip %d (%s): source '%s' (%s) is a directory (expected an audio file)", n, m->name,
			       m->source, path);
	if (!S_ISREG(st.st_mode)) /* a FIFO or a device: opening it could wait for ever, or never end */
		return problem(fn, ctx, strip, RENDER_SRC_UNREADABLE, MD_ERR_IO,
			       "strip %d (%s): source '%s' (%s) is not a regular file (expected an audio file)", n,
			       m->name, m->source, path);
	if (access(path, R_OK) != 0)
		return problem(fn, ctx, strip, RENDER_SRC_UNREADABLE, MD_ERR_IO,
			       "strip %d (%s): source '%s' (%s): %s (expected a readable audio file)", n, m->name,
			       m->source, path, strerror(errno));
	if (!(f = sf_open(path, SFM_READ, info)) || info->channels <= 0 || info->samplerate <= 0) {
		const char *why = f ? "it declares no channels or no sample rate" : sf_strerror(NULL);
		if (f)
			sf_close(f);
		return problem(fn, ctx, strip, RENDER_SRC_FORMAT, MD_ERR_FORMAT,
			       "strip %d (%s): source '%s' (%s) is not an audio file libsndfile can read (%s)", n,
			       m->name, m->source, path, why);
	}
	int found = 0;
	if (info->channels != nch)
		found += problem(fn, ctx, strip, RENDER_SRC_CHANNELS, MD_ERR_FORMAT,
				 "strip %d (%s) is %s but its source '%s' (%s) has %d channel%s (expected %d)", n,
				 m->name, m->stereo ? "stereo" : "mono", m->source, path, info->channels,
				 info->channels == 1 ? "" : "s", nch);
	if ((uint32_t)info->samplerate != rate && !resample)
		found += problem(fn, ctx, strip, RENDER_SRC_RATE, MD_ERR_FORMAT,
				 "strip %d (%s): source '%s' (%s) is at %d Hz but the session is at %u Hz "
				 "(convert it, or render with --resample)",
				 n, m->name, m->source, path, info->samplerate, rate);
	else if (!src_is_valid_ratio((double)rate / (double)info->samplerate))
		found += problem(fn, ctx, strip, RENDER_SRC_RATE, MD_ERR_FORMAT,
				 "strip %d (%s): source '%s' (%s) is at %d Hz, too far from the session's %u Hz to "
				 "convert (expected at most 256 times higher or lower)",
				 n, m->name, m->source, path, info->samplerate, rate);
	if (found || !sf)
		sf_close(f);
	else
		*sf = f;
	return found;
}

int render_check_sources(const struct md_console *c, const char *base_dir, bool resample, render_problem_fn fn,
			 void *ctx)
{
	char path[PATH_MAX];
	int found = 0;
	for (int i = 0; i < c->nstrips; i++)
		if (c->strips[i]->source)
			found += rdr_source_probe(c->strips[i], i, base_dir, c->sample_rate, resample, path,
						  sizeof path, NULL, NULL, fn, ctx);
	return found;
}

/* ---- the outputs ---- */

void rdr_stem_path(char *dst, size_t size, const struct md_console *c, const char *dir, int k)
{
	const bool is_strip = k - 1 < c->nstrips;
	const char *name = is_strip ? c->strips[k - 1]->name : c->buses[k - 1 - c->nstrips]->name;
	char clean[MD_NAME_MAX];
	md_strlcpy(clean, name, sizeof clean);
	for (char *p = clean; *p; p++)
		if (*p == '/' || (unsigned char)*p < 32)
			*p = '_';
	if (strcmp(clean, ".") == 0 || strcmp(clean, "..") == 0)
		clean[0] = '_';
	snprintf(dst, size, "%s/%s%s.wav", dir, clean, is_strip ? "" : ".bus");
}

/* path absolute, with its longest existing leading part resolved (realpath) and the rest appended: the name a
 * file that does not exist yet will have */
static void resolve(const char *path, char *dst, size_t size)
{
	char head[PATH_MAX], real[PATH_MAX];
	md_strlcpy(head, path, sizeof head);
	size_t cut = strlen(head);
	const char *sep = "";
	while (!realpath(head, real)) {
		char *slash = strrchr(head, '/');
		if (!slash) { /* relative, and no part of it exists: from the current directory */
			if (!realpath(".", real))
				md_strlcpy(real, ".", sizeof real);
			cut = 0;
			sep = "/";
			break;
		}
		if (slash == head) { /* absolute, and nothing below / exists */
			real[0] = '\0';
			cut = 0;
			break;
		}
		*slash = '\0';
		cut = (size_t)(slash - head);
	}
	int n = snprintf(dst, size, "%s%s%s", real, sep, path + cut);
	if (n < 0 || (size_t)n >= size) /* longer than a path can be: no file has this name */
		md_strlcpy(dst, path, size);
}

enum file_role { F_SESSION, F_SOURCE, F_MIX, F_REPORT, F_STEM };

/* a file a render reads or writes, and what it is on the disk */
struct file_ref {
	enum file_role role;
	int index;   /* the strip (a source, a strip's stem) or the output (a stem: strips, then buses) */
	char *name;  /* as the render opens it */
	bool exists; /* then dev and ino say which file it is, else real the name it will have */
	dev_t dev;
	ino_t ino;
	char *real;
};

static bool add_ref(struct file_ref *f, enum file_role role, int index, const char *name)
{
	struct stat st;
	*f = (struct file_ref){.role = role, .index = index, .name = strdup(name)};
	if (!f->name)
		return false;
	if (stat(name, &st) == 0) {
		f->exists = true;
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		return true;
	}
	char real[PATH_MAX];
	resolve(name, real, sizeof real);
	return (f->real = strdup(real)) != NULL;
}

static bool same_file(const struct file_ref *a, const struct file_ref *b)
{
	if (a->exists || b->exists)
		return a->exists && b->exists && a->dev == b->dev && a->ino == b->ino;
	return strcmp(a->real, b->real) == 0;
}

/* what f is, for a message: "the output 'x.wav'", "the source of strip 3 (Bass)", ... */
static void describe(const struct file_ref *f, const struct md_console *c, char *dst, size_t size)
{
	switch (f->role) {
	case F_SESSION: snprintf(dst, size, "the session file '%s'", f->name); break;
	case F_SOURCE:
		snprintf(dst, size, "the source of strip %d (%s)", f->index + 1, c->strips[f->index]->name);
		break;
	case F_MIX: snprintf(dst, size, "the output '%s'", f->name); break;
	case F_REPORT: snprintf(dst, size, "the report '%s'", f->name); break;
	case F_STEM:
		if (f->index - 1 < c->nstrips)
			snprintf(dst, size, "the stem '%s' of strip %d (%s)", f->name, f->index,
				 c->strips[f->index - 1]->name);
		else
			snprintf(dst, size, "the stem '%s' of bus %d (%s)", f->name, f->index - c->nstrips,
				 c->buses[f->index - 1 - c->nstrips]->name);
		break;
	}
}

/* every file the render reads (the session, the sources), then every one it writes (the mix, the report, the
 * stems); false when out of memory */
static bool list_files(const struct rdr_render *r, const char *base_dir, struct file_ref *f, int *n)
{
	const struct md_console *c = r->c;
	const struct render_opts *opt = r->opt;
	char path[PATH_MAX];
	*n = 0;
	if (opt->session && !add_ref(&f[(*n)++], F_SESSION, 0, opt->session))
		return false;
	for (int i = 0; i < c->nstrips; i++) {
		if (!c->strips[i]->source)
			continue;
		console_source_path(path, sizeof path, c->strips[i]->source, base_dir);
		if (!add_ref(&f[(*n)++], F_SOURCE, i, path))
			return false;
	}
	if (!add_ref(&f[(*n)++], F_MIX, 0, opt->out))
		return false;
	if (opt->report && !add_ref(&f[(*n)++], F_REPORT, 0, opt->report))
		return false;
	for (int k = 1; opt->stems_dir && k <= c->nstrips + c->nbuses; k++) {
		rdr_stem_path(path, sizeof path, c, opt->stems_dir, k);
		if (!add_ref(&f[(*n)++], F_STEM, k, path))
			return false;
	}
	return true;
}

enum md_err rdr_check_outputs(const struct rdr_render *r, const char *base_dir, char *err, size_t errlen)
{
	const struct md_console *c = r->c;
	const int max = 3 + 2 * c->nstrips + c->nbuses;
	struct file_ref *f = calloc((size_t)max, sizeof *f);
	int n = 0;
	enum md_err ret = MD_OK;
	if (!f || !list_files(r, base_dir, f, &n)) {
		snprintf(err, errlen, "out of memory checking the outputs' names");
		ret = MD_ERR_NOMEM;
	}
	for (int j = 0; !ret && j < n; j++) {
		if (f[j].role == F_SESSION || f[j].role == F_SOURCE)
			continue;
		for (int i = 0; i < j; i++) {
			if (!same_file(&f[i], &f[j]))
				continue;
			const bool read = f[i].role == F_SESSION || f[i].role == F_SOURCE;
			char what[PATH_MAX + 128], other[PATH_MAX + 128];
			describe(&f[j], c, what, sizeof what);
			describe(&f[i], c, other, sizeof other);
			snprintf(err, errlen,
				 read ? "%s is %s: refusing to overwrite it"
				      : "%s is also %s: refusing to write both into one file",
				 what, other);
			ret = MD_ERR_EXISTS;
			break;
		}
	}
	for (int i = 0; f && i < n; i++) {
		free(f[i].name);
		free(f[i].real);
	}
	free(f);
	return ret;
}
