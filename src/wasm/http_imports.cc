#include "wasm/http_imports.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "net/egress_policy.h"
#include "wasm/call_state.h"
#include "util/utf8.h"
#include "wasm/wasmtime_util.h"

namespace skillrt::wasm {
namespace {

constexpr std::string_view kModule = "skillrt_http";

int32_t CodeOf(net::HttpFailure failure) {
  switch (failure) {
    case net::HttpFailure::kInvalid: return kHttpInvalid;
    case net::HttpFailure::kDenied: return kHttpDenied;
    case net::HttpFailure::kFailed: return kHttpFailed;
    case net::HttpFailure::kTimeout: return kHttpTimeout;
    case net::HttpFailure::kTooLarge: return kHttpTooLarge;
  }
  return kHttpFailed;
}

// The guest's exported memory, bounds-checked access to it, and the call's state.
class Guest {
 public:
  explicit Guest(wasmtime_caller_t* caller) {
    wasmtime_extern_t memory;
    context_ = wasmtime_caller_context(caller);
    state_ = static_cast<CallState*>(wasmtime_context_get_data(context_));
    if (wasmtime_caller_export_get(caller, "memory", 6, &memory) &&
        memory.kind == WASMTIME_EXTERN_MEMORY) {
      data_ = wasmtime_memory_data(context_, &memory.of.memory);
      size_ = wasmtime_memory_data_size(context_, &memory.of.memory);
    }
  }

  CallState* state() const { return state_; }
  GuestHttp* http() const { return state_ != nullptr ? state_->http : nullptr; }

  // The `len` bytes at `ptr`, or nullptr when they leave memory.
  uint8_t* At(uint32_t ptr, uint32_t len) const {
    if (data_ == nullptr || ptr > size_ || len > size_ - ptr) return nullptr;
    return data_ + ptr;
  }
  std::optional<std::string> Text(uint32_t ptr, uint32_t len) const {
    const uint8_t* at = At(ptr, len);
    if (at == nullptr) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(at), len);
  }

 private:
  wasmtime_context_t* context_ = nullptr;
  CallState* state_ = nullptr;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

wasm_trap_t* Return(wasmtime_val_t* results, int32_t value) {
  results[0].kind = WASMTIME_I32;
  results[0].of.i32 = value;
  return nullptr;
}

uint32_t Arg(const wasmtime_val_t* args, size_t i) { return static_cast<uint32_t>(args[i].of.i32); }

int32_t Fail(const Guest& guest, int32_t code, std::string message) {
  if (GuestHttp* http = guest.http()) http->set_last_error(std::move(message));
  return code;
}

// One "Name: value" header line split at its colon, the value without surrounding blanks;
// nullopt when the line has no colon.
std::optional<std::pair<std::string_view, std::string_view>> SplitHeaderLine(
    std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view value = line.substr(colon + 1);
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && blank(value.front())) value.remove_prefix(1);
  while (!value.empty() && blank(value.back())) value.remove_suffix(1);
  return std::pair{line.substr(0, colon), value};
}

// Calls `each` with every non-empty line of `text`: lines end at "\n", a "\r" before it
// dropped. Stops early when `each` returns false.
template <typename F>
void ForEachLine(std::string_view text, F each) {
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && !each(line)) return;
  }
}

// A guest's header text: "Name: value" lines; nullopt (with `problem`) for a line without ':'.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseHeaderLines(
    std::string_view text, std::string* problem) {
  std::vector<std::pair<std::string, std::string>> headers;
  bool ok = true;
  ForEachLine(text, [&](std::string_view line) {
    auto split = SplitHeaderLine(line);
    if (!split) {
      *problem = "header line without ':': \"" + std::string(line.substr(0, 64)) + "\"";
      ok = false;
      return false;
    }
    headers.emplace_back(std::string(split->first), std::string(split->second));
    return true;
  });
  if (!ok) return std::nullopt;
  return headers;
}

