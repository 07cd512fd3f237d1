// bucky3-inspector's command line, parsed apart from the window so tests can check it.
#pragma once
#include <QString>
#include <QStringList>
#include <optional>

namespace bucky3::inspector {

struct Options {
  QString instance = QStringLiteral("default");
  bool instance_given = false;
  QString file;             // a .b3dump path, "-" for stdin, empty for live
  QStringList select;       // series patterns to plot
  QString screenshot;       // save the window there, then quit
  double quit_after_s = 0;  // 0: run until closed
  int refresh_ms = 1000;
  int minutes = 5;  // the chart's time window
  QString view;     // health | metrics | talkers; empty: metrics with --select, else health
};

// Parses argv (argv[0] included). On error or --help/--version, `message` is
// set and nullopt returned; `exit_code` says 0 (help, version) or 2 (bad arguments).
std::optional<Options> parse_options(const QStringList& arguments, QString& message,
                                     int& exit_code);

}  // namespace bucky3::inspector
