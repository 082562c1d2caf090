#include "rest/job_registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "testing/test_util.h"

namespace weir {
namespace {

using testing::TempDir;

class JobRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("WEIR_RUNTIME_DIR", dir_.Join("run").c_str(), 1); }
  void TearDown() override { ::unsetenv("WEIR_RUNTIME_DIR"); }
  TempDir dir_;
};

TEST_F(JobRegistryTest, ARegisteredJobIsListedUntilItsRegistrationGoes) {
  RegisteredJob job;
  job.pid = ::getpid();
  job.process_start = ProcessStartTime(job.pid);
  job.job_id = std::string(32, 'a');
  job.job_name = "my job";
  job.rest_url = "http://127.0.0.1:8081";
  {
    auto reg = JobRegistration::Create(job);
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    auto jobs = ListRegisteredJobs();
    ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
    ASSERT_EQ(jobs->size(), 1u);
    EXPECT_EQ((*jobs)[0].job_name, "my job");
    EXPECT_EQ((*jobs)[0].rest_url, "http://127.0.0.1:8081");
    struct stat st;
    ASSERT_EQ(::stat(dir_.Join("run").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
  }
  EXPECT_TRUE(ListRegisteredJobs()->empty());
}

TEST_F(JobRegistryTest, EntriesOfDeadProcessesAreSkippedAndDeleted) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  RegisteredJob dead;
  dead.pid = child;
  dead.job_id = std::string(32, 'b');
  dead.rest_url = "http://127.0.0.1:1";
  auto reg = JobRegistration::Create(dead);
  ASSERT_TRUE(reg.ok());
  std::string file = (*reg)->file();
  // A pid that lives but started at another time is someone else's.
  RegisteredJob reused = dead;
  reused.pid = ::getpid();
  reused.process_start = ProcessStartTime(::getpid()) + 1;
  reused.job_id = std::string(32, 'c');
  auto reg2 = JobRegistration::Create(reused);
  ASSERT_TRUE(reg2.ok());
  auto jobs = ListRegisteredJobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE(jobs->empty());
  EXPECT_FALSE(testing::FileExists(file));
  EXPECT_FALSE(testing::FileExists((*reg2)->file()));
}

TEST_F(JobRegistryTest, ARegistryOthersMayWriteIsRefused) {
  ASSERT_TRUE(JobRegistryDir().ok());
  ::chmod(dir_.Join("run").c_str(), 0777);
  auto dir = JobRegistryDir();
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("other users"), std::string::npos);
}

}  // namespace
}  // namespace weir