wasm_trap_t* Send(void*, wasmtime_caller_t* caller, const wasmtime_val_t* args, size_t,
                  wasmtime_val_t* results, size_t) {
  Guest guest(caller);
  GuestHttp* http = guest.http();
  if (http == nullptr) {
    constexpr std::string_view kMessage = "skillrt_http used outside a skillrt call";
    return wasmtime_trap_new(kMessage.data(), kMessage.size());
  }
  // What the guest wrote before the request reaches those who watch the run while it waits.
  guest.state()->DrainOutput();
  std::optional<std::string> method = guest.Text(Arg(args, 0), Arg(args, 1));
  std::optional<std::string> url = guest.Text(Arg(args, 2), Arg(args, 3));
  std::optional<std::string> header_text = guest.Text(Arg(args, 4), Arg(args, 5));
  std::optional<std::string> body = guest.Text(Arg(args, 6), Arg(args, 7));
  const uint32_t response_at = Arg(args, 8);
  if (!method || !url || !header_text || !body || guest.At(response_at, 16) == nullptr) {
    return Return(results, Fail(guest, kHttpFault, "a pointer and length leave guest memory"));
  }
  std::string problem;
  auto headers = ParseHeaderLines(*header_text, &problem);
  if (!headers) return Return(results, Fail(guest, kHttpInvalid, problem));

  net::HttpRequest request{.method = std::move(*method),
                           .url = std::move(*url),
                           .headers = std::move(*headers),
                           .body = std::move(*body)};
  std::variant<uint32_t, int32_t> sent = http->Send(request, guest.state()->deadline);
  if (const int32_t* code = std::get_if<int32_t>(&sent)) {
    if (*code == kHttpTimeout && std::chrono::steady_clock::now() >= guest.state()->deadline) {
      guest.state()->timed_out = true;
      constexpr std::string_view kMessage = "wall-clock limit reached during an HTTP request";
      return wasmtime_trap_new(kMessage.data(), kMessage.size());
    }
    return Return(results, *code);
  }
  const uint32_t handle = std::get<uint32_t>(sent);
  const GuestHttp::Response* response = http->Find(handle);
  // Nothing ran in the guest since the checks above, so its memory has not moved or shrunk.
  uint8_t* out = guest.At(response_at, 16);
  const uint32_t fields[4] = {handle, static_cast<uint32_t>(response->response.status),
                              static_cast<uint32_t>(response->response.headers.size()),
                              static_cast<uint32_t>(response->response.body.size())};
  std::memcpy(out, fields, sizeof fields);  // WebAssembly and x86-64 are both little-endian.
  return Return(results, 0);
}

// Copies up to `len` bytes of `source` from `offset` to guest memory; the count or an error.
int32_t CopyOut(const Guest& guest, std::string_view source, size_t offset, uint32_t ptr,
                uint32_t len) {
  const size_t n = std::min<size_t>({len, source.size() - std::min(offset, source.size()),
                                     static_cast<size_t>(INT32_MAX)});
  uint8_t* out = guest.At(ptr, static_cast<uint32_t>(n));
  if (out == nullptr) return Fail(guest, kHttpFault, "a pointer and length leave guest memory");
  std::memcpy(out, source.data() + offset, n);
  return static_cast<int32_t>(n);
}

wasm_trap_t* ReadHeaders(void*, wasmtime_caller_t* caller, const wasmtime_val_t* args, size_t,
                         wasmtime_val_t* results, size_t) {
  Guest guest(caller);
  GuestHttp* http = guest.http();
  GuestHttp::Response* response = http != nullptr ? http->Find(Arg(args, 0)) : nullptr;
  if (response == nullptr) return Return(results, Fail(guest, kHttpBadHandle, "no such response"));
  return Return(results,
                CopyOut(guest, response->response.headers, 0, Arg(args, 1), Arg(args, 2)));
}

wasm_trap_t* ReadBody(void*, wasmtime_caller_t* caller, const wasmtime_val_t* args, size_t,
                      wasmtime_val_t* results, size_t) {
  Guest guest(caller);
  GuestHttp* http = guest.http();
  GuestHttp::Response* response = http != nullptr ? http->Find(Arg(args, 0)) : nullptr;
  if (response == nullptr) return Return(results, Fail(guest, kHttpBadHandle, "no such response"));
  const int32_t n =
      CopyOut(guest, response->response.body, response->body_read, Arg(args, 1), Arg(args, 2));
  if (n > 0) response->body_read += static_cast<size_t>(n);
  return Return(results, n);
}

