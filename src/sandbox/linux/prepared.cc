#include "sandbox/linux/prepared.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>

#include "runtime/child_failure.h"

#if SKILLRT_HELD_WAITER
// The waiter's bytes (held_waiter_blob.S).
extern "C" const unsigned char skillrt_held_waiter[];
extern "C" const unsigned char skillrt_held_waiter_end[];

// The waiter writes its execve's failure as this struct, laid out by hand (held_waiter.c).
static_assert(sizeof(skillrt::ChildFailure) == 248 && offsetof(skillrt::ChildFailure, err) == 0 &&
              offsetof(skillrt::ChildFailure, exec) == 4 &&
              offsetof(skillrt::ChildFailure, what) == 5 && sizeof(bool) == 1);
static_assert(skillrt::kChildFailureExit == 127 && skillrt::sandbox::kMaxReleaseBytes == 4096 &&
              skillrt::sandbox::kKeptChannelFd == 4);
#endif

namespace skillrt::prepared {
namespace {

// The bootstrap. Before its release it only initialises the interpreter and imports a few
// small standard-library modules, and only when nothing can shadow them: the script's
// directory holds no file or directory named like a standard-library module, and there is no
// PYTHONPATH. Few, because every module imported is also torn down when the interpreter
// exits, on the run's time. Under the same condition it also reads and compiles the script
// (compiling runs none of it; it may import standard-library codecs), keeping the code with the script's identity (device, inode, size, modification and
// change times) read before and after the read, unless compiling warned (the run compiles it
// again, so that the warnings are its own); what exists then is moved out of the
// collector's way (gc.freeze), so that neither the script's collections nor the exit scan
// it. On its release it closes the control descriptor, takes the run's own value of the
// per-run variable, uses the compiled code if the script's identity is still the same (else
// reads and compiles it then, as before), and runs the script as the interpreter's
// `python3 SCRIPT` would: a fresh `__main__` whose `__file__` is the script's path made absolute by joining it
// to the working directory, `sys.argv` the script and its arguments, `sys.path[0]` the
// script's directory with symbolic links resolved (none with PYTHONSAFEPATH), an uncaught
// exception reported by `sys.excepthook` without the bootstrap's frame, exit status 1 (a
// KeyboardInterrupt ends the process by SIGINT), a script that cannot be opened status 2.
constexpr std::string_view kBootstrap = R"PY(import _imp, _signal, os, sys
def _skillrt_prepared(argv):
    script = argv[0]
    safe = sys.flags.safe_path
    if not safe and sys.path[:1] == ['']:
        del sys.path[0]
    here = os.path.dirname(os.path.realpath(script))
    warm = not os.environ.get('PYTHONPATH')
    names = []
    if warm:
        try:
            names = os.listdir(here)
        except OSError:
            warm = False
    suffixes = ('.py', '.pyc') + tuple(_imp.extension_suffixes())
    for n in names:
        for s in suffixes:
            if n.endswith(s):
                n = n[:-len(s)]
                break
        if n.split('.')[0] in sys.stdlib_module_names:
            warm = False
            break
    if warm:
        for name in ('json', 're', 'math', 'collections', 'functools', 'itertools',
                     'datetime', 'string', 'time'):
            try:
                __import__(name)
            except Exception:
                pass
    path = script if script.startswith('/') else os.getcwd() + '/' + script
    def identity():
        st = os.stat(script)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    ahead = None
    if warm:
        try:
            before = identity()
            with open(script, 'rb') as f:
                source = f.read()
            import warnings
            with warnings.catch_warnings(record=True) as said:
                code = compile(source, path, 'exec', dont_inherit=True)
            if identity() == before and not said:
                ahead = (before, code)
            del source, code, said
        except BaseException:
            ahead = None
    import gc
    gc.freeze()
    try:
        message = os.read(4, 65536)
    except OSError:
        message = b''
    if message[:1] != b'r':
        os._exit(125)
    os.close(4)
    for entry in message[1:].split(b'\0'):
        if entry:
            name, _, value = entry.partition(b'=')
            os.environb[name] = value
    sys.argv = list(argv)
    sys.orig_argv = sys.orig_argv[:1] + list(argv)
    if not safe:
        sys.path.insert(0, here)
    code = None
    if ahead is not None:
        try:
            if identity() == ahead[0]:
                code = ahead[1]
        except OSError:
            pass
    del ahead
    if code is None:
        try:
            with open(script, 'rb') as f:
                source = f.read()
        except OSError as e:
            sys.stderr.write(f"{sys.orig_argv[0]}: can't open file {path!r}: "
                             f"[Errno {e.errno}] {e.strerror}\n")
            sys.exit(2)
    main = type(sys)('__main__')
    main.__file__ = path
    main.__cached__ = None
    main.__builtins__ = sys.modules['builtins']
    main.__loader__ = sys.modules['_frozen_importlib_external'].SourceFileLoader('__main__', path)
    sys.modules['__main__'] = main
    if code is None:
        try:
            code = compile(source, path, 'exec', dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            sys.excepthook(type(e), e.with_traceback(None), None)
            sys.exit(1)
        del source
    del message
    try:
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except BaseException as e:
        tb = e.__traceback__.tb_next
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        if isinstance(e, KeyboardInterrupt):
            sys.stdout.flush()
            _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
            os.kill(os.getpid(), _signal.SIGINT)
        sys.exit(1)
_skillrt_prepared(sys.argv[1:])
)PY";

// Appends `bytes` with its length first, so that no two different sequences of fields
// serialise alike.
void Field(std::string* out, const void* bytes, size_t n) {
  const uint64_t len = n;
  out->append(reinterpret_cast<const char*>(&len), sizeof(len));
  out->append(static_cast<const char*>(bytes), n);
}

template <typename T>
void Value(std::string* out, const T& value) {
  Field(out, &value, sizeof(value));
}

void Str(std::string* out, const char* s) {
  if (s == nullptr) {
    Value(out, uint8_t{0});
    return;
  }
  Value(out, uint8_t{1});
  Field(out, s, std::strlen(s));
}

bool IsPythonName(std::string_view name) {
  if (name == "python3") return true;
  if (!name.starts_with("python3.") || name.size() == 8) return false;
  return std::all_of(name.begin() + 8, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string_view BootstrapSource() { return kBootstrap; }

bool Eligible(const Plan& plan) {
  if (plan.tree_sha256.empty() || plan.network || plan.argv.empty()) return false;
  for (const BindMount& m : plan.mounts) {
    if (m.workspace) return false;
  }
  return true;
}

bool RunsPythonScript(const Plan& plan, std::string_view exe) {
  if (plan.argv.size() < 2) return false;
  if (!exe.starts_with("/") || !IsPythonName(std::filesystem::path(exe).filename().string())) {
    return false;
  }
  const std::string& script = plan.argv[1];
  if (script.empty() || script[0] == '-' || !script.ends_with(".py")) return false;
  for (const std::string& entry : plan.env) {
    if (entry.starts_with("PYTHONINSPECT=") && entry.size() > 14) return false;
  }
  return true;
}

std::vector<std::string> BootstrapArgv(const std::vector<std::string>& argv) {
  std::vector<std::string> out = {argv.at(0), "-c", std::string(kBootstrap)};
  out.insert(out.end(), argv.begin() + 1, argv.end());
  return out;
}

std::string KeyOf(const sandbox::ChildSpec& spec, const cgroup::CgroupLimits& limits,
                  bool use_cgroup, std::string_view tree_sha256) {
  std::string key;
  key.reserve(16 << 10);
  Field(&key, tree_sha256.data(), tree_sha256.size());
  Value(&key, use_cgroup);
  Value(&key, limits.memory_max_bytes);
  Value(&key, limits.pids_max);
  Value(&key, limits.cpu_quota_percent);
  Value(&key, spec.root.source_count);
  for (size_t i = 0; i < spec.root.source_count; ++i) {
    const mount::Source& s = spec.root.sources[i];
    Str(&key, s.path);
    Value(&key, s.pinned);
    Value(&key, s.handed);
    Value(&key, s.device);
    Value(&key, s.inode);
  }
  Value(&key, spec.root.op_count);
  for (size_t i = 0; i < spec.root.op_count; ++i) {
    const mount::Op& op = spec.root.ops[i];
    Value(&key, op.kind);
    Str(&key, op.path);
    Str(&key, op.arg);
    Value(&key, op.source);
    Value(&key, op.source_is_dir);
    Value(&key, op.recursive);
    Value(&key, op.attr_set);
  }
  Value(&key, spec.rlimit_count);
  for (size_t i = 0; i < spec.rlimit_count; ++i) {
    Value(&key, spec.rlimits[i].resource);
    Value(&key, static_cast<uint64_t>(spec.rlimits[i].value.rlim_cur));
    Value(&key, static_cast<uint64_t>(spec.rlimits[i].value.rlim_max));
  }
  Value(&key, spec.landlock != nullptr);
  if (spec.landlock != nullptr) {
    const landlock::RulesetView& l = *spec.landlock;
    Value(&key, l.abi);
    Value(&key, l.handled_fs);
    Value(&key, l.handled_net);
    Value(&key, l.scoped);
    Value(&key, l.rule_count);
    for (size_t i = 0; i < l.rule_count; ++i) {
      Str(&key, l.rules[i].path);
      Value(&key, l.rules[i].access);
      Value(&key, l.rules[i].optional);
      Value(&key, l.rules[i].exact);
    }
  }
  Field(&key, spec.seccomp, spec.seccomp_count * sizeof(sock_filter));
  Str(&key, spec.exec_path);
  Str(&key, spec.cwd);
  for (char* const* a = spec.argv; a != nullptr && *a != nullptr; ++a) Str(&key, *a);
  Value(&key, uint8_t{0xff});
  const std::string per_run = std::string(kPerRunVariable) + "=";
  for (char* const* e = spec.envp; e != nullptr && *e != nullptr; ++e) {
    Str(&key, std::string_view(*e).starts_with(per_run) ? per_run.c_str() : *e);
  }
  Value(&key, uint8_t{0xff});
  Value(&key, spec.proxy_port);
  Value(&key, spec.keep_channel);
  Value(&key, spec.hold_for_release);
  return key;
}

std::string ReleaseMessage(const std::vector<std::string>& env) {
  std::string message = "r";
  const std::string per_run = std::string(kPerRunVariable) + "=";
  for (const std::string& entry : env) {
    if (entry.starts_with(per_run)) message += entry + '\0';
  }
  return message;
}

UniqueFd MakeHeldWaiter() {
#if SKILLRT_HELD_WAITER
  // MFD_EXEC (Linux 6.3): executable even where vm.memfd_noexec makes memfds non-executable
  // by default; an older kernel refuses the flag, and its memfds are executable.
  constexpr unsigned kMfdExec = 0x10U;
  constexpr unsigned kFlags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  UniqueFd fd(::memfd_create("skillrt-held-waiter", kFlags | kMfdExec));
  if (!fd && errno == EINVAL) fd.Reset(::memfd_create("skillrt-held-waiter", kFlags));
  if (!fd) return {};
  const size_t size = static_cast<size_t>(skillrt_held_waiter_end - skillrt_held_waiter);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd.get(), skillrt_held_waiter + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    done += static_cast<size_t>(n);
  }
  // Nothing can change it from here on: not this process, not a sandbox that holds it.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return {};
  }
  return fd;
#else
  return {};
#endif
}

bool Release(int pidfd, int channel_fd, std::string_view message) {
  if (message.size() > sandbox::kMaxReleaseBytes) return false;
  // A process that exited makes its pidfd readable; neither a bootstrap nor a held sandbox
  // writes anything before its release, so a readable or hung-up channel means it is gone or
  // going.
  struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN, .revents = 0},
                        {.fd = channel_fd, .events = POLLIN, .revents = 0}};
  int ready;
  do {
    ready = ::poll(p, 2, 0);
  } while (ready < 0 && errno == EINTR);
  if (ready != 0) return false;
  ssize_t sent;
  do {
    sent = ::send(channel_fd, message.data(), message.size(), MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  return sent == static_cast<ssize_t>(message.size());
}

std::optional<sandbox::SandboxProcess> PreparedSet::Take(const std::string& key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      sandbox::SandboxProcess process = std::move(it->second);
      entries_.erase(it);
      return process;
    }
  }
  return std::nullopt;
}

bool PreparedSet::Holds(const std::string& key) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const auto& entry) { return entry.first == key; });
}

std::vector<sandbox::SandboxProcess> PreparedSet::Put(std::string key,
                                                      sandbox::SandboxProcess process) {
  std::vector<sandbox::SandboxProcess> gone;
  if (std::optional<sandbox::SandboxProcess> old = Take(key)) gone.push_back(std::move(*old));
  entries_.emplace_front(std::move(key), std::move(process));
  while (entries_.size() > capacity_) {
    gone.push_back(std::move(entries_.back().second));
    entries_.pop_back();
  }
  return gone;
}

std::vector<sandbox::SandboxProcess> PreparedSet::TakeAll() {
  std::vector<sandbox::SandboxProcess> all;
  for (auto& entry : entries_) all.push_back(std::move(entry.second));
  entries_.clear();
  return all;
}

}  // namespace skillrt::prepared
