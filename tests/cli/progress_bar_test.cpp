// The CLI's progress output: the bar itself, and plain lines when not on a terminal.
#include "cli/progress_bar.h"

#include <cstdio>

#include <gtest/gtest.h>

namespace batchq::cli {
namespace {

TEST(ProgressBarTest, BarFillsInProportion) {
  EXPECT_EQ(RenderBar(0, 10, 10), "[----------]");
  EXPECT_EQ(RenderBar(5, 10, 10), "[#####-----]");
  EXPECT_EQ(RenderBar(10, 10, 10), "[##########]");
  EXPECT_EQ(RenderBar(15, 10, 4), "[####]");  // never past full
  EXPECT_EQ(RenderBar(1, 3, 6), "[##----]");
}

TEST(ProgressBarTest, WithoutATerminalItWritesPlainLinesAndTheLastOnce) {
  char buffer[512] = {};
  std::FILE* out = fmemopen(buffer, sizeof buffer - 1, "w");
  ASSERT_NE(out, nullptr);
  {
    ProgressBar bar(out, /*tty=*/false, "submit", 100);
    bar.Show(1);    // first: shown
    bar.Show(50);   // within a second: skipped
    bar.Show(100);  // complete: shown
    bar.Show(100);  // already complete: nothing more
  }
  std::fclose(out);
  EXPECT_STREQ(buffer, "submit 1/100\nsubmit 100/100\n");
}

TEST(ProgressBarTest, OnATerminalItRedrawsOneLineAndEndsIt) {
  char buffer[512] = {};
  std::FILE* out = fmemopen(buffer, sizeof buffer - 1, "w");
  ASSERT_NE(out, nullptr);
  {
    ProgressBar bar(out, /*tty=*/true, "finish", 4);
    bar.Show(4, "done");
  }
  std::fclose(out);
  EXPECT_STREQ(buffer, "\rfinish [##############################] 4/4 done\x1b[K\n");
}

}  // namespace
}  // namespace batchq::cli
