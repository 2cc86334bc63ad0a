// The Clock interface: code that needs the time asks a Clock, so tests can fix it.
// SystemClock reads the real time; ManualClock returns what the test set. Both are
// thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/date.h"

namespace p4dp {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since 1970-01-01T00:00:00Z.
  virtual int64_t NowMicros() const = 0;
  // A monotonic reading in microseconds, for measuring durations.
  virtual int64_t MonotonicMicros() const = 0;
  // Today's date in UTC.
  Days Today() const { return static_cast<Days>(NowMicros() / 86'400'000'000LL); }
};

Clock& SystemClock();

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_micros) : now_(now_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  int64_t MonotonicMicros() const override { return now_.load(); }
  void AdvanceMicros(int64_t delta) { now_ += delta; }
  void SetMicros(int64_t now) { now_ = now; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace p4dp
