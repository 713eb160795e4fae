#include "search/sqlite.h"

#include "skillrt/sqlite_library.h"

namespace skillrt::sqlite {

Error LastError(sqlite3* db, std::string_view what) {
  int code = db != nullptr ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  std::string message = std::string(what) + ": " + sqlite3_errstr(code);
  if (db != nullptr) message += std::string(" (") + sqlite3_errmsg(db) + ")";
  if (IsCorruption(code)) message += " [SQLITE_CORRUPT]";
  return Error::Make(ErrorCode::kIo, std::move(message));
}

bool IsCorruption(int code) {
  int primary = code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

Result<Db> Open(const std::filesystem::path& path) {
  if (auto loaded = LoadSqlite(); !loaded) return std::unexpected(loaded.error());
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK)
    return std::unexpected(LastError(raw, "sqlite3_open(" + path.string() + ")"));
  sqlite3_extended_result_codes(raw, 1);
  // Another process updating the index holds its lock for the length of one update.
  sqlite3_busy_timeout(raw, 10000);
  return db;
}

Result<void> Exec(sqlite3* db, std::string_view sql) {
  std::string text(sql);
  if (sqlite3_exec(db, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return std::unexpected(LastError(db, text.substr(0, 60)));
  }
  return {};
}

Result<Statement> Statement::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK) {
    return std::unexpected(LastError(db, "prepare " + std::string(sql.substr(0, 60))));
  }
  Statement s(db, raw);
  s.sql_ = std::string(sql.substr(0, 60));
  return s;
}

void Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
}

void Statement::Bind(int index, int64_t value) { sqlite3_bind_int64(stmt_.get(), index, value); }

void Statement::BindBlob(int index, const void* data, size_t bytes) {
  sqlite3_bind_blob(stmt_.get(), index, data, static_cast<int>(bytes), SQLITE_TRANSIENT);
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(LastError(db_, sql_));
}

void Statement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_.get(), column); }

double Statement::Double(int column) const { return sqlite3_column_double(stmt_.get(), column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  int bytes = sqlite3_column_bytes(stmt_.get(), column);
  return text != nullptr ? std::string(reinterpret_cast<const char*>(text), bytes) : std::string();
}

const void* Statement::Blob(int column, size_t* bytes) const {
  const void* data = sqlite3_column_blob(stmt_.get(), column);
  *bytes = static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column));
  return data;
}

}  // namespace skillrt::sqlite