wasm_trap_t* Close(void*, wasmtime_caller_t* caller, const wasmtime_val_t* args, size_t,
                   wasmtime_val_t* results, size_t) {
  Guest guest(caller);
  GuestHttp* http = guest.http();
  if (http == nullptr || !http->Close(Arg(args, 0))) {
    return Return(results, Fail(guest, kHttpBadHandle, "no such response"));
  }
  return Return(results, 0);
}

wasm_trap_t* LastError(void*, wasmtime_caller_t* caller, const wasmtime_val_t* args, size_t,
                       wasmtime_val_t* results, size_t) {
  Guest guest(caller);
  GuestHttp* http = guest.http();
  const std::string message = http != nullptr ? http->last_error() : std::string();
  const int32_t copied = CopyOut(guest, message, 0, Arg(args, 0), Arg(args, 1));
  if (copied < 0) return Return(results, copied);
  return Return(results, static_cast<int32_t>(std::min<size_t>(message.size(), INT32_MAX)));
}

Result<void> Define(wasmtime_linker_t* linker, std::string_view name, size_t params,
                    wasmtime_func_callback_t callback) {
  std::vector<wasm_valtype_t*> param_types;
  for (size_t i = 0; i < params; ++i) param_types.push_back(wasm_valtype_new_i32());
  wasm_valtype_t* result_types[1] = {wasm_valtype_new_i32()};
  wasm_valtype_vec_t param_vec;
  wasm_valtype_vec_t result_vec;
  wasm_valtype_vec_new(&param_vec, param_types.size(), param_types.data());
  wasm_valtype_vec_new(&result_vec, 1, result_types);
  wasm_functype_t* type = wasm_functype_new(&param_vec, &result_vec);
  ErrorPtr error(wasmtime_linker_define_func(linker, kModule.data(), kModule.size(), name.data(),
                                             name.size(), type, callback, nullptr, nullptr));
  wasm_functype_delete(type);
  if (error) {
    return skillrt::Fail(ErrorCode::kInternal, std::string(kModule) + "." + std::string(name) +
                                                   ": " + ErrorMessage(error.get()));
  }
  return {};
}

// --- The component interface ---------------------------------------------------------------

constexpr std::string_view kComponentInterface = "skillrt:skill/http@0.1.0";

std::string_view NameOf(const wasm_name_t& name) { return {name.data, name.size}; }

// The field `name` of a record value, or nullptr.
const wasmtime_component_val_t* Field(const wasmtime_component_val_t& record,
                                      std::string_view name) {
  if (record.kind != WASMTIME_COMPONENT_RECORD) return nullptr;
  for (size_t i = 0; i < record.of.record.size; ++i) {
    if (NameOf(record.of.record.data[i].name) == name) return &record.of.record.data[i].val;
  }
  return nullptr;
}

std::optional<std::string> AsString(const wasmtime_component_val_t* value) {
  if (value == nullptr || value->kind != WASMTIME_COMPONENT_STRING) return std::nullopt;
  return std::string(NameOf(value->of.string));
}

// Values handed to Wasmtime are built with its own allocation functions: it drops them.
wasmtime_component_val_t StringValue(std::string_view text) {
  wasmtime_component_val_t value;
  value.kind = WASMTIME_COMPONENT_STRING;
  wasm_byte_vec_new(&value.of.string, text.size(), text.data());
  return value;
}

// "Name: value\r\n" lines (a response head, as EgressHttpClient keeps it) as
// list<tuple<string, string>>.
wasmtime_component_val_t HeadersValue(std::string_view lines) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  ForEachLine(lines, [&pairs](std::string_view line) {
    if (auto split = SplitHeaderLine(line)) pairs.push_back(*split);
    return true;
  });
  wasmtime_component_val_t value;
  value.kind = WASMTIME_COMPONENT_LIST;
  wasmtime_component_vallist_new_uninit(&value.of.list, pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    wasmtime_component_val_t& tuple = value.of.list.data[i];
    tuple.kind = WASMTIME_COMPONENT_TUPLE;
    wasmtime_component_valtuple_new_uninit(&tuple.of.tuple, 2);
    tuple.of.tuple.data[0] = StringValue(pairs[i].first);
    tuple.of.tuple.data[1] = StringValue(pairs[i].second);
  }
  return value;
}

