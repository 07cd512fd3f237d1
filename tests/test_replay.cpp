// tests/test_replay.cpp — golden replays: every line of tests/data/dumps/replays.txt
// runs `bucky3-ring replay` on a dump captured from a real agent and compares the
// module's output byte for byte; cut and bad dumps and bad arguments.
#include <sys/wait.h>
#include <unistd.h>

#include <QtTest>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/agent.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

std::string ring_binary() {
  return build_dir() + "/bin/bucky3-ring";
}
std::string data_dir() {
  return source_dir() + "/tests/data/dumps";
}

struct Result {
  int exit_code = -1;
  std::string out, err;
  pid_t pid = 0;
};

Result run_ring(const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> argv{ring_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p;
  p.start(argv, dir.path());
  const auto status = p.wait(120s);
  Result r;
  r.pid = p.pid();
  r.out = p.out();
  r.err = p.err();
  if (status && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
  return r;
}

// The first line where two texts differ, for a readable failure.
QString first_difference(const std::string& got, const std::string& want) {
  std::istringstream a(got), b(want);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(a, la));
    const bool hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "same lines, different bytes";
    if (la != lb || ha != hb) {
      return QString("line %1:\n  got:  %2\n  want: %3")
          .arg(line)
          .arg(ha ? QString::fromStdString(la) : "<end>")
          .arg(hb ? QString::fromStdString(lb) : "<end>");
    }
  }
}

struct Case {
  std::string name, dump, config, module, golden;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  std::ifstream in(data_dir() + "/replays.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Case c;
    if (fields >> c.name >> c.dump >> c.config >> c.module >> c.golden) out.push_back(c);
  }
  return out;
}

std::vector<std::string> replay_args(const Case& c, const std::string& dump,
                                     const std::string& output, const std::string& speed = "0") {
  return {"replay",   dump,     "--config", data_dir() + "/" + c.config,
          "--module", c.module, "--speed",  speed,
          "--output", output};
}

