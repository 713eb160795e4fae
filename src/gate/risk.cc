// The risk table: every rule the guard applies to a simple command, with its level and the
// reason shown to the user. docs/risk-guard.md lists the same table.
#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gate/path_reading.h"
#include "gate/risk_view.h"
#include "gate/shell_parse.h"
#include "gate/wrappers.h"
#include "skillrt/risk.h"

namespace skillrt {
namespace {

using shell::BaseName;

using path_reading::Danger;
using path_reading::Mode;
using risk::Match;
using risk::View;

// --- Paths -------------------------------------------------------------------------------

// Lexically normalised: repeated slashes and "." removed, ".." resolved, no trailing slash.
std::string Normalize(std::string_view path) {
  if (path.empty()) return {};
  const bool absolute = path[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  return out.empty() ? "." : out;
}

// A device other than the harmless ones (null, zero, the standard streams, the terminal).
bool IsDevice(std::string_view path) {
  std::string p = Normalize(path);
  if (!p.starts_with("/dev/")) return false;
  static constexpr std::array<std::string_view, 8> kHarmless = {
      "/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty",
      "/dev/random", "/dev/urandom"};
  if (std::find(kHarmless.begin(), kHarmless.end(), p) != kHarmless.end()) return false;
  if (p.starts_with("/dev/fd/") || p.starts_with("/dev/shm/")) return false;
  if (p.starts_with("/dev/tcp/") || p.starts_with("/dev/udp/")) return false;  // Own rule.
  return true;
}

bool IsShellRc(std::string_view path) {
  static constexpr std::array<std::string_view, 16> kRc = {
      ".bashrc",  ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc",
      ".zshenv",  ".zprofile",     ".zlogin",     ".zlogout",     ".kshrc",   ".cshrc",
      ".tcshrc",  ".mkshrc",       ".inputrc",    "config.fish"};
  std::string p = Normalize(path);
  std::string_view base = BaseName(p);
  if (std::find(kRc.begin(), kRc.end(), base) != kRc.end()) return true;
  return p == "/etc/profile" || p == "/etc/bash.bashrc" || p == "/etc/environment" ||
         p.starts_with("/etc/profile.d/") || p.starts_with("/etc/zsh/");
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// --- Matchers ------------------------------------------------------------------------------
// Each returns the detail to show (a path, an option) when the rule matches. The removal
// rules are in risk_removal.cc.

std::optional<std::string> FirstWrite(const View& v, bool (*pred)(std::string_view)) {
  for (const std::string& t : v.WriteTargets()) {
    if (pred(t)) return t;
  }
  return std::nullopt;
}

std::optional<std::string> PrivilegeEscalation(const View& v) {
  if (v.Is({"sudo", "su", "doas", "pkexec", "run0", "sudoedit"})) return std::string(v.name());
  return std::nullopt;
}

std::optional<std::string> DiskFormat(const View& v) {
  if (v.name().starts_with("mkfs") ||
      v.Is({"mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk", "cfdisk", "parted", "sgdisk",
            "gdisk", "blkdiscard"})) {
    return std::string(v.name());
  }
  return std::nullopt;
}

std::optional<std::string> WriteDevice(const View& v) { return FirstWrite(v, IsDevice); }

std::optional<std::string> ReverseShell(const View& v) {
  for (const Redirection& r : v.cmd().redirections) {
    if (r.target.starts_with("/dev/tcp/") || r.target.starts_with("/dev/udp/")) return r.target;
  }
  if (v.Is({"nc", "ncat", "netcat"}) && (v.Flag('e') || v.Flag('c'))) return "-e";
  return std::nullopt;
}

// A shell or interpreter that reads its program from standard input.
bool ReadsCodeFromStdin(const SimpleCommand& cmd) {
  if (cmd.argv.empty()) return false;
  shell::ScriptSource source = shell::SourceOf(cmd);
  if (source != shell::ScriptSource::kNotAShell) return source == shell::ScriptSource::kStdin;
  std::string_view name = BaseName(cmd.argv[0]);
  bool interpreter = name.starts_with("python") || name == "perl" || name == "ruby" ||
                     name == "node" || name == "php" || name == "lua";
  if (!interpreter) return false;
  for (size_t i = 1; i < cmd.argv.size(); ++i) {
    const std::string& a = cmd.argv[i];
    if (a == "-") return true;
    if (a == "-c" || a == "-e" || a == "-E" || a == "-r" || a == "-m") return false;
    if (!a.starts_with("-")) return false;  // A script file.
  }
  return true;
}

// The earlier stage of this command's pipeline that `pred` accepts.
std::optional<std::string> EarlierStage(const View& v, bool (*pred)(const SimpleCommand&)) {
  const SimpleCommand& cmd = v.cmd();
  if (cmd.pipeline < 0 || cmd.stage == 0 || !ReadsCodeFromStdin(cmd)) return std::nullopt;
  for (const SimpleCommand& other : v.parsed().commands) {
    if (other.pipeline == cmd.pipeline && other.stage < cmd.stage && pred(other)) {
      return other.argv.empty() ? std::string() : other.argv[0];
    }
  }
  return std::nullopt;
}

bool IsDownloader(const SimpleCommand& c) {
  if (c.argv.empty()) return false;
  std::string_view n = BaseName(c.argv[0]);
  return n == "curl" || n == "wget" || n == "fetch" || n == "aria2c" || n == "http" ||
         n == "lwp-request" || n == "ftp" || n == "tftp";
}

bool IsDecoder(const SimpleCommand& c) {
  if (c.argv.empty()) return false;
  std::string_view n = BaseName(c.argv[0]);
  auto has = [&](std::initializer_list<std::string_view> flags) {
    for (size_t i = 1; i < c.argv.size(); ++i) {
      for (std::string_view f : flags) {
        if (c.argv[i] == f) return true;
      }
    }
    return false;
  };
  if (n == "base64" || n == "base32" || n == "basenc") return has({"-d", "--decode", "-D"});
  if (n == "xxd") return has({"-r", "-revert"});
  if (n == "openssl") return has({"-d", "base64", "enc"});
  return n == "uudecode" || n == "rev" || n == "zcat" || n == "gunzip" ||
         (n == "gzip" && has({"-d", "--decompress"})) || (n == "tr" && c.argv.size() > 1);
}

std::optional<std::string> DownloadToShell(const View& v) {
  return EarlierStage(v, IsDownloader);
}

std::optional<std::string> DecodeToShell(const View& v) { return EarlierStage(v, IsDecoder); }

// Shells have their own rule (shell-script-unseen); this one is for other interpreters.
std::optional<std::string> PipeToShell(const View& v) {
  if (!v.cmd().argv.empty() && shell::IsShell(v.cmd().argv[0])) return std::nullopt;
  return EarlierStage(v, [](const SimpleCommand&) { return true; });
}

std::optional<std::string> ChmodSystem(const View& v) {
  if (!v.Is({"chmod", "chown", "chgrp", "chattr", "setfacl"})) return std::nullopt;
  std::vector<std::string> operands = v.Operands();
  // The first operand of chmod/chown/chgrp is the mode or owner, unless given by --reference.
  size_t first = (v.Is({"chattr", "setfacl"}) || v.Flag('\0', "--reference")) ? 0 : 1;
  for (size_t i = first; i < operands.size(); ++i) {
    if (v.Read(operands[i], Mode::kLiteral).danger != Danger::kNone) return operands[i];
  }
  return std::nullopt;
}

std::optional<std::string> ChmodMode(const View& v, bool setuid) {
  if (!v.Is({"chmod"})) return std::nullopt;
  for (const std::string& a : v.Args()) {
    std::string_view mode = a;
    bool octal = !mode.empty() && mode.find_first_not_of("01234567") == std::string_view::npos;
    if (setuid) {
      if (octal && mode.size() == 4 && (mode[0] - '0') & 6) return a;
      if (!octal && mode.find_first_of("+=") != std::string_view::npos &&
          mode.find('s', mode.find_first_of("+=")) != std::string_view::npos) {
        return a;
      }
    } else {
      if (octal && mode.size() >= 3 && ((mode.back() - '0') & 2)) return a;
      size_t op = mode.find_first_of("+=");
      if (!octal && op != std::string_view::npos && !mode.starts_with("-") &&
          mode.find('w', op) != std::string_view::npos &&
          (op == 0 || mode.substr(0, op).find_first_of("ao") != std::string_view::npos)) {
        return a;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> ChmodSetuid(const View& v) { return ChmodMode(v, true); }
std::optional<std::string> ChmodWorldWritable(const View& v) { return ChmodMode(v, false); }

std::optional<std::string> WriteShellRc(const View& v) { return FirstWrite(v, IsShellRc); }

std::optional<std::string> WriteGitHooks(const View& v) {
  if (v.Is({"git"}) && v.HasArg("core.hooksPath")) return "core.hooksPath";
  return FirstWrite(v, [](std::string_view p) {
    std::string n = Normalize(p);
    return Contains(n, ".git/hooks/") || n.ends_with(".git/hooks");
  });
}

std::optional<std::string> WriteLoginFiles(const View& v) {
  return FirstWrite(v, [](std::string_view p) {
    std::string n = Normalize(p);
    return Contains(n, ".ssh/") || n.starts_with("/etc/sudoers") || n == "/etc/passwd" ||
           n == "/etc/shadow" || n == "/etc/group" || n == "/etc/gshadow";
  });
}

std::optional<std::string> WriteCron(const View& v) {
  if (v.Is({"crontab"}) && !v.Flag('l')) return "crontab";
  return FirstWrite(v, [](std::string_view p) {
    std::string n = Normalize(p);
    return n.starts_with("/etc/cron") || n.starts_with("/var/spool/cron") ||
           n.starts_with("/etc/systemd/") || Contains(n, ".config/systemd/user") ||
           Contains(n, ".config/autostart");
  });
}

std::optional<std::string> WriteSystem(const View& v) {
  for (const std::string& target : v.WriteTargets()) {
    // Devices have their own rule; /dev/null and the like are harmless.
    if (v.Read(target, Mode::kLiteral).danger == Danger::kSystem &&
        !Normalize(target).starts_with("/dev/")) {
      return target;
    }
  }
  return std::nullopt;
}

std::optional<std::string> ForkBomb(const View& v) {
  if (v.cmd().argv.empty()) return std::nullopt;
  const std::string marker = "function " + v.cmd().argv[0];
  const std::string& ctx = v.cmd().context;
  size_t at = ctx.find(marker);
  while (at != std::string::npos) {
    size_t end = at + marker.size();
    if (end == ctx.size() || ctx.compare(end, 3, " > ") == 0) return v.cmd().argv[0];
    at = ctx.find(marker, at + 1);
  }
  return std::nullopt;
}

std::optional<std::string> KillAll(const View& v) {
  if (!v.Is({"kill"})) return std::nullopt;
  std::vector<std::string> args = v.Args();
  size_t i = 0;
  if (i < args.size() && (args[i] == "-s" || args[i] == "-n")) {
    i += 2;
  } else if (i < args.size() && args[i].size() > 1 && args[i][0] == '-' && args[i] != "--") {
    ++i;  // The signal.
  }
  for (; i < args.size(); ++i) {
    if (args[i] == "-1" || args[i] == "1") return args[i];
  }
  return std::nullopt;
}

std::optional<std::string> Power(const View& v) {
  if (v.Is({"shutdown", "reboot", "halt", "poweroff", "telinit", "kexec"})) {
    return std::string(v.name());
  }
  if (v.Is({"init"}) && (v.HasArg("0") || v.HasArg("6"))) return "init";
  if (v.Is({"systemctl", "loginctl"})) {
    for (std::string_view verb : {"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate",
                                  "rescue", "emergency"}) {
      if (v.HasArg(verb)) return std::string(verb);
    }
  }
  return std::nullopt;
}

std::optional<std::string> HistoryErase(const View& v) {
  if (v.Is({"history"}) && (v.Flag('c') || v.Flag('d') || v.Flag('w'))) return "history";
  for (const std::string& a : v.cmd().assignments) {
    if (a == "HISTSIZE=0" || a == "HISTFILESIZE=0" || a.starts_with("HISTFILE=")) return a;
  }
  if (v.Is({"unset", "export"})) {
    for (const std::string& a : v.Args()) {
      if (a == "HISTFILE" || a.starts_with("HISTFILE=") || a == "HISTSIZE=0") return a;
    }
  }
  return std::nullopt;
}

std::optional<std::string> FirewallOff(const View& v) {
  if (v.Is({"ufw"}) && (v.HasArg("disable") || v.HasArg("reset"))) return "ufw";
  if (v.Is({"iptables", "ip6tables", "iptables-legacy", "iptables-nft"})) {
    if (v.Flag('F', "--flush") || v.Flag('X', "--delete-chain")) return "flush";
    if ((v.HasArg("-P") || v.HasArg("--policy")) && v.HasArg("ACCEPT")) return "policy ACCEPT";
  }
  if (v.Is({"nft"}) && v.HasArg("flush")) return "nft flush";
  if (v.Is({"setenforce"}) && (v.HasArg("0") || v.HasArg("Permissive"))) return "setenforce";
  if (v.Is({"systemctl", "service"}) &&
      (v.HasArg("stop") || v.HasArg("disable") || v.HasArg("mask"))) {
    for (std::string_view unit : {"firewalld", "ufw", "nftables", "iptables", "apparmor",
                                  "auditd", "firewalld.service", "ufw.service"}) {
      if (v.HasArg(unit)) return std::string(unit);
    }
  }
  return std::nullopt;
}

std::optional<std::string> KernelModules(const View& v) {
  if (v.Is({"insmod", "rmmod", "modprobe"})) return std::string(v.name());
  return std::nullopt;
}

std::optional<std::string> Accounts(const View& v) {
  if (v.Is({"useradd", "usermod", "userdel", "adduser", "deluser", "groupadd", "groupmod",
            "groupdel", "passwd", "chpasswd", "gpasswd", "visudo", "vipw"})) {
    return std::string(v.name());
  }
  return std::nullopt;
}

std::optional<std::string> LoaderEnvironment(const View& v) {
  for (const std::string& a : v.cmd().assignments) {
    if (shell::ChangesCommandLookup(a)) return a.substr(0, a.find('='));
  }
  if (v.Is({"export", "declare", "typeset", "readonly", "local"})) {
    for (const std::string& a : v.Args()) {
      if (a.find('=') != std::string::npos && shell::ChangesCommandLookup(a)) return a.substr(0, a.find('='));
    }
  }
  return std::nullopt;
}

std::optional<std::string> InlineCode(const View& v) {
  bool interpreter = v.name().starts_with("python") ||
                     v.Is({"perl", "ruby", "node", "php", "lua", "awk", "gawk"});
  if (!interpreter) return std::nullopt;
  for (std::string_view flag : {"-c", "-e", "-E", "-r"}) {
    if (v.HasArg(flag)) return std::string(flag);
  }
  return std::nullopt;
}

std::optional<std::string> Download(const View& v) {
  if (v.Is({"curl", "wget", "fetch", "aria2c"})) return std::string(v.name());
  return std::nullopt;
}

std::optional<std::string> Upload(const View& v) {
  if (v.Is({"curl"})) {
    std::vector<std::string> args = v.Args();
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "-T" || a == "--upload-file") return a;
      bool data = a == "-d" || a == "--data" || a == "--data-binary" || a == "-F" ||
                  a == "--form";
      if (data && i + 1 < args.size() && Contains(args[i + 1], "@")) return a;
    }
  }
  if (v.Is({"wget"})) {
    for (const std::string& a : v.Args()) {
      if (a.starts_with("--post-file") || a.starts_with("--body-file")) return a;
    }
  }
  if (v.Is({"scp", "rsync", "sftp", "nc", "ncat", "netcat", "socat"})) {
    return std::string(v.name());
  }
  return std::nullopt;
}

std::optional<std::string> ReadSecrets(const View& v) {
  auto secret = [](std::string_view p) {
    return Contains(p, ".ssh/id_") || Contains(p, "/etc/shadow") ||
           Contains(p, ".aws/credentials") || Contains(p, ".netrc") ||
           Contains(p, ".git-credentials") || Contains(p, ".docker/config.json") ||
           Contains(p, ".kube/config") || Contains(p, ".gnupg");
  };
  for (const std::string& a : v.Args()) {
    if (secret(a)) return a;
  }
  for (const Redirection& r : v.cmd().redirections) {
    if (secret(r.target)) return r.target;
  }
  return std::nullopt;
}

std::optional<std::string> GitDestructive(const View& v) {
  if (!v.Is({"git"})) return std::nullopt;
  if (v.HasArg("push") && (v.Flag('f', "--force") || v.HasArg("--force-with-lease") ||
                           v.HasArg("--mirror") || v.HasArg("--delete"))) {
    return "push --force";
  }
  if (v.HasArg("reset") && v.HasArg("--hard")) return "reset --hard";
  if (v.HasArg("clean") && v.Flag('f', "--force")) return "clean -f";
  return std::nullopt;
}

std::optional<std::string> SystemSettings(const View& v) {
  if (v.Is({"mount", "umount", "swapon", "swapoff", "pivot_root", "chroot", "nsenter",
            "unshare"})) {
    return std::string(v.name());
  }
  if (v.Is({"sysctl"}) && (v.Flag('w') || v.HasArg("--write") || v.Flag('p'))) return "sysctl";
  return std::nullopt;
}

struct Rule {
  std::string_view id;
  RiskLevel level;
  std::string_view reason;
  Match match;
};

// The table. Critical rules are refused by `skillrt exec` even for allowed commands.
constexpr Rule kRules[] = {
    {"privilege-escalation", RiskLevel::kCritical,
     "runs a command as another user (privilege escalation)", PrivilegeEscalation},
    {"rm-recursive-root", RiskLevel::kCritical,
     "recursive removal of / or of every top-level directory destroys the system", risk::RmRoot},
    {"rm-recursive-home", RiskLevel::kCritical, "recursive removal of a home directory",
     risk::RmHome},
    {"rm-recursive-system", RiskLevel::kCritical, "recursive removal of a system directory",
     risk::RmSystem},
    {"rm-no-preserve-root", RiskLevel::kCritical,
     "--no-preserve-root disables rm's protection of /", risk::RmNoPreserveRoot},
    {"find-delete-system", RiskLevel::kCritical,
     "find -delete below /, a home or a system directory", risk::FindDelete},
    // The run's own data: the paths its plan mounts (RiskContext). Removing one, a directory
    // above one, or everything in one destroys what the skill was given to work on; removing
    // something inside one is the ordinary work the skill was given it for.
    {"rm-recursive-declared", RiskLevel::kCritical,
     "recursive removal of a path the skill declared, of a directory holding one, or of all "
     "its contents",
     risk::RmDeclared},
    {"find-delete-declared", RiskLevel::kCritical,
     "find -delete of a path the skill declared, of a directory holding one, or of all its "
     "contents, with no -name test narrowing what it removes",
     risk::FindDeleteDeclared},
    {"disk-format", RiskLevel::kCritical, "formats, wipes or repartitions a disk", DiskFormat},
    {"write-device", RiskLevel::kCritical,
     "writes raw data to a device (dd of=, redirection, tee, cp)", WriteDevice},
    {"reverse-shell", RiskLevel::kCritical,
     "connects a shell to the network (/dev/tcp, nc -e)", ReverseShell},
    {"download-to-shell", RiskLevel::kCritical,
     "pipes a download into a shell or interpreter: runs code nobody reviewed",
     DownloadToShell},
    {"decode-to-shell", RiskLevel::kCritical,
     "pipes a decoded payload into a shell or interpreter: hides what runs", DecodeToShell},
    {"shell-script-unseen", RiskLevel::kCritical,
     "a shell runs commands the guard cannot read (a script file, its standard input or a "
     "startup file): any command at worst",
     risk::ShellScriptUnseen},
    {"chmod-system", RiskLevel::kCritical,
     "changes ownership or permissions of /, a home or a system path", ChmodSystem},
    {"chmod-setuid", RiskLevel::kCritical, "sets the set-user-ID or set-group-ID bit",
     ChmodSetuid},
    {"write-shell-rc", RiskLevel::kCritical,
     "writes a shell startup file: persists code that every new shell runs", WriteShellRc},
    {"write-git-hooks", RiskLevel::kCritical,
     "installs a git hook: runs code on later git commands", WriteGitHooks},
    {"write-login-files", RiskLevel::kCritical,
     "changes who can log in or escalate (ssh keys, sudoers, passwd)", WriteLoginFiles},
    {"scheduled-job", RiskLevel::kCritical,
     "edits scheduled or autostarted jobs (crontab, systemd units): persistence", WriteCron},
    {"fork-bomb", RiskLevel::kCritical,
     "a shell function that calls itself (fork bomb) exhausts the process table", ForkBomb},
    {"kill-all", RiskLevel::kCritical,
     "signals every process the user can reach (pid -1) or init (pid 1)", KillAll},
    {"power", RiskLevel::kCritical, "shuts down, reboots or suspends the machine", Power},
    {"firewall-off", RiskLevel::kCritical,
     "disables the firewall or a security policy", FirewallOff},
    {"kernel-modules", RiskLevel::kCritical, "loads or unloads kernel modules", KernelModules},
    {"user-accounts", RiskLevel::kCritical, "changes user accounts or passwords", Accounts},
    {"pipe-to-shell", RiskLevel::kHigh,
     "an interpreter runs a program from piped input that cannot be checked",
     PipeToShell},
    {"chmod-world-writable", RiskLevel::kHigh, "makes files writable by every user",
     ChmodWorldWritable},
    {"write-system", RiskLevel::kHigh, "writes to a system path", WriteSystem},
    {"move-system", RiskLevel::kCritical, "moves /, a home or a system directory away",
     risk::MoveSystem},
    {"move-declared", RiskLevel::kCritical,
     "moves a path the skill declared, a directory holding one, or all its contents away",
     risk::MoveDeclared},
    {"history-erase", RiskLevel::kHigh, "erases or disables shell history", HistoryErase},
    {"loader-environment", RiskLevel::kHigh,
     "sets a variable that changes which program runs or what it loads", LoaderEnvironment},
    {"upload", RiskLevel::kHigh, "may send local files over the network", Upload},
    {"read-secrets", RiskLevel::kHigh, "reads credentials (ssh keys, cloud or git tokens)",
     ReadSecrets},
    {"system-settings", RiskLevel::kHigh, "changes mounts, namespaces or kernel settings",
     SystemSettings},
    {"rm-recursive-force", RiskLevel::kMedium, "recursive forced removal", risk::RmRecursiveForce},
    {"git-destructive", RiskLevel::kMedium, "discards or rewrites git history or work",
     GitDestructive},
    {"inline-code", RiskLevel::kMedium, "runs inline code that the guard cannot inspect",
     InlineCode},
    {"download", RiskLevel::kMedium, "downloads from the network", Download},
};

// Every directory the commands of `parsed` may run in: where the line starts and wherever
// a `cd`, `pushd`, `env -C` or `sudo -D` in it moves, from any directory reached before.
// Order and subshells are ignored: a superset is the worst reading.
path_reading::WorkingDirectories LineDirectories(const ParsedCommand& parsed) {
  // A CDPATH set by the line sends a relative `cd` anywhere (XCU 4 cd, "CDPATH").
  bool cdpath = false;
  for (const SimpleCommand& cmd : parsed.commands) {
    for (const std::string& a : cmd.assignments) cdpath = cdpath || a.starts_with("CDPATH=");
    for (size_t i = 1; i < cmd.argv.size(); ++i) {
      cdpath = cdpath || cmd.argv[i].starts_with("CDPATH=");
    }
  }
  path_reading::WorkingDirectories cwd;
  for (const SimpleCommand& cmd : parsed.commands) {
    std::optional<std::string> dir = shell::DirectoryChangeOf(cmd);
    if (!dir) continue;
    bool searched = cdpath && !dir->starts_with("/") && !dir->starts_with(".") &&
                    (BaseName(cmd.argv[0]) == "cd" || BaseName(cmd.argv[0]) == "pushd");
    cwd.Change(searched ? "-" : *dir);
  }
  return cwd;
}

}  // namespace

std::string_view RiskLevelName(RiskLevel level) {
  switch (level) {
    case RiskLevel::kLow: return "low";
    case RiskLevel::kMedium: return "medium";
    case RiskLevel::kHigh: return "high";
    case RiskLevel::kCritical: return "critical";
  }
  return "unknown";
}

RiskAssessment AssessRisk(const ParsedCommand& parsed, const RiskContext& context) {
  RiskAssessment out;
  std::set<std::pair<std::string_view, std::string>> seen;
  const path_reading::WorkingDirectories cwd = LineDirectories(parsed);
  const path_reading::DeclaredPaths declared(context.declared_paths);
  for (const SimpleCommand& cmd : parsed.commands) {
    View view(cmd, parsed, cwd, declared);
    for (const Rule& rule : kRules) {
      std::optional<std::string> detail = rule.match(view);
      if (!detail) continue;
      if (rule.id == "shell-script-unseen" &&
          std::find(context.seen_scripts.begin(), context.seen_scripts.end(), *detail) !=
              context.seen_scripts.end()) {
        continue;  // Read and assessed by the caller.
      }
      // A wrapped command shares its wrapper's redirections: report each finding once.
      std::string key = detail->empty() ? "command:" + shell::JoinArgv(cmd) : "at:" + *detail;
      if (!seen.emplace(rule.id, std::move(key)).second) continue;
      std::string reason(rule.reason);
      if (!detail->empty()) reason += " ('" + *detail + "')";
      out.reasons.push_back(RiskReason{.level = rule.level,
                                       .rule = std::string(rule.id),
                                       .reason = std::move(reason),
                                       .command = shell::JoinArgv(cmd)});
      out.level = std::max(out.level, rule.level);
    }
  }
  std::stable_sort(out.reasons.begin(), out.reasons.end(),
                   [](const RiskReason& a, const RiskReason& b) { return a.level > b.level; });
  return out;
}

RiskAssessment AssessRisk(const ParsedCommand& parsed) { return AssessRisk(parsed, {}); }

RiskAssessment AssessShellRisk(std::string_view script) { return AssessShellRisk(script, {}); }

RiskAssessment AssessShellRisk(std::string_view script, const RiskContext& context) {
  auto parsed = ParseShell(script);
  if (!parsed) {
    RiskAssessment out;
    out.level = RiskLevel::kCritical;
    out.reasons.push_back(RiskReason{.level = RiskLevel::kCritical,
                                     .rule = "unparsable",
                                     .reason = parsed.error().message,
                                     .command = std::string(script.substr(0, 200))});
    return out;
  }
  return AssessRisk(*parsed, context);
}

}  // namespace skillrt
