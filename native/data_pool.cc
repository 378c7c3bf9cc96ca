#include "data_pool.h"

#include <csignal>
#include <cstring>
#include <pthread.h>
#include <unistd.h>

namespace strata_fuse {

DataPool::DataPool(unsigned threads) {
  // Node owns signal delivery; threads created with everything blocked never steal a signal.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  for (unsigned i = 0; i < threads; i++) threads_.emplace_back([this] { Run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

DataPool::~DataPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void DataPool::Submit(fuse_req_t req, int fd, uint64_t offset, size_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(Job{req, fd, offset, size});
  }
  cv_.notify_one();
}

void DataPool::Run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stop_ and drained
      job = jobs_.front();
      jobs_.pop_front();
    }
    fuse_bufvec bv;
    std::memset(&bv, 0, sizeof bv);
    bv.count = 1;
    bv.buf[0].size = job.size;
    bv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    bv.buf[0].fd = job.fd;
    bv.buf[0].pos = static_cast<off_t>(job.offset);
    // Answers the request in every case: data (short at EOF), the read's errno, or -- if even
    // sending fails -- frees it.
    fuse_reply_data(job.req, &bv, static_cast<fuse_buf_copy_flags>(0));
    close(job.fd);
  }
}

}  // namespace strata_fuse
