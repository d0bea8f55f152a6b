/* mixdesk fuzz targets: one entry per target, shared by the libFuzzer programs (`make fuzz`) and by
 * tests/test_fuzz_corpus.c, which replays every kept input (seeds and past crashes) in `make test`. */
#ifndef MD_FUZZ_H
#define MD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Each returns 0; a bug shows as a crash, a sanitizer report or a failed assertion. */
int fuzz_session(const uint8_t *data, size_t size);
int fuzz_render(const uint8_t *data, size_t size);
int fuzz_osc(const uint8_t *data, size_t size);

/* The libFuzzer entry of one target program: tests/fuzz/fuzz_NAME.c defines it with -DMD_LIBFUZZER. */
#ifdef MD_LIBFUZZER
#define FUZZ_ENTRY(fn)                                                                                                 \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                                  \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                                   \
	{                                                                                                              \
		return fn(data, size);                                                                                 \
	}
#else
#define FUZZ_ENTRY(fn)
#endif

#endif
