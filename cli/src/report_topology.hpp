#pragma once
// The final topology of `colony report`: the network as a layered graph drawn in SVG.
#include <string>

#include "topology_view.hpp"

namespace colony::cli::reporting {

/// The network `s` as an <svg class="chart" id="topology-svg">: nodes labelled with name and
/// kind, coloured by kind, in columns by longest path from the workload (backends, library and
/// stores in the last); edges coloured by kind, wider with the log of their requests, routed
/// between the nodes of the columns they cross. More than a few committees are drawn as one
/// node. `note` receives what was grouped. The layout depends on `s` alone.
[[nodiscard]] std::string topology_svg(const snapshot& s, std::string& note);

}  // namespace colony::cli::reporting
