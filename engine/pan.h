/* mixdesk: pan laws for mono sources and balance for stereo ones (gains, not processing). */
#ifndef MD_PAN_H
#define MD_PAN_H

/* Pan law: gains for a mono source at pan -1..+1 with the centre at law_db (0, -3, -4.5, -6). [any] */
void pan_gains(float law_db, float pan, float *l, float *r);
/* Balance for a stereo source, -1..+1: the far side is turned down, the near side stays at unity. [any] */
void pan_balance_gains(float bal, float *l, float *r);

#endif
