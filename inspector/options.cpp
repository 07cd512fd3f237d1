// bucky3-inspector's command line; see options.h.
#include "inspector/options.h"

#include <QCommandLineParser>

namespace bucky3::inspector {

std::optional<Options> parse_options(const QStringList& arguments, QString& message,
                                     int& exit_code) {
  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral(
      "Bucky3 inspector: attaches read-only to a running agent's shared memory (module health, "
      "rings, top talkers, a live metric browser with charts) or opens a .b3dump capture."));
  const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                QStringLiteral("Show this help."));
  const QCommandLineOption version(QStringLiteral("version"), QStringLiteral("Print the version."));
  const QCommandLineOption instance(
      QStringLiteral("instance"), QStringLiteral("Attach to agent instance I (default: default)."),
      QStringLiteral("I"));
  const QCommandLineOption select(
      QStringLiteral("select"),
      QStringLiteral("Plot the series with this label (as shown in the browser; * matches "
                     "anything). Repeatable."),
      QStringLiteral("SERIES"));
  const QCommandLineOption screenshot(
      QStringLiteral("screenshot"),
      QStringLiteral("Save the window as a PNG once the selected series have data "
                     "(or at --quit-after), print what was plotted, and quit."),
      QStringLiteral("FILE"));
  const QCommandLineOption quit_after(QStringLiteral("quit-after"),
                                      QStringLiteral("Quit after SECONDS."),
                                      QStringLiteral("SECONDS"));
  const QCommandLineOption refresh(QStringLiteral("refresh"),
                                   QStringLiteral("Refresh every MS milliseconds (default 1000)."),
                                   QStringLiteral("MS"));
  const QCommandLineOption minutes(QStringLiteral("minutes"),
                                   QStringLiteral("Chart the last N minutes (default 5)."),
                                   QStringLiteral("N"));
  const QCommandLineOption view(QStringLiteral("view"),
                                QStringLiteral("Open on health, metrics or talkers."),
                                QStringLiteral("VIEW"));
  parser.addOptions(
      {help, version, instance, select, screenshot, quit_after, refresh, minutes, view});
  parser.addPositionalArgument(QStringLiteral("FILE"),
                               QStringLiteral("A .b3dump file to open, or - for stdin."),
                               QStringLiteral("[FILE|-]"));
  exit_code = 2;
  if (!parser.parse(arguments)) {
    message = parser.errorText() + QStringLiteral("\n\n") + parser.helpText();
    return std::nullopt;
  }
  if (parser.isSet(help)) {
    message = parser.helpText();
    exit_code = 0;
    return std::nullopt;
  }
  if (parser.isSet(version)) {
    message = QStringLiteral("bucky3-inspector %1\n").arg(QStringLiteral(BUCKY3_VERSION));
    exit_code = 0;
    return std::nullopt;
  }
  Options options;
  if (parser.isSet(instance)) {
    options.instance = parser.value(instance);
    options.instance_given = true;
  }
  options.select = parser.values(select);
  options.screenshot = parser.value(screenshot);
  const auto number = [&](const QCommandLineOption& option, double low, double high, double& out) {
    if (!parser.isSet(option)) return true;
    bool ok = false;
    const double value = parser.value(option).toDouble(&ok);
    if (!ok || value < low || value > high) {
      message = QStringLiteral("--%1 must be a number from %2 to %3, got \"%4\"\n")
                    .arg(option.names().constFirst())
                    .arg(low)
                    .arg(high)
                    .arg(parser.value(option));
      return false;
    }
    out = value;
    return true;
  };
  double refresh_ms = options.refresh_ms, window = options.minutes;
  if (!number(quit_after, 0.1, 1e6, options.quit_after_s) ||
      !number(refresh, 50, 60000, refresh_ms) || !number(minutes, 1, 1440, window))
    return std::nullopt;
  options.refresh_ms = int(refresh_ms);
  options.minutes = int(window);
  options.view = parser.value(view);
  if (!options.view.isEmpty() && options.view != QStringLiteral("health") &&
      options.view != QStringLiteral("metrics") && options.view != QStringLiteral("talkers")) {
    message =
        QStringLiteral("--view must be health, metrics or talkers, got \"%1\"\n").arg(options.view);
    return std::nullopt;
  }
  const auto positional = parser.positionalArguments();
  if (positional.size() > 1) {
    message = QStringLiteral("at most one FILE, got %1\n").arg(positional.size());
    return std::nullopt;
  }
  if (!positional.isEmpty()) options.file = positional.front();
  if (!options.file.isEmpty() && options.instance_given) {
    message = QStringLiteral("give --instance or a FILE, not both\n");
    return std::nullopt;
  }
  exit_code = 0;
  return options;
}

}  // namespace bucky3::inspector
