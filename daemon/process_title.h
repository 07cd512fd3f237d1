// Process titles: `ps aux` shows "bucky3: <module>" and `ps -e` its 15-byte comm.
#pragma once
#include <string_view>

namespace bucky3::daemon {

// Call once from main() with its argv before anything reads environ; moves the
// environment out of the way so the argv area can hold a longer title.
void init_process_title(int argc, char** argv);

// Rewrites argv (ps -o args) and comm (PR_SET_NAME, cut to 15 bytes).
void set_process_title(std::string_view title);

}  // namespace bucky3::daemon