wasmtime_component_val_t RecordValue(
    std::initializer_list<std::pair<std::string_view, wasmtime_component_val_t>> fields) {
  wasmtime_component_val_t value;
  value.kind = WASMTIME_COMPONENT_RECORD;
  wasmtime_component_valrecord_new_uninit(&value.of.record, fields.size());
  size_t i = 0;
  for (const auto& [name, field] : fields) {
    wasm_byte_vec_new(&value.of.record.data[i].name, name.size(), name.data());
    value.of.record.data[i].val = field;  // Moved: the caller built it for this record.
    ++i;
  }
  return value;
}

std::string_view KindName(net::HttpFailure failure) {
  switch (failure) {
    case net::HttpFailure::kInvalid: return "invalid";
    case net::HttpFailure::kDenied: return "denied";
    case net::HttpFailure::kFailed: return "failed";
    case net::HttpFailure::kTimeout: return "timeout";
    case net::HttpFailure::kTooLarge: return "too-large";
  }
  return "failed";
}

// Every value a guest sends is a string: Wasmtime lifts a string as its bytes, where a list
// becomes one value per element (tens of bytes each), which would let a guest make the host
// allocate many times its own memory.
std::optional<std::string> StringField(const wasmtime_component_val_t& record,
                                       std::string_view name) {
  return AsString(Field(record, name));
}

wasmtime_error_t* ComponentSend(void*, wasmtime_context_t* context,
                                const wasmtime_component_func_type_t*,
                                wasmtime_component_val_t* args, size_t nargs,
                                wasmtime_component_val_t* results, size_t nresults) {
  auto* state = static_cast<CallState*>(wasmtime_context_get_data(context));
  if (state == nullptr || state->http == nullptr || nargs != 1 || nresults != 1) {
    return wasmtime_error_new("skillrt:skill/http used outside a skillrt call");
  }
  // What the guest wrote before the request reaches those who watch the run while it waits.
  state->DrainOutput();
  // result::err(error { kind, message }), `kind` one of the WIT enum's case names.
  auto reply_error = [&](std::string_view kind, std::string_view message) {
    wasmtime_component_val_t kind_value;
    kind_value.kind = WASMTIME_COMPONENT_ENUM;
    wasm_byte_vec_new(&kind_value.of.enumeration, kind.size(), kind.data());
    wasmtime_component_val_t error =
        RecordValue({{"kind", kind_value}, {"message", StringValue(message)}});
    results[0].kind = WASMTIME_COMPONENT_RESULT;
    results[0].of.result.is_ok = false;
    results[0].of.result.val = wasmtime_component_val_new(&error);
    return nullptr;
  };
  const wasmtime_component_val_t& request = args[0];
  auto method = StringField(request, "method");
  auto url = StringField(request, "url");
  auto header_text = StringField(request, "headers");
  auto body = StringField(request, "body");
  if (!method || !url || !header_text || !body) {
    return reply_error("invalid", "the request does not have the WIT shape");
  }
  std::string problem;
  auto headers = ParseHeaderLines(*header_text, &problem);
  if (!headers) return reply_error("invalid", problem);
  auto response = state->http->Fetch(net::HttpRequest{.method = std::move(*method),
                                                      .url = std::move(*url),
                                                      .headers = std::move(*headers),
                                                      .body = std::move(*body)},
                                     state->deadline);
  if (!response) {
    if (response.error().kind == net::HttpFailure::kTimeout &&
        std::chrono::steady_clock::now() >= state->deadline) {
      state->timed_out = true;
      return wasmtime_error_new("wall-clock limit reached during an HTTP request");
    }
    return reply_error(KindName(response.error().kind), response.error().message);
  }
  if (!IsWellFormedUtf8(response->body)) {
    return reply_error("not-text", "the response body (" + std::to_string(response->body.size()) +
                                       " bytes, status " + std::to_string(response->status) +
                                       ") is not UTF-8 text");
  }
  wasmtime_component_val_t status;
  status.kind = WASMTIME_COMPONENT_U16;
  status.of.u16 = static_cast<uint16_t>(response->status);
  wasmtime_component_val_t ok = RecordValue({{"status", status},
                                             {"headers", HeadersValue(response->headers)},
                                             {"body", StringValue(response->body)}});
  results[0].kind = WASMTIME_COMPONENT_RESULT;
  results[0].of.result.is_ok = true;
  results[0].of.result.val = wasmtime_component_val_new(&ok);
  return nullptr;
}

}  // namespace

