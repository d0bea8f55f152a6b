/* mixdesk: a lock-free single-producer/single-consumer queue of fixed-size records.
 * Power-of-two capacity, C11 acquire/release on the two indices, no locks. Creating and freeing it is
 * set-up work [control]; push and pop are wait-free and safe on the audio thread [rt], each side from
 * one thread only. */
#ifndef MD_SPSC_H
#define MD_SPSC_H

#include <stdbool.h>
#include <stddef.h>

struct md_spsc;

struct md_spsc *spsc_new(size_t record_size, size_t min_capacity); /* [control] */
void spsc_free(struct md_spsc *q);                                 /* [control] */
bool spsc_push(struct md_spsc *q, const void *record);             /* [any] false when full */
bool spsc_pop(struct md_spsc *q, void *record);                    /* [any] false when empty */
size_t spsc_capacity(const struct md_spsc *q);                     /* [any] */

#endif
