// Name resolution with a 180 s refresh; see resolver.h.
#include "exporters/push/resolver.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/endpoint.h"

namespace bucky3::push {

namespace asio = boost::asio;

std::optional<HostPort> split_host_port(std::string_view text, std::uint16_t default_port) {
  const auto endpoint = parse_endpoint(text);
  if (!endpoint || endpoint->port == 0) return std::nullopt;
  return HostPort{endpoint->host, endpoint->port.value_or(default_port)};
}

std::string format_host_port(const HostPort& hp) {
  return format_endpoint(hp.host, hp.port);
}

std::vector<asio::ip::address> addresses_in_hosts_text(std::string_view text,
                                                       std::string_view name) {
  const auto same_name = [name](std::string_view token) {
    return token.size() == name.size() &&
           std::equal(token.begin(), token.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  };
  std::vector<asio::ip::address> out;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream tokens(line);
    std::string address_text, token;
    if (!(tokens >> address_text)) continue;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(address_text, ec);
    if (ec) continue;
    while (tokens >> token) {
      if (!same_name(token)) continue;
      if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
      break;
    }
  }
  return out;
}

// One lookup in progress; shared with its handler so a cancel() or the
// Resolver's destruction leaves the handler nothing to touch.
struct Resolver::Lookup {
  explicit Lookup(asio::io_context& io) : resolver(io) {}
  asio::ip::tcp::resolver resolver;
  std::vector<Callback> waiting;
  bool cancelled = false;
};

Resolver::Resolver(asio::io_context& io, HostPort target, ResolveOptions options)
    : io_(io), target_(std::move(target)), options_(std::move(options)) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(target_.host, ec);
  if (!ec) {
    numeric_ = true;
    addresses_.push_back(address);
  }
}

Resolver::~Resolver() {
  cancel();
}

bool Resolver::stale() const {
  if (numeric_) return false;
  return addresses_.empty() || std::chrono::steady_clock::now() - resolved_at_ >= options_.refresh;
}

void Resolver::cancel() {
  if (!lookup_) return;
  lookup_->cancelled = true;
  lookup_->resolver.cancel();
  lookup_.reset();
}

void Resolver::get(Callback callback) {
  if (!stale()) {
    callback({}, addresses_);
    return;
  }
  if (lookup_) {
    lookup_->waiting.push_back(std::move(callback));
    return;
  }
  lookup_ = std::make_shared<Lookup>(io_);
  lookup_->waiting.push_back(std::move(callback));
  auto lookup = lookup_;
  if (!options_.hosts_file.empty()) {
    // Posted, as an answer of getaddrinfo would be: get() never calls back from
    // inside itself when it had to look the name up.
    asio::post(io_, [this, lookup] {
      if (lookup->cancelled) return;
      std::ifstream in(options_.hosts_file);
      std::stringstream text;
      text << in.rdbuf();
      auto fresh = addresses_in_hosts_text(text.str(), target_.host);
      const auto ec = fresh.empty() ? asio::error::host_not_found : boost::system::error_code{};
      finish(lookup, ec, std::move(fresh));
    });
    return;
  }
  // Asio runs getaddrinfo on its own internal thread and posts the answer to
  // our loop: a slow DNS server never stalls the loop. No state of ours is
  // touched off the loop.
  lookup->resolver.async_resolve(
      target_.host, std::to_string(target_.port),
      [this, lookup](const boost::system::error_code& ec,
                     asio::ip::tcp::resolver::results_type results) {
        if (lookup->cancelled) return;
        Addresses fresh;
        if (!ec) {
          for (const auto& entry : results) {
            const auto address = entry.endpoint().address();
            if (std::find(fresh.begin(), fresh.end(), address) == fresh.end())
              fresh.push_back(address);
          }
        }
        finish(lookup, ec, std::move(fresh));
      });
}

void Resolver::finish(const std::shared_ptr<Lookup>& lookup, boost::system::error_code ec,
                      Addresses fresh) {
  lookup_.reset();
  if (!ec) {
    if (!fresh.empty()) addresses_ = std::move(fresh);
    resolved_at_ = std::chrono::steady_clock::now();
  }
  const auto error =
      addresses_.empty() ? (ec ? ec : asio::error::host_not_found) : boost::system::error_code{};
  for (auto& waiting : lookup->waiting) waiting(error, addresses_);
}

}  // namespace bucky3::push
