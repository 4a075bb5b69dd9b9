#include "report.hpp"

#include "report_run.hpp"
#include "report_sweep.hpp"
#include "run_outputs.hpp"

namespace colony::cli {

namespace fs = std::filesystem;

result<fs::path> write_report(const fs::path& dir, const fs::path& out) {
  if (!fs::is_directory(dir)) {
    return fail(errc::bad_input, dir.string() +
                                     ": error: not a directory (expected a run "
                                     "directory or a sweep directory)");
  }
  const bool sweep = fs::exists(dir / "sweep.json");
  if (!sweep && !fs::exists(dir / "manifest.json") && !fs::exists(dir / "metrics.csv")) {
    return fail(errc::bad_input,
                dir.string() +
                    ": error: neither a run directory (manifest.json, metrics.csv, summary.json, "
                    "topology.jsonl, events.jsonl, as `colony run` writes) nor a sweep directory "
                    "(sweep.json, results.csv, aggregate.csv, as `colony sweep` writes)");
  }
  const auto page = sweep ? reporting::sweep_report(dir) : reporting::run_report(dir);
  if (!page) return page.error();
  const fs::path file = out.empty() ? dir / "report.html" : out;
  if (auto written = write_file(file, *page); !written) return written.error();
  return file;
}

}  // namespace colony::cli
