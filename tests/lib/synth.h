/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Synthetic recordings: a stand-in for the tracer that writes, through the
 * recording writer, the records the kernel side would emit for a host with
 * outbound and inbound TCP traffic. It feeds the replay benchmark, the reader's
 * tests and the fuzzing corpus with realistic input without root or a network.
 */
#ifndef TD_SYNTH_H
#define TD_SYNTH_H

#include <stdint.h>
#include <stdio.h>

struct synth_stats {
	uint64_t conns;	  /* connection lives generated (all of them end) */
	uint64_t events;  /* EVENT records */
	uint64_t ticks;	  /* TICK records */
	uint64_t seeds;	  /* SEED records (listeners and older sockets) */
	uint64_t records; /* all records, END included */
	uint64_t end_ns;  /* monotonic time of the END record */
};

/*
 * Write a complete recording of nconns connection lives to f: header, seeded
 * sockets (listeners, two long-lived connections), then events in time order
 * with a TICK every 100 ms, a LOST record, and END. The lives mix active and
 * passive opens over IPv4 and IPv6 and end every way the kernel reports: active
 * close through TIME_WAIT (timewait timer armed, then detached when due 60 s
 * later), passive close through CLOSE_WAIT and LAST_ACK, refused connects,
 * resets, a FIN_WAIT2 hand-off to a timewait socket re-armed into TIME_WAIT,
 * timewait sockets torn down early, and shutdown() then close() (old == new).
 * Socket addresses are reused as the kernel's slabs reuse them. The output
 * depends only on nconns and seed. Memory is proportional to the connections
 * alive at once (about 5,000 per second of simulated time, 60 s of TIME_WAIT),
 * not to nconns. Returns 0 and fills st (may be NULL), or -1 with errno set
 * (ENOMEM or the write's error).
 */
int synth__write(FILE *f, uint64_t nconns, uint64_t seed, struct synth_stats *st);

#endif /* TD_SYNTH_H */
