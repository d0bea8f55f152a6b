/* mixdesk: the live console's disk streaming of the strips' source files. One disk thread per player reads
 * every stream's file ahead of the JACK transport into a ring per stream; the audio thread takes its
 * sub-blocks out of the ring, never waiting, locking, allocating or touching a file.
 *
 * The hand-over is a lock-free single-producer/single-consumer ring per stream (the disk thread writes, the
 * audio thread reads): a power of two of interleaved frames, at least ahead_s * rate, whose two counters are
 * timeline frames (the next frame to write, the next to read), published with release and read with acquire
 * order, so a ring slot's frame is implicit and a frame before 0 or after the file's end is just a zero the
 * disk thread wrote. A locate is a request the audio thread publishes (a seqlock of the frame asked for and
 * when) and an epoch the disk thread answers with once it has refilled from there; the audio thread leaves
 * the ring alone in between. How it goes, step by step:
 *   1. player_read finds a frame that is not the next one (or a stop): it copies the few frames its
 *      fade-out needs from the ring (the data it already has), stops reading the ring, publishes the
 *      request and posts the disk thread's semaphore. A locate forward to a frame the ring already holds
 *      needs no request: the fade-out plays, then it fades in there.
 *   2. The disk thread, woken, serves requests before top-ups: it resets both counters to the frame asked
 *      for, seeks (for a resampled file: the converter is reset and started further back, far enough for
 *      its filter, at a frame where its phase is the one a conversion from the file's start has there, so
 *      the output is that conversion's: exactly, where the phase repeats within 16384 output frames, as it
 *      does for every common pair of rates, else within 1/8192 of an input frame), fills a first chunk
 *      (0.1 s) and publishes the epoch. player_ready turns true.
 *   3. The audio thread, its fade-out over and the epoch there, skips to where the transport is now (the
 *      transport moved on meanwhile) and fades in. Later than the first chunk reaches, it counts underruns
 *      and waits for the disk thread's top-ups to pass the transport; farther than the ring reaches, it asks
 *      again.
 * The disk thread also wakes every few ms and tops up the stream with the least data ahead, 4096 frames at a
 * time, until every ring holds ahead_s. Streams join and leave its list under a mutex that only the control
 * side and the disk thread take, the latter just long enough to choose the next stream to serve (which it
 * marks busy: a stream being freed waits until the thread has let go of it).
 *
 * Fades are linear over MD_PLAYER_FADE_MS: out at a stop or a locate, in when the data is there. Going live at
 * a frame <= 0 needs no fade (what comes before is the timeline's own silence), so playing from the top, or
 * from before it, equals the file exactly, as the offline render plays it. Rolling through consecutive
 * frames with data there, the output is the file's samples bit for bit.
 *
 * A stream's file must have the strip's channel count: a mono file on a stereo strip is refused, as the
 * offline render refuses it, so live and render never differ. */
#ifndef MD_PLAYER_H
#define MD_PLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_PLAYER_FADE_MS 5.0f /* fade out at a stop or a locate, fade in when the new data is there */

struct md_player;
struct md_stream;

struct md_player_stats {
	uint64_t underruns;    /* sub-blocks that found too little data while rolling, ready (counted, silence given) */
	uint64_t refills;      /* refills after a locate (or the first start) */
	double worst_refill_s; /* the longest time from a locate's request to its data being ready */
	double disk_cpu_s;     /* CPU time the disk thread has used (CLOCK_THREAD_CPUTIME_ID) */
	int streams;           /* streams open */
};

/* The disk thread and the streams it feeds, for an engine at `rate` Hz, reading `ahead_s` seconds ahead
 * (e.g. 2.0). NULL without memory or thread. [control] */
struct md_player *player_new(uint32_t rate, double ahead_s);
/* Stop the thread and free everything (no stream may be in use by an audio thread any more). [control] */
void player_free(struct md_player *p);
/* A stream of the file at `path` for a strip of nch (1 or 2) channels, its memory made and touched here, its
 * first `ahead_s` (the ring) filled from file frame 0 before it returns (so playing from the start needs no
 * refill). The file must have nch channels (a mono file on a stereo strip is refused, as the render refuses
 * it); at another sample rate it is resampled to the player's rate by libsamplerate
 * (SRC_SINC_BEST_QUALITY), off the audio thread. NULL with err set ("what, where, what was expected": the file
 * missing, not a sound file, wrong channel count, ...) otherwise. One reference. [control] */
struct md_stream *player_open(struct md_player *p, const char *path, int nch, char *err, size_t errlen);
void player_ref(struct md_stream *s);   /* [control] */
void player_unref(struct md_stream *s); /* [control] the last reference removes it from the disk thread and frees it */
/* The stream's n frames (n <= MD_BLOCK) at file frame `frame` (frames before 0 and after the file's end are
 * silence) while the transport rolls, written into out[0..nch) (overwritten). Called once per sub-block by the
 * audio thread with consecutive frames while rolling; a frame that is not the one expected is a locate: the
 * stream fades out what it was playing (MD_PLAYER_FADE_MS, from the data it already has), is silent until the
 * disk thread has refilled from the new position (the transport moves on meanwhile: it catches up, skipping
 * what it is late by), then fades in. Not rolling: it fades out and is silent; rolling again at the frame it
 * stopped at needs no refill. The same frame and n twice in a row (two graphs crossfading both read it)
 * gives the same output again without consuming. Too little data while rolling and ready: silence for what is
 * missing and an underrun counted. Never blocks, allocates, locks or does I/O. [rt]
 * While not rolling, `frame` is where the transport stands (the same every sub-block); a new frame there is a
 * locate while stopped, refilled at once so that rolling from it needs no wait. The fade-out after a stop
 * advances per call (the transport gives nothing else to count by), so two graphs reading a stopped stream
 * end it sooner (a repeat is recognised while rolling only). n > MD_BLOCK gives silence. */
void player_read(struct md_stream *s, int64_t frame, bool rolling, float *const out[2], uint32_t n);
/* Whether the data for the last position asked for is there (false while a refill runs). [any] */
bool player_ready(const struct md_stream *s);
void player_stats(struct md_player *p, struct md_player_stats *st); /* [control] */

#endif
