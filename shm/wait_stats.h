// What DestinationSegment::wait_for_data did on the calling thread: how its waits
// ended. Counting only (no timing), for the lost-wake test in test_ring_threads
// and for bench_ring_dump. Not shared between processes or threads.
#pragma once
#include <cstdint>

namespace bucky3::shm {

struct WaitStats {
  std::uint64_t calls = 0;         // wait_for_data on a read-write segment
  std::uint64_t early = 0;         // a record was there before the sleep (first look or spin)
  std::uint64_t last_look = 0;     // none in the spin, one at the last look after `sleepers = 1`
  std::uint64_t sleeps = 0;        // reached FUTEX_WAIT
  std::uint64_t woken = 0;         // FUTEX_WAIT returned 0: a producer's FUTEX_WAKE
  std::uint64_t word_changed = 0;  // EAGAIN: the doorbell rang between our load and the call
  std::uint64_t interrupted = 0;   // EINTR: a signal
  std::uint64_t timeouts = 0;      // ETIMEDOUT
  // ETIMEDOUT and then a record was there. With the doorbell protocol right,
  // only a record published in the few instructions between the kernel's
  // timeout and our look counts here; a lost wake always does.
  std::uint64_t timeouts_with_data = 0;
};

// The calling thread's counts (thread_local; reset by assigning {}).
WaitStats& thread_wait_stats();

}  // namespace bucky3::shm
