// Small owners for SQLite handles and statements (https://sqlite.org/c3ref/intro.html), used
// by the search index. SQLite errors become kIo Errors quoting the statement's purpose and
// sqlite3_errmsg(); IsCorruption() tells the codes that mean the file is damaged.
#ifndef SKILLRT_SEARCH_SQLITE_H_
#define SKILLRT_SEARCH_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "skillrt/error.h"

namespace skillrt::sqlite {

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbDeleter>;

/// An error for `what` from the last failure on `db`; the message carries SQLite's code name
/// ("SQLITE_CORRUPT") so that callers and users can tell damage from other failures.
Error LastError(sqlite3* db, std::string_view what);

/// True for the result codes that mean the file is not a usable database.
bool IsCorruption(int code);

/// Opens (creating) `path` read-write. kIo on failure.
Result<Db> Open(const std::filesystem::path& path);

/// Runs `sql` (one or more statements without results). kIo naming `sql` on failure.
Result<void> Exec(sqlite3* db, std::string_view sql);

/// A prepared statement; Step() returns true while a row is available.
class Statement {
 public:
  static Result<Statement> Prepare(sqlite3* db, std::string_view sql);
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  /// Binds by 1-based index. Text and blobs are copied (SQLITE_TRANSIENT).
  void Bind(int index, std::string_view text);
  void Bind(int index, int64_t value);
  void BindBlob(int index, const void* data, size_t bytes);

  /// true: a row is ready; false: done. kIo (or corruption, see LastError) on failure.
  Result<bool> Step();
  /// Resets for another execution, clearing bindings.
  void Reset();

  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;
  /// The blob's bytes (valid until the next Step/Reset), and its size in `bytes`.
  const void* Blob(int column, size_t* bytes) const;

 private:
  struct Deleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;  // Borrowed: the statement's connection outlives it.
  std::unique_ptr<sqlite3_stmt, Deleter> stmt_;
  std::string sql_;
};

}  // namespace skillrt::sqlite

#endif  // SKILLRT_SEARCH_SQLITE_H_
