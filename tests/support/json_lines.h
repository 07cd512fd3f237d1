// Test support: debug_output's JSON Lines, keyed "<bucket> k=v k=v" (tags sorted),
// so a test can look a metric up by what it is.
#pragma once
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>
#include <map>
#include <string>

namespace bucky3::test {

// Tags named in `ignored_tags` (e.g. a global host tag) are left out of the key.
inline std::map<QString, QJsonObject> json_lines_by_key(const std::string& out,
                                                        const QStringList& ignored_tags = {}) {
  std::map<QString, QJsonObject> result;
  for (const auto& line : QByteArray::fromStdString(out).split('\n')) {
    const auto doc = QJsonDocument::fromJson(line);
    if (!doc.isObject()) continue;
    const auto obj = doc.object();
    QString key = obj["bucket"].toString();
    const auto meta = obj["metadata"].toObject();
    for (const auto& k : meta.keys()) {
      if (ignored_tags.contains(k)) continue;
      key += " " + k + "=" + meta[k].toString();
    }
    result[key] = obj;
  }
  return result;
}

}  // namespace bucky3::test
