#include "service/pq_api.h"

#include "skillrt/shared_library.h"

namespace skillrt::service {
namespace {

Result<PqApi> Load() {
  auto library = SharedLibrary::Open("libpq.so.5");
  if (!library) return std::unexpected(library.error());
  PqApi api;
  for (Result<void> found : {
           library->Find("PQclear", &api.PQclear),
           library->Find("PQcmdTuples", &api.PQcmdTuples),
           library->Find("PQconnectdb", &api.PQconnectdb),
           library->Find("PQconsumeInput", &api.PQconsumeInput),
           library->Find("PQerrorMessage", &api.PQerrorMessage),
           library->Find("PQexec", &api.PQexec),
           library->Find("PQexecParams", &api.PQexecParams),
           library->Find("PQfinish", &api.PQfinish),
           library->Find("PQfreemem", &api.PQfreemem),
           library->Find("PQgetisnull", &api.PQgetisnull),
           library->Find("PQgetvalue", &api.PQgetvalue),
           library->Find("PQnotifies", &api.PQnotifies),
           library->Find("PQntuples", &api.PQntuples),
           library->Find("PQreset", &api.PQreset),
           library->Find("PQresultErrorMessage", &api.PQresultErrorMessage),
           library->Find("PQresultStatus", &api.PQresultStatus),
           library->Find("PQsocket", &api.PQsocket),
           library->Find("PQstatus", &api.PQstatus),
       }) {
    if (!found) return std::unexpected(found.error());
  }
  return api;
}

}  // namespace

Result<const PqApi*> LoadPq() {
  static const Result<PqApi>* loaded = new Result<PqApi>(Load());  // Never destroyed.
  if (!*loaded) return std::unexpected(loaded->error());
  return &**loaded;
}

}  // namespace skillrt::service
