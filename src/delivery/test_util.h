// Helpers for delivery tests: real servers on loopback, started and stopped
// by the test itself.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace rebound::delivery::testing {

// A loopback port that was free a moment ago (type: SOCK_STREAM or SOCK_DGRAM).
inline int FreePort(int type = SOCK_STREAM) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// True when something accepts TCP connections on 127.0.0.1:port now.
inline bool TcpAccepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  int r = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
  return r == 0;
}

// True once something accepts TCP connections on 127.0.0.1:port.
inline bool WaitForTcp(int port, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (TcpAccepts(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// A child process, killed (SIGTERM, then SIGKILL) when this goes away.
class Subprocess {
 public:
  Subprocess() = default;
  explicit Subprocess(const std::vector<std::string>& argv, const std::string& log_path = "") { Start(argv, log_path); }
  ~Subprocess() { Stop(); }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool Start(const std::vector<std::string>& argv, const std::string& log_path = "") {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      if (!log_path.empty()) {
        FILE* f = fopen(log_path.c_str(), "a");
        if (f) {
          dup2(fileno(f), 1);
          dup2(fileno(f), 2);
        }
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    return pid_ > 0;
  }
  void Kill(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 40; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Waits for exit; returns the exit status or -1.
  int Wait() {
    if (pid_ <= 0) return -1;
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  bool Running() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

inline bool HaveProgram(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// Starts a server on a free TCP port (argv_for(port) is its command line)
// and waits until it accepts connections. FreePort's port was only free a
// moment ago: a test running in parallel may take it first, and the server
// then exits; it is started again on another port. Returns the port, or 0
// when no attempt came up.
inline int StartOnFreePort(Subprocess* server, const std::function<std::vector<std::string>(int port)>& argv_for,
                           const std::string& log_path, int attempts = 4) {
  for (int i = 0; i < attempts; ++i) {
    const int port = FreePort();
    server->Stop();
    server->Start(argv_for(port), log_path);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < end && server->Running()) {
      if (TcpAccepts(port)) return port;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return 0;
}

// Debian's Python with python3-aiosmtpd, for the test receiver (smtp_server.py).
inline bool HaveAiosmtpd() {
  return HaveProgram("/usr/bin/python3") && system("/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1") == 0;
}

// The messages smtp_server.py stored in dir, one JSON file each.
inline std::vector<nlohmann::json> Received(const std::filesystem::path& dir) {
  std::vector<nlohmann::json> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    std::ifstream f(e.path());
    out.push_back(nlohmann::json::parse(f));
  }
  return out;
}

}  // namespace rebound::delivery::testing
