// exporters/remote_write/options.h — what remote_write_client's keys mean beyond
// their generic kinds (headers, basic_auth, bearer_token), checked at config load.
#pragma once

namespace bucky3::config {
struct ModuleConfig;
}

namespace bucky3::remote_write {

// The module's check hook (daemon/modules.cpp): refuses header names that are
// not HTTP tokens or that the protocol sets itself, header values with line
// breaks, basic_auth without a username or with keys other than username and
// password, and basic_auth together with bearer_token. Throws config::ConfigError
// at the offending node.
void check_remote_write_client(const config::ModuleConfig& module);

}  // namespace bucky3::remote_write
