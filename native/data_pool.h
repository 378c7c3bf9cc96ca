// A few native threads that answer READ requests from a file descriptor JS picked (replyData).
// Not the libuv threadpool: its threads may all be blocked in fs calls on this very mount, waiting
// for the replies these jobs would send.
#pragma once

#include <fuse_lowlevel.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace strata_fuse {

class DataPool {
 public:
  explicit DataPool(unsigned threads);
  // Waits for queued jobs to be sent: the session may be destroyed right after.
  ~DataPool();
  // Takes ownership of `fd` (a dup, so JS may close its own descriptor at once).
  void Submit(fuse_req_t req, int fd, uint64_t offset, size_t size);

 private:
  struct Job {
    fuse_req_t req;
    int fd;
    uint64_t offset;
    size_t size;
  };
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace strata_fuse
