#include "cli/keygen_command.h"

#include <iostream>

#include "cli/exit_codes.h"
#include "common/curve_keys.h"

namespace batchq::cli {

int Keygen(const std::string& prefix) {
  const CurveKeyPair pair = NewCurveKeyPair();
  if (auto written = WriteCurveKeyPair(prefix, pair); !written) {
    std::cerr << "error: " << written.error().message << "\n";
    return kExitLocalFile;
  }
  std::cout << pair.public_key << "\n";
  std::cerr << "wrote " << prefix << ".key (secret, keep it on this machine) and " << prefix
            << ".pub (copy it to the broker's allow-list)\n";
  return kExitOk;
}

}  // namespace batchq::cli
