// The libpq functions the PostgreSQL job store calls, taken from libpq.so.5 when a store is
// first opened (skillrt/shared_library.h). libpq and the libraries it brings (Kerberos, LDAP,
// SASL, GnuTLS and theirs, about twenty) are then loaded only by a service that uses
// PostgreSQL, not by every command. The functions are libpq's own (libpq-fe.h; PostgreSQL
// documentation, chapter "libpq - C Library").
#ifndef SKILLRT_SERVICE_PQ_API_H_
#define SKILLRT_SERVICE_PQ_API_H_

#include <libpq-fe.h>

#include "skillrt/error.h"

namespace skillrt::service {

/// One pointer per libpq function used, named as the function.
struct PqApi {
  decltype(&::PQclear) PQclear = nullptr;
  decltype(&::PQcmdTuples) PQcmdTuples = nullptr;
  decltype(&::PQconnectdb) PQconnectdb = nullptr;
  decltype(&::PQconsumeInput) PQconsumeInput = nullptr;
  decltype(&::PQerrorMessage) PQerrorMessage = nullptr;
  decltype(&::PQexec) PQexec = nullptr;
  decltype(&::PQexecParams) PQexecParams = nullptr;
  decltype(&::PQfinish) PQfinish = nullptr;
  decltype(&::PQfreemem) PQfreemem = nullptr;
  decltype(&::PQgetisnull) PQgetisnull = nullptr;
  decltype(&::PQgetvalue) PQgetvalue = nullptr;
  decltype(&::PQnotifies) PQnotifies = nullptr;
  decltype(&::PQntuples) PQntuples = nullptr;
  decltype(&::PQreset) PQreset = nullptr;
  decltype(&::PQresultErrorMessage) PQresultErrorMessage = nullptr;
  decltype(&::PQresultStatus) PQresultStatus = nullptr;
  decltype(&::PQsocket) PQsocket = nullptr;
  decltype(&::PQstatus) PQstatus = nullptr;
};

/// Loads libpq.so.5 the first time it is called; later calls return the same table.
/// kUnsupported when the library or one of the functions cannot be found (every later call
/// returns the same error). Thread-safe; the table lives as long as the process.
Result<const PqApi*> LoadPq();

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_PQ_API_H_