bool segments_left(pid_t pid) {
  const std::string prefix = "bucky3.replay_" + std::to_string(pid) + ".";
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    if (entry.path().filename().string().starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

Q_DECLARE_METATYPE(Case)

class TestReplay : public QObject {
  Q_OBJECT
 private slots:
  void golden_data() {
    QTest::addColumn<Case>("c");
    const auto all = cases();
    QVERIFY2(all.size() >= 3, "tests/data/dumps/replays.txt lists the golden replays");
    for (const auto& c : all) QTest::newRow(c.name.c_str()) << c;
  }
  // The module's output equals the golden file, byte for byte.
  void golden() {
    QFETCH(Case, c);
    TempDir dir;
    const auto output = dir.path() + "/output";
    const auto r = run_ring(replay_args(c, data_dir() + "/" + c.dump, output), dir);
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    const auto got = read_file(output);
    const auto want = read_file(data_dir() + "/" + c.golden);
    QVERIFY2(!want.empty(), c.golden.c_str());
    QVERIFY2(
        got == want,
        qPrintable(QString::fromStdString(c.golden) + " differs at " + first_difference(got, want) +
                   "\n(scripts/capture-dumps.sh BUILD --goldens-only regenerates it)"));
    QVERIFY(!segments_left(r.pid));
  }

  // Recorded speed x 20 gives the same bytes as --speed 0: timing never shows.
  void speed_does_not_change_the_output() {
    const auto c = cases().front();
    TempDir dir;
    const auto output = dir.path() + "/output";
    const auto r = run_ring(replay_args(c, data_dir() + "/" + c.dump, output, "20"), dir);
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    QVERIFY(read_file(output) == read_file(data_dir() + "/" + c.golden));
  }

  // `-` reads the dump from a pipe (what `ssh host bucky3-ring dump -o - | ...` gives):
  // the same bytes as the file, and a cut stream says so under the name "stdin".
  void reads_the_dump_from_stdin() {
    const auto c = cases().front();
    TempDir dir;
    const auto output = dir.path() + "/output";
    auto args = replay_args(c, "-", output);
    std::string command = "cat '" + data_dir() + "/" + c.dump + "' | '" + ring_binary() + "'";
    for (const auto& a : args) command += " '" + a + "'";
    std::string out;
    QCOMPARE(run_command({"/bin/sh", "-c", command}, &out, 120s), 0);
    QVERIFY2(read_file(output) == read_file(data_dir() + "/" + c.golden), out.c_str());

    const auto whole = read_file(data_dir() + "/" + c.dump);
    const auto half = dir.write("half.b3dump", whole.substr(0, whole.size() / 2));
    command = "'" + ring_binary() + "'";
    for (const auto& a : args) command += " '" + a + "'";
    command += " < '" + half + "' 2>&1";
    QCOMPARE(run_command({"/bin/sh", "-c", command}, &out, 120s), 1);
    QVERIFY2(out.find("replay: stdin: truncated: cut inside frame") != std::string::npos,
             out.c_str());
  }

  // Without its trailer (cut exactly at a frame boundary) every batch is still
  // replayed, and the exit status says the dump was cut.
  void cut_dumps_replay_what_they_hold() {
    const auto c = cases().front();
    TempDir dir;
    const auto whole = read_file(data_dir() + "/" + c.dump);
    const auto no_trailer = dir.write("no_trailer.b3dump", whole.substr(0, whole.size() - 44));
    const auto output = dir.path() + "/output";
    auto r = run_ring(replay_args(c, no_trailer, output), dir);
    QCOMPARE(r.exit_code, 1);
    QVERIFY2(r.err.find("without its trailer") != std::string::npos, r.err.c_str());
    QVERIFY(read_file(output) == read_file(data_dir() + "/" + c.golden));

    const auto half = dir.write("half.b3dump", whole.substr(0, whole.size() / 2));
    r = run_ring(replay_args(c, half, output), dir);
    QCOMPARE(r.exit_code, 1);
    QVERIFY2(r.err.find("truncated: cut inside frame") != std::string::npos, r.err.c_str());
    const auto got = read_file(output);
    QVERIFY(got.size() < read_file(data_dir() + "/" + c.golden).size());
    QVERIFY(read_file(data_dir() + "/" + c.golden).starts_with(got));
  }

  void refuses_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exit_code");
    QTest::addColumn<QString>("message");
    const auto dump = QString::fromStdString(data_dir() + "/statsd_linux_mix.b3dump");
    const auto config = QString::fromStdString(data_dir() + "/replay.yaml");
    QTest::newRow("no config") << QStringList{"replay", dump, "--module", "out"} << 2
                               << "--config CONFIG";
    QTest::newRow("unknown module")
        << QStringList{"replay", dump, "--config", config, "--module", "nope"} << 2
        << "has no module \"nope\" (destinations: out, text_out, prom, rw, influx_udp, "
           "influx_http, carbon, carbon_tags)";
    QTest::newRow("a source") << QStringList{"replay", dump,       "--config",
                                             config,   "--module", "statsd"}
                              << 2 << "a source";
    QTest::newRow("bad speed") << QStringList{"replay",   dump,  "--config", config,
                                              "--module", "out", "--speed",  "-1"}
                               << 2 << "--speed needs a number >= 0";
    QTest::newRow("not a dump") << QStringList{"replay", config,     "--config",
                                               config,   "--module", "out"}
                                << 1 << "not a .b3dump file";
    QTest::newRow("missing dump") << QStringList{"replay",   "/nonexistent.b3dump",
                                                 "--config", config,
                                                 "--module", "out"}
                                  << 1 << "cannot open /nonexistent.b3dump";
  }
  void refuses() {
    QFETCH(QStringList, args);
    QFETCH(int, exit_code);
    QFETCH(QString, message);
    TempDir dir;
    std::vector<std::string> argv;
    for (const auto& a : args) argv.push_back(a.toStdString());
    const auto r = run_ring(argv, dir);
    QCOMPARE(r.exit_code, exit_code);
    QVERIFY2(QString::fromStdString(r.err).contains(message), r.err.c_str());
  }
};

QTEST_GUILESS_MAIN(TestReplay)
#include "test_replay.moc"
