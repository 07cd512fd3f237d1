// bucky3-inspector: the Qt desktop inspector. Parses the command line, opens the
// window, and for --screenshot/--quit-after saves the window and says what it plotted.
#include <QApplication>
#include <QCoreApplication>
#include <QIcon>
#include <QScreen>
#include <QTimer>
#include <iostream>
#include <string_view>

#include "inspector/chart_view.h"
#include "inspector/main_window.h"
#include "inspector/options.h"

using namespace bucky3::inspector;

namespace {

// True when the command line asks only for text (help, version): answered
// without a QApplication, which would abort on a host with no display.
bool asks_for_text(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help" || arg == "-?" || arg == "--version") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (asks_for_text(argc, argv)) {
    QCoreApplication core(argc, argv);
    QString message;
    int exit_code = 0;
    if (!parse_options(QCoreApplication::arguments(), message, exit_code)) {
      (exit_code == 0 ? std::cout : std::cerr) << message.toStdString();
      return exit_code;
    }
  }
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("bucky3-inspector"));
  QApplication::setApplicationVersion(QStringLiteral(BUCKY3_VERSION));
  QApplication::setDesktopFileName(QStringLiteral("bucky3-inspector"));
  QIcon icon;
  for (const int size : {16, 32, 48, 64, 128, 256})
    icon.addFile(QStringLiteral(":/icons/bucky3-inspector-%1.png").arg(size));
  QApplication::setWindowIcon(icon);

  QString message;
  int exit_code = 0;
  const auto options = parse_options(QApplication::arguments(), message, exit_code);
  if (!options) {
    (exit_code == 0 ? std::cout : std::cerr) << message.toStdString();
    return exit_code;
  }
  MainWindow window(*options);
  window.show();

  // --screenshot: saved once every plotted series has a few points, or at
  // --quit-after (default 30 s), whichever comes first; then quit.
  const auto finish = [&] {
    int code = 0;
    if (!options->screenshot.isEmpty()) {
      if (!window.grab().save(options->screenshot, "PNG")) {
        std::cerr << "bucky3-inspector: cannot write " << options->screenshot.toStdString() << "\n";
        code = 1;
      } else {
        std::cout << "screenshot " << options->screenshot.toStdString() << ": ";
      }
    }
    std::cout << window.summary().toStdString() << std::endl;
    QApplication::exit(code);
  };
  if (!options->screenshot.isEmpty() && options->quit_after_s == 0) {
    auto* poll = new QTimer(&window);
    QObject::connect(poll, &QTimer::timeout, &window, [&] {
      if (window.selection_has_data(3)) finish();
    });
    poll->start(200);
    QTimer::singleShot(30000, &window, finish);
  }
  if (options->quit_after_s > 0)
    QTimer::singleShot(int(options->quit_after_s * 1000), &window, finish);
  return app.exec();
}
