/* mixdesk: the SPSC queue. The writer owns `head`, the reader owns `tail`; each publishes its index with
 * release order after touching the slot, and reads the other's with acquire order. */
#include "engine/spsc.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct md_spsc {
	alignas(64) atomic_size_t head; /* next slot to write */
	alignas(64) atomic_size_t tail; /* next slot to read */
	alignas(64) size_t mask;
	size_t rec;
	unsigned char *buf;
};

struct md_spsc *spsc_new(size_t record_size, size_t min_capacity)
{
	size_t cap = 2;
	while (cap < min_capacity)
		cap <<= 1;
	if (record_size == 0 || cap > SIZE_MAX / record_size)
		return NULL;
	struct md_spsc *q = aligned_alloc(64, sizeof *q);
	if (!q)
		return NULL;
	memset(q, 0, sizeof *q);
	q->buf = calloc(cap, record_size);
	if (!q->buf) {
		free(q);
		return NULL;
	}
	/* touch and lock the pages so the audio thread never faults on them */
	mlock(q->buf, cap * record_size);
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	q->mask = cap - 1;
	q->rec = record_size;
	return q;
}

void spsc_free(struct md_spsc *q)
{
	if (!q)
		return;
	free(q->buf);
	free(q);
}

bool spsc_push(struct md_spsc *q, const void *record)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	if (head - tail > q->mask)
		return false;
	memcpy(q->buf + (head & q->mask) * q->rec, record, q->rec);
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return true;
}

bool spsc_pop(struct md_spsc *q, void *record)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (head == tail)
		return false;
	memcpy(record, q->buf + (tail & q->mask) * q->rec, q->rec);
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return true;
}

size_t spsc_capacity(const struct md_spsc *q)
{
	return q->mask + 1;
}
