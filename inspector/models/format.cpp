// Number formatting for the inspector's tables; see format.h.
#include "inspector/models/format.h"

#include <cmath>

namespace bucky3::inspector {

QString format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (std::abs(bytes) >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? QStringLiteral("%1 B").arg(qint64(bytes))
                   : QStringLiteral("%1 %2").arg(bytes, 0, 'f', 1).arg(units[unit]);
}

QString format_rate(double per_second) {
  if (per_second == 0) return QStringLiteral("0");
  if (std::abs(per_second) >= 1e6) return QStringLiteral("%1M").arg(per_second / 1e6, 0, 'f', 1);
  if (std::abs(per_second) >= 1e3) return QStringLiteral("%1k").arg(per_second / 1e3, 0, 'f', 1);
  if (std::abs(per_second) >= 10) return QString::number(qint64(std::round(per_second)));
  return QString::number(per_second, 'f', 1);
}

QString format_duration(double seconds) {
  const auto s = qint64(seconds);
  if (s < 60)
    return QStringLiteral("%1 s").arg(seconds < 10 ? QString::number(seconds, 'f', 1)
                                                   : QString::number(s));
  if (s < 3600) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
  if (s < 86400) return QStringLiteral("%1 h %2 min").arg(s / 3600).arg(s % 3600 / 60);
  return QStringLiteral("%1 d %2 h").arg(s / 86400).arg(s % 86400 / 3600);
}

QString format_value(double value) {
  if (std::isnan(value)) return QStringLiteral("NaN");
  if (std::isinf(value)) return value > 0 ? QStringLiteral("+Inf") : QStringLiteral("-Inf");
  return QString::number(value, 'g', 10);
}

}  // namespace bucky3::inspector
