#include "sandbox/linux/netns.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <sched.h>

#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "sandbox/linux/child.h"

namespace skillrt::netns {

void BringUpLoopback(int err_fd) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) sandbox::ChildFail(err_fd, "socket(AF_INET, for lo)", errno);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    sandbox::ChildFail(err_fd, "ioctl(lo, SIOCGIFFLAGS)", errno);
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
    sandbox::ChildFail(err_fd, "ioctl(lo, SIOCSIFFLAGS)", errno);
  }
  ::close(fd);
}

void HandOverListener(uint16_t port, int channel_fd, int err_fd) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) sandbox::ChildFail(err_fd, "socket(egress proxy listener)", errno);
  struct sockaddr_in addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    sandbox::ChildFail(err_fd, "bind(127.0.0.1, egress proxy port)", errno);
  }
  if (::listen(fd, 128) != 0) sandbox::ChildFail(err_fd, "listen(egress proxy)", errno);
  char byte = 'L';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  std::memset(control, 0, sizeof(control));
  struct msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t sent;
  do {
    sent = ::sendmsg(channel_fd, &msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent != 1) sandbox::ChildFail(err_fd, "sendmsg(egress proxy listener)", errno);
  // The supervisor holds it now; the skill must not inherit a listening socket.
  ::close(fd);
}

Result<UniqueFd> ReceiveListener(int channel_fd, std::chrono::milliseconds timeout) {
  pollfd p = {channel_fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (r < 0 && errno == EINTR);
  if (r < 0) return FailErrno(ErrorCode::kIo, "poll(egress listener channel)", errno);
  if (r == 0) {
    return Fail(ErrorCode::kSandbox, "the sandbox did not hand over the egress proxy listener");
  }
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(channel_fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return FailErrno(ErrorCode::kIo, "recvmsg(egress listener channel)", errno);
  if (n == 0) return UniqueFd();
  // Take ownership of every descriptor that arrived before judging the message.
  std::vector<UniqueFd> fds;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.emplace_back(fd);
    }
  }
  if (fds.size() != 1 || (msg.msg_flags & MSG_CTRUNC) != 0 || byte != 'L') {
    return Fail(ErrorCode::kSandbox, "egress listener channel: unexpected message");
  }
  // It must be what the child was told to make: a listening TCP socket.
  int type = 0, listening = 0;
  socklen_t len = sizeof(type);
  ::getsockopt(fds[0].get(), SOL_SOCKET, SO_TYPE, &type, &len);
  len = sizeof(listening);
  ::getsockopt(fds[0].get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
  if (type != SOCK_STREAM || listening != 1) {
    return Fail(ErrorCode::kSandbox, "egress listener channel: not a listening stream socket");
  }
  return std::move(fds[0]);
}

}  // namespace skillrt::netns
