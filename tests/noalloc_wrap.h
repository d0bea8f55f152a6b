/* mixdesk tests: malloc, calloc, realloc, free and pthread_mutex_lock counted while `armed` is up on the calling
 * thread (into bad_calls), for the tests that prove a path allocates and locks nothing (test_noalloc,
 * test_plugin_ext). Definitions, not only declarations: include it in one file of a test program. Under a
 * sanitizer, which owns malloc, WRAP is 0 and nothing is wrapped. */
#ifndef MD_TEST_NOALLOC_WRAP_H
#define MD_TEST_NOALLOC_WRAP_H

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WRAP 0
#else
#define WRAP 1
#endif

static _Thread_local volatile int armed; /* volatile: GCC knows malloc reads no globals and would drop the stores */
static atomic_int bad_calls;

#if WRAP
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static int (*real_mutex_lock)(pthread_mutex_t *);

void *malloc(size_t n)
{
	if (armed)
		atomic_fetch_add(&bad_calls, 1);
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (armed)
		atomic_fetch_add(&bad_calls, 1);
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (armed)
		atomic_fetch_add(&bad_calls, 1);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (armed && p)
		atomic_fetch_add(&bad_calls, 1);
	__libc_free(p);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (armed)
		atomic_fetch_add(&bad_calls, 1);
	if (!real_mutex_lock)
		real_mutex_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
	return real_mutex_lock(m);
}
#endif

#endif
