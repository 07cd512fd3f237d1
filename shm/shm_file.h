// Creating and opening one /dev/shm file with Boost.Interprocess; internal to shm/.
#pragma once
#include <boost/interprocess/mapped_region.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shm/segment.h"

namespace bucky3::shm::detail {

// Throws ShmError unless `part` is a usable name piece (1-63 bytes, no '/', no NUL).
void check_name_part(std::string_view what, std::string_view part);

// Removes any file of that name, creates it with `bytes` zero bytes, mode 0600
// (0640 and the group's gid when `group` is set) and maps it read-write.
boost::interprocess::mapped_region create_mapping(const std::string& name, std::size_t bytes,
                                                  const std::optional<std::string>& group);

// Maps an existing file; throws ShmError naming it when it cannot.
boost::interprocess::mapped_region open_mapping(const std::string& name, Access access);

// Checks what every segment starts with; throws ShmError naming the file and
// what is wrong. `what` is "destination segment" or "health block".
void check_prefix(const std::string& name, const boost::interprocess::mapped_region& region,
                  std::uint64_t magic, std::uint32_t layout_version, std::string_view what,
                  std::size_t min_header_bytes);

void remove_file(const std::string& name);

// Faults in every whole page of [begin, begin + bytes) of a shared mapping
// (MADV_POPULATE_WRITE or _READ, Linux 5.14+), without reading or writing a byte
// of it. A ring's pages then count in the process's RSS from the start instead of
// one by one as records first reach them, so RSS is flat from the first minute.
// Best effort: on an older kernel nothing happens; when /dev/shm cannot hold the
// pages a warning naming `what` is logged (writing them later would SIGBUS).
enum class Populate { read, write };
void populate(const std::byte* begin, std::size_t bytes, Populate how, std::string_view what);

}  // namespace bucky3::shm::detail
