// Test-only access to a destination segment's raw layout, for tests that fake
// what a crashed producer leaves behind or watch the doorbell. Not for the agent.
#pragma once
#include "shm/layout.h"
#include "shm/segment.h"

namespace bucky3::shm {

struct SegmentTestAccess {
  static RingHeader& ring_header(const DestinationSegment& segment, std::size_t ring) {
    return segment.ring_header(ring);
  }
  static std::byte* ring_data(const DestinationSegment& segment, std::size_t ring) {
    return segment.ring_data(ring);
  }
  static SegmentLayout& layout(const DestinationSegment& segment) { return segment.layout(); }
};

}  // namespace bucky3::shm
