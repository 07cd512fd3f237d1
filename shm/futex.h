// futex(2) on a word in a shared mapping, without FUTEX_PRIVATE_FLAG so that it
// wakes other processes (std::atomic::wait does not). Internal to shm/.
#pragma once
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>

namespace bucky3::shm::detail {

// Sleeps while *word == expected, at most `timeout`; returns on a wake (0), a
// changed word (EAGAIN, at once), the timeout (ETIMEDOUT) or a signal (EINTR).
// The kernel compares *word with `expected` under the lock of the word's wait
// queue, which FUTEX_WAKE takes too: a wake after the compare finds us queued.
inline int futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::chrono::nanoseconds timeout) {
  timespec relative{};
  relative.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
  relative.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
  const long rc = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected,
                          &relative, nullptr, 0);
  return rc == 0 ? 0 : errno;
}

inline void futex_wake_all(std::atomic<std::uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr, nullptr,
          0);
}

}  // namespace bucky3::shm::detail
