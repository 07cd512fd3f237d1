// Number formatting shared by the models: short, unit-aware, for tables.
#pragma once
#include <QString>

namespace bucky3::inspector {

QString format_bytes(double bytes);       // "812 B", "1.5 KiB", "8.0 MiB"
QString format_rate(double per_second);   // "0", "12.3", "4.5k", "1.2M"
QString format_duration(double seconds);  // "42 s", "5 min 3 s", "2 h 10 min", "3 d 4 h"
QString format_value(double value);       // shortest readable form of a metric value

}  // namespace bucky3::inspector
