// Is a peer process confined exactly as this one is? What a process on the other end of a
// Unix socket may ask a resident skillrt to do must not exceed what it could do itself
// (docs/daemon.md, "Who is served").
#ifndef SKILLRT_PEER_H_
#define SKILLRT_PEER_H_

#include <map>
#include <optional>
#include <string>

#include "skillrt/error.h"

namespace skillrt::peer {

/// What the kernel shows of a process's confinement, by fact name: its namespaces
/// ("ns/net", ... as device:inode of /proc/PID/ns/NAME, "absent" where the kernel has no
/// such namespace), its credentials and capability sets, no_new_privs, seccomp mode and
/// filter count, umask ("status/NAME", the lines of /proc/PID/status, proc(5)), its cgroups
/// (/proc/PID/cgroup), resource limits (/proc/PID/limits), LSM label
/// (/proc/PID/attr/current, "none" without an LSM that labels processes), its root and
/// working directories (device:inode of /proc/PID/root and /proc/PID/cwd), and the program it
/// runs ("exe": device:inode of /proc/PID/exe, the file even if it has since been replaced).
///
/// Not visible, and so not compared: a Landlock domain (the kernel has no interface that
/// shows whether another process is in one); the environment (the caller's to compare).
using Confinement = std::map<std::string, std::string>;

/// Reads the confinement of the process `pidfd` refers to (pidfd_open(2), SO_PEERPIDFD in
/// unix(7)). The process's pid is read from the pidfd's fdinfo; after every file is read the
/// process is checked to be alive through the pidfd, so that the facts cannot be a later
/// process's that reused the pid. Errors: kIo when a /proc file cannot be read (a process in
/// another pid namespace has no pid here: kDenied), kNotFound when the process has exited.
/// Thread-safe; borrows `pidfd`.
Result<Confinement> ReadConfinement(int pidfd);

/// The first fact in which `peer` differs from `self`, named with both values ("ns/net:
/// 4:4026532008, not 4:4026531840"); nullopt when they are the same in every fact.
std::optional<std::string> Difference(const Confinement& peer, const Confinement& self);

}  // namespace skillrt::peer

#endif  // SKILLRT_PEER_H_