GuestHttp::GuestHttp(std::vector<EgressRule> rules, std::shared_ptr<const net::Resolver> resolver,
                     net::EgressHttpClientOptions options, uint64_t max_held_bytes)
    : rules_(std::move(rules)),
      resolver_(std::move(resolver)),
      options_(std::move(options)),
      max_held_bytes_(max_held_bytes) {}

GuestHttp::~GuestHttp() = default;

std::variant<uint32_t, int32_t> GuestHttp::Send(const net::HttpRequest& request,
                                                std::chrono::steady_clock::time_point deadline) {
  if (responses_.size() >= kMaxOpenResponses) {
    last_error_ = "more than " + std::to_string(kMaxOpenResponses) +
                  " responses open at once; close one first";
    return kHttpLimit;
  }
  auto response = Fetch(request, deadline);
  if (!response) {
    last_error_ = response.error().message;
    return CodeOf(response.error().kind);
  }
  const uint32_t handle = next_handle_++;
  held_bytes_ += response->body.size() + response->headers.size();
  responses_.emplace(handle, Response{.response = std::move(*response)});
  return handle;
}

std::expected<net::HttpResponse, net::HttpError> GuestHttp::Fetch(
    const net::HttpRequest& request, std::chrono::steady_clock::time_point deadline) {
  if (!client_) {
    Result<net::EgressPolicy> policy = net::EgressPolicy::Create(rules_);
    if (!policy) return std::unexpected(net::HttpError{net::HttpFailure::kFailed, policy.error().message});
    client_ = std::make_unique<net::EgressHttpClient>(std::move(*policy), resolver_, options_);
  }
  const uint64_t budget = max_held_bytes_ - std::min(held_bytes_, max_held_bytes_);
  auto response = client_->Send(request, deadline, budget);
  if (!response && rules_.empty() && response.error().kind == net::HttpFailure::kDenied) {
    response.error().message += " (the skill's manifest declares no [capabilities.network])";
  }
  return response;
}

GuestHttp::Response* GuestHttp::Find(uint32_t handle) {
  auto it = responses_.find(handle);
  return it == responses_.end() ? nullptr : &it->second;
}

bool GuestHttp::Close(uint32_t handle) {
  auto it = responses_.find(handle);
  if (it == responses_.end()) return false;
  held_bytes_ -= std::min<uint64_t>(
      held_bytes_, it->second.response.body.size() + it->second.response.headers.size());
  responses_.erase(it);
  return true;
}

std::vector<EgressRecord> GuestHttp::TakeRecords() {
  return client_ ? client_->TakeRecords() : std::vector<EgressRecord>{};
}

Result<void> DefineComponentHttpImports(wasmtime_component_linker_t* linker) {
  wasmtime_component_linker_instance_t* root = wasmtime_component_linker_root(linker);
  wasmtime_component_linker_instance_t* instance = nullptr;
  ErrorPtr error(wasmtime_component_linker_instance_add_instance(
      root, kComponentInterface.data(), kComponentInterface.size(), &instance));
  if (!error) {
    error.reset(wasmtime_component_linker_instance_add_func(instance, "send", 4, ComponentSend,
                                                            nullptr, nullptr));
    wasmtime_component_linker_instance_delete(instance);
  }
  wasmtime_component_linker_instance_delete(root);
  if (error) {
    return skillrt::Fail(ErrorCode::kInternal, std::string(kComponentInterface) + ": " +
                                                   ErrorMessage(error.get()));
  }
  return {};
}

Result<void> DefineHttpImports(wasmtime_linker_t* linker) {
  struct Function {
    std::string_view name;
    size_t params;
    wasmtime_func_callback_t callback;
  };
  for (const Function& f : {Function{"send", 9, Send}, Function{"read_headers", 3, ReadHeaders},
                            Function{"read_body", 3, ReadBody}, Function{"close", 1, Close},
                            Function{"last_error", 2, LastError}}) {
    if (auto defined = Define(linker, f.name, f.params, f.callback); !defined) return defined;
  }
  return {};
}

}  // namespace skillrt::wasm
