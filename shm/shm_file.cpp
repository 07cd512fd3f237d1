// Creating and opening /dev/shm files; see shm_file.h.
#include "shm/shm_file.h"

#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "shm/layout.h"

// Linux 5.14 uapi values, for C libraries older than glibc 2.35.
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace bucky3::shm::detail {

namespace bip = boost::interprocess;

void check_name_part(std::string_view what, std::string_view part) {
  if (part.empty() || part.size() >= name_bytes || part.find('/') != std::string_view::npos ||
      part.find('\0') != std::string_view::npos) {
    throw ShmError(std::string(what) + " \"" + std::string(part) +
                   "\" must be 1 to 63 bytes without '/'");
  }
}

namespace {

gid_t lookup_group(const std::string& name, const std::string& group) {
  std::vector<char> buffer(16384);
  struct group entry {};
  struct group* found = nullptr;
  const int rc = getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0 || found == nullptr) {
    throw ShmError(name + ": shm_group \"" + group + "\" is not a group on this host");
  }
  return found->gr_gid;
}

}  // namespace

bip::mapped_region create_mapping(const std::string& name, std::size_t bytes,
                                  const std::optional<std::string>& group) {
  const gid_t gid = group ? lookup_group(name, *group) : gid_t(-1);
  bip::shared_memory_object::remove(name.c_str());
  try {
    // Boost applies the mode with fchmod, so the umask does not narrow it.
    bip::permissions mode(group ? 0640 : 0600);
    bip::shared_memory_object file(bip::create_only, name.c_str(), bip::read_write, mode);
    if (group && fchown(file.get_mapping_handle().handle, uid_t(-1), gid) != 0) {
      const int error = errno;
      bip::shared_memory_object::remove(name.c_str());
      throw ShmError(name + ": cannot give it group \"" + *group + "\": " + std::strerror(error));
    }
    file.truncate(static_cast<bip::offset_t>(bytes));
    return bip::mapped_region(file, bip::read_write);
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(name.c_str());
    throw ShmError(name + ": cannot create: " + e.what());
  }
}

bip::mapped_region open_mapping(const std::string& name, Access access) {
  try {
    const auto mode = access == Access::read_only ? bip::read_only : bip::read_write;
    bip::shared_memory_object file(bip::open_only, name.c_str(), mode);
    bip::offset_t size = 0;
    if (!file.get_size(size) || size <= 0) {
      throw ShmError("/dev/shm/" + name + " is empty: not a Bucky3 segment");
    }
    return bip::mapped_region(file, mode);
  } catch (const bip::interprocess_exception& e) {
    throw ShmError("/dev/shm/" + name + ": cannot open: " + e.what());
  }
}

void check_prefix(const std::string& name, const bip::mapped_region& region, std::uint64_t magic,
                  std::uint32_t layout_version, std::string_view what,
                  std::size_t min_header_bytes) {
  const std::string file = "/dev/shm/" + name;
  if (region.get_size() < sizeof(SegmentPrefix)) {
    throw ShmError(file + " is " + std::to_string(region.get_size()) + " bytes: not a Bucky3 " +
                   std::string(what));
  }
  const auto* prefix = static_cast<const SegmentPrefix*>(region.get_address());
  // acquire: pairs with the creator's release store of magic; the rest of the
  // header is initialised before it.
  const auto found = prefix->magic.load(std::memory_order_acquire);
  if (found != magic) {
    if (found == 0) throw ShmError(file + " is not initialised yet (still being created?)");
    if (found == destination_magic || found == health_magic) {
      throw ShmError(file + " is a " +
                     (found == health_magic ? "health block" : "destination segment") + ", not a " +
                     std::string(what));
    }
    throw ShmError(file + " is not a Bucky3 " + std::string(what) + " (bad magic number)");
  }
  if (prefix->layout_version != layout_version) {
    throw ShmError(file + ": layout version " + std::to_string(prefix->layout_version) +
                   ", this build reads " + std::to_string(layout_version));
  }
  if (prefix->total_bytes != region.get_size() || prefix->header_bytes < min_header_bytes ||
      prefix->header_bytes > prefix->total_bytes) {
    throw ShmError(file + " is truncated or damaged: " + std::to_string(region.get_size()) +
                   " bytes, its header says " + std::to_string(prefix->total_bytes));
  }
}

void remove_file(const std::string& name) {
  bip::shared_memory_object::remove(name.c_str());
}

void populate(const std::byte* begin, std::size_t bytes, Populate how, std::string_view what) {
  // Whole pages inside the range only: the partial pages at either end belong
  // to a neighbour (header, another ring) and fault in when used.
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<std::uintptr_t>(begin) + page - 1) / page * page;
  const auto last = (reinterpret_cast<std::uintptr_t>(begin) + bytes) / page * page;
  if (last <= first) return;
  const int advice = how == Populate::write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
  if (madvise(reinterpret_cast<void*>(first), last - first, advice) == 0) return;
  const int error = errno;
  // EINVAL: a kernel before 5.14; the pages fault in as they are reached, as before.
  if (error == EINVAL) return;
  log::warning(what, ": cannot fault in its ", (last - first) >> 10,
               " KiB of shared memory now: ", std::strerror(error),
               "; writing them later may fail (is /dev/shm full?)");
}

}  // namespace bucky3::shm::detail
