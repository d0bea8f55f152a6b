/* mixdesk: the disk streamer's private parts (engine/player.c, the control and audio sides; engine/player_disk.c,
 * the disk thread): the streams' and the player's state and who owns what (see player.c). Not for use outside
 * those two files. */
#ifndef MD_PLAYER_INT_H
#define MD_PLAYER_INT_H

#include "engine/player.h"

#include "engine/model/md.h"

#include <pthread.h>
#include <samplerate.h>
#include <semaphore.h>
#include <sndfile.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <time.h>


#define CHUNK_FRAMES 4096   /* a top-up: 32 KB of a stereo float file, one read() */
#define FIRST_S 0.1         /* a refill's first chunk, published before the rest comes in top-ups */
#define TICK_MAX_NS 5000000 /* the disk thread wakes at least this often when nobody posts */
#define TICK_MIN_NS 1000000
#define RBUF_FRAMES 4096    /* the converter's input per callback */
#define SCRATCH_FRAMES 1024 /* output thrown away per call while a converter is positioned */
/* the best converter's filter reaches 143 input samples either side at the lower of the two rates
 * (coefficients / increment in libsamplerate's src_sinc.c); a repositioned converter starts this much (in
 * output frames, times the ratio when upsampling) before the frame asked for, so that the output there is
 * computed from the same input as a conversion from the file's start */
#define SINC_REACH 192
/* where a refill starts the converter: the output frame, at most this far before the preroll's start, whose
 * input time is closest to a whole input frame (the converter's phase repeats every rate / gcd output frames,
 * so on a shorter grid that is exactly one; otherwise the search stops within 1 / GRID_EPS of an input frame) */
#define GRID_WINDOW 16384
#define GRID_EPS 8192
#define AHEAD_MIN (2 * MD_BLOCK)
#define AHEAD_MAX_S 60.0

struct md_stream {
	/* the hand-over, each side's counter on its own cache line */
	alignas(64) _Atomic int64_t wr; /* timeline frame of the next frame the disk thread writes */
	alignas(64) _Atomic int64_t rd; /* timeline frame of the next frame the audio thread reads */
	/* a locate request: req_seq is odd while the audio thread writes it; its epoch is req_seq / 2 */
	alignas(64) atomic_uint_fast64_t req_seq;
	_Atomic int64_t req_frame;
	_Atomic int64_t req_ns; /* when it was asked for (CLOCK_MONOTONIC), for the refill latency */
	atomic_uint_fast64_t underruns;
	alignas(64) atomic_uint_fast64_t done; /* the epoch the disk thread last refilled for */

	alignas(64) float *ring; /* size frames of nch interleaved floats */
	uint32_t size, mask;
	int nch;
	struct md_player *p;

	/* control side and disk thread, under p->mu */
	int refs; /* control side only */
	bool busy;
	struct md_stream *next;

	/* disk side */
	SNDFILE *sf;
	int64_t frames;   /* the file's length at its own rate */
	int64_t sf_at;    /* the file's read position; -1 when unknown (after an error) */
	SRC_STATE *src;   /* NULL: the file is at the player's rate */
	double ratio;     /* player rate / file rate */
	int64_t grid_out; /* output frames per repeat of the converter's phase */
	int64_t grid_in;  /* input frames per repeat */
	int64_t preroll;  /* output frames a repositioned converter runs before the frame asked for */
	int64_t src_at;   /* timeline frame of the converter's next output */
	bool src_eof;     /* the converter has given all it will: zeros from here */
	float *rbuf, *scratch;
	uint64_t epoch_done; /* the disk thread's copy of `done` */

	/* audio side */
	bool live;                  /* the output is the ring's (fading in while fi < fade) */
	bool pend;                  /* a request is out: the ring is the disk thread's */
	bool starved;               /* ready but behind the data: waiting for top-ups counts underruns */
	uint64_t seq;               /* req_seq as last written */
	int64_t pos;                /* rd while not pending */
	int64_t expect;             /* the frame the next call should give: frame + n rolling, frame stopped */
	uint32_t fi;                /* the fade-in's place, 0..fade: the ring's gain is fi / fade */
	uint32_t tail_len, tail_at; /* the fade-out: its length (fi when it began) and place */
	float *tail;                /* its frames, copied from the ring: fade * nch interleaved */
	bool have_last, last_rolling;
	int64_t last_f;
	uint32_t last_n;
	float last[2][MD_BLOCK]; /* the last call's output, for a second graph reading the same sub-block */
};

struct md_player {
	uint32_t rate;
	int64_t ahead; /* frames each ring is kept filled to */
	uint32_t size; /* ring frames: the power of two >= ahead */
	int64_t chunk; /* frames per top-up */
	int64_t first; /* frames of a refill's first chunk */
	uint32_t fade; /* frames of a fade */
	float inv_fade;
	long tick_ns;
	pthread_t thread;
	sem_t wake;
	pthread_mutex_t mu;
	pthread_cond_t idle; /* a stream's busy flag went down */
	struct md_stream *list;
	atomic_bool quit;
	/* under mu */
	uint64_t refills;
	double worst_refill_s;
	uint64_t gone_underruns; /* of streams already freed */
	atomic_uint_fast64_t cpu_ns;
};

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* the disk thread (player_disk.c) */
void *player_disk_main(void *arg); /* [disk] the thread's body, started by player_new */
/* [disk, or player_open before the stream is listed] the converter's input callback, and k more frames into
 * the ring */
long player_feed(void *data, float **out);
void player_fill(struct md_stream *s, int64_t k);

#endif
